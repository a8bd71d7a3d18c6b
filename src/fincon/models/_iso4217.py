"""The ISO 4217 currency table: the one place fincon knows currency codes and their exponents.

The exponent is the number of digits after the decimal point in the currency's minor unit
(JPY 0, USD 2, KWD 3). Codes whose exponent ISO lists as "N.A." (precious metals, SDR,
testing codes) map to ``None``: they are valid currencies but have no minor unit.

Recently withdrawn codes (HRK, SLL, ...) are kept because migrations read historical
documents priced in them; ``WITHDRAWN_CURRENCIES`` names them so validators can warn.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CURRENCY_EXPONENTS", "WITHDRAWN_CURRENCIES"]

_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMALS = "CLF UYW"
_NO_MINOR_UNIT = "XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX"
_TWO_DECIMALS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP "
    "GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP "
    "LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR "
    "NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN "
    "SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR "
    "ZMW ZWG"
)
# Withdrawn since 2008 but still found in historical ledgers; all had two decimals.
_WITHDRAWN = "BYR CUC EEK HRK LTL LVL MRO SLL STD VEF ZWL"

WITHDRAWN_CURRENCIES: Final[frozenset[str]] = frozenset(_WITHDRAWN.split())
"""Codes ISO 4217 has withdrawn but that fincon still accepts for historical documents."""

CURRENCY_EXPONENTS: Final[dict[str, int | None]] = {
    **dict.fromkeys(_TWO_DECIMALS.split(), 2),
    **dict.fromkeys(_WITHDRAWN.split(), 2),
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
    **dict.fromkeys(_FOUR_DECIMALS.split(), 4),
    **dict.fromkeys(_NO_MINOR_UNIT.split(), None),
}
"""Every accepted ISO 4217 alphabetic code mapped to its minor-unit exponent (``None``: no minor unit)."""
