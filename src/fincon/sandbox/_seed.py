"""Seeded randomness and realistic finance data for emulators.

``SeedRandom`` is a tiny splitmix64 generator: cheap to create (one per record, from the
collection's seed and the record's index) and stable across Python versions, unlike
``random.Random``, whose seeding and methods are not a compatibility promise. Everything
here is derived from it, so the same seed always yields the same companies, IBANs and
amounts.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

__all__ = ["CURRENCY_EXPONENTS", "SeedRandom", "currency_exponent", "iban_check_digits"]

_T = TypeVar("_T")
_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15

CURRENCY_EXPONENTS: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "SEK": 2, "NOK": 2, "DKK": 2,
    "PLN": 2, "MXN": 2, "INR": 2, "SGD": 2, "JPY": 0, "KRW": 0, "CLP": 0, "KWD": 3, "BHD": 3,
    "OMR": 3,
}  # fmt: skip
"""The currencies the sandboxes use, with their ISO 4217 minor-unit exponents."""


def currency_exponent(currency: str) -> int:
    """The number of decimals of ``currency`` (2 when the sandbox does not know it)."""
    return CURRENCY_EXPONENTS.get(currency.upper(), 2)


def _mix64(value: int) -> int:
    # splitmix64's finaliser: a bijection that spreads every input bit over the output.
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    value = (value ^ (value >> 27)) * 0x94D049BB133111EB & _MASK64
    return value ^ (value >> 31)


def _key_to_int(key: int | str) -> int:
    if isinstance(key, int):
        return key & _MASK64
    return _string_key(key)


@functools.lru_cache(maxsize=1024)
def _string_key(key: str) -> int:
    # A fixed hash: ``hash(str)`` changes with PYTHONHASHSEED. Cached: keys are few names.
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


_COMPANY_FIRST = (
    "Acme", "Apex", "Atlas", "Beacon", "Birch", "Blue Harbor", "Cedar", "Cobalt", "Crescent",
    "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Horizon", "Ironwood", "Juniper",
    "Keystone", "Lakeside", "Lighthouse", "Maple", "Meridian", "Northwind", "Oakridge", "Orion",
    "Pinnacle", "Quarry", "Redwood", "Riverbend", "Sierra", "Silverline", "Summit", "Tidewater",
    "Trident", "Union", "Vantage", "Westbrook", "Willow", "Zenith", "Kestrel",
)  # fmt: skip
_COMPANY_SECOND = (
    "Logistics", "Supply", "Industrial", "Office Products", "Consulting", "Freight", "Foods",
    "Paper", "Packaging", "Software", "Electric", "Facilities", "Print", "Labs", "Marine",
    "Metals", "Analytics", "Catering", "Telecom", "Security",
)  # fmt: skip
_COMPANY_SUFFIX = ("Inc.", "LLC", "Ltd", "GmbH", "Corp.", "Co.", "S.A.", "B.V.", "AG", "plc")
_FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Bruno", "Chen", "Dana", "Elena", "Farah", "Grace", "Hiro", "Ines",
    "Jonas", "Kai", "Lena", "Mateo", "Nia", "Omar", "Priya", "Rosa", "Sven", "Tara", "Yusuf",
)  # fmt: skip
_LAST_NAMES = (
    "Andersen", "Baker", "Costa", "Dubois", "Eriksson", "Fischer", "Garcia", "Hughes", "Ivanova",
    "Jensen", "Kim", "Lopez", "Meyer", "Novak", "Okafor", "Patel", "Rossi", "Schmidt", "Tanaka",
    "Weber",
)  # fmt: skip
_STREETS = (
    "Main St", "Market St", "Harbour Rd", "Station Rd", "Mill Lane", "Kingsway", "Park Ave",
    "Elm St", "Bahnhofstrasse", "Rue de la Paix", "Keizersgracht", "Industrial Pkwy",
)  # fmt: skip
_CITIES: dict[str, tuple[str, ...]] = {
    "US": ("Austin", "Denver", "Chicago", "Seattle", "Boston", "Atlanta"),
    "GB": ("London", "Leeds", "Bristol", "Glasgow", "Manchester"),
    "DE": ("Berlin", "Hamburg", "Munich", "Cologne", "Stuttgart"),
    "FR": ("Paris", "Lyon", "Lille", "Nantes", "Toulouse"),
    "NL": ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"),
    "JP": ("Tokyo", "Osaka", "Nagoya", "Fukuoka"),
}
# Where the sandbox's companies are: 40% US, 15% GB, 15% DE, 10% each FR, NL, JP.
_COUNTRY_BY_PERCENT = ("US",) * 40 + ("GB",) * 15 + ("DE",) * 15 + ("FR",) * 10 + ("NL",) * 10 + ("JP",) * 10
_COUNTRY_CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "NL": "EUR", "JP": "JPY"}
# BBAN layout per country: "n" a digit, "a" an upper-case letter, "c" either.
_BBAN_LAYOUT = {
    "DE": "n" * 18,
    "GB": "aaaa" + "n" * 14,
    "FR": "n" * 10 + "c" * 11 + "nn",
    "NL": "aaaa" + "n" * 10,
}
_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_IBAN_LETTER_VALUES = {ord(letter): str(value) for value, letter in enumerate(_LETTERS, start=10)}
_ALPHABETS = {"n": _DIGITS, "a": _LETTERS, "c": _DIGITS + _LETTERS}


def _runs(layout: str) -> list[tuple[str, int]]:
    """``"aannn"`` -> ``[(letters, 2), (digits, 3)]``."""
    runs: list[tuple[str, int]] = []
    for kind in layout:
        alphabet = _ALPHABETS[kind]
        if runs and runs[-1][0] == alphabet:
            runs[-1] = (alphabet, runs[-1][1] + 1)
        else:
            runs.append((alphabet, 1))
    return runs


_BBAN_RUNS = {country: _runs(layout) for country, layout in _BBAN_LAYOUT.items()}
_NOT_SLUG = re.compile(r"[^a-z0-9 ]+")


def iban_check_digits(country: str, bban: str) -> str:
    """The two ISO 13616 (mod 97) check digits for ``bban`` in ``country``."""
    # Letters count as two-digit numbers: A=10 ... Z=35.
    number = int((bban + country + "00").upper().translate(_IBAN_LETTER_VALUES))
    return f"{98 - number % 97:02d}"


class SeedRandom:
    """A small deterministic random generator, keyed by any mix of ints and strings.

    ``SeedRandom(seed, "vendors", index)`` always produces the same sequence, in every
    process and Python version.
    """

    __slots__ = ("_pool", "_span", "_state")

    def __init__(self, *keys: int | str) -> None:
        state = 0
        for key in keys:
            state = _mix64(state ^ _key_to_int(key) ^ _GOLDEN)
        self._state = state
        # Small draws are taken from a pool: a number uniform in [0, span), consumed digit
        # by digit (divmod), refilled 64 bits at a time. One mix feeds several choices.
        self._pool = 0
        self._span = 1

    def derive(self, *keys: int | str) -> SeedRandom:
        """A new, independent generator keyed by this one's state plus ``keys``."""
        if len(keys) == 1 and isinstance(keys[0], int):
            # The per-record path: one mix instead of a loop over keys.
            child = SeedRandom.__new__(SeedRandom)
            child._state = _mix64(self._state ^ ((keys[0] * _GOLDEN) & _MASK64) ^ _GOLDEN)
            child._pool, child._span = 0, 1
            return child
        return SeedRandom(self._state, *keys)

    def next64(self) -> int:
        """A uniformly distributed 64-bit unsigned integer."""
        self._state = state = (self._state + _GOLDEN) & _MASK64
        return _mix64(state)

    def below(self, bound: int) -> int:
        """An integer in ``[0, bound)``."""
        if bound <= 0:
            raise ValueError("bound must be positive")
        pool, span = self._pool, self._span
        # Keeping span >= 2**64 * bound bounds the bias of every digit below 2**-64.
        while span < bound << 64:
            self._state = state = (self._state + _GOLDEN) & _MASK64
            pool = (pool << 64) | _mix64(state)
            span <<= 64
        pool, digit = divmod(pool, bound)
        self._pool = pool
        self._span = -(-span // bound)
        return digit

    def between(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        return low + self.below(high - low + 1)

    def random(self) -> float:
        """A float in ``[0, 1)``, for probabilities only (never for amounts)."""
        return (self.next64() >> 11) / float(1 << 53)

    def chance(self, probability: float) -> bool:
        """True with the given probability."""
        return self.random() < probability

    def choice(self, options: Sequence[_T]) -> _T:
        """One element of ``options``."""
        return options[self.below(len(options))]

    def weighted(self, options: Sequence[_T], weights: Sequence[int]) -> _T:
        """One element of ``options``, picked in proportion to the integer ``weights``."""
        point = self.below(sum(weights))
        for option, weight in zip(options, weights, strict=True):
            if point < weight:
                return option
            point -= weight
        raise AssertionError("unreachable: the point lies within the total weight")

    def indexes(self, *sizes: int) -> tuple[int, ...]:
        """One index below each of ``sizes``, from a single draw (cheaper than several)."""
        total = 1
        for size in sizes:
            total *= size
        value = self.below(total)
        picked = []
        for size in sizes:
            value, index = divmod(value, size)
            picked.append(index)
        return tuple(picked)

    def string(self, alphabet: str, length: int) -> str:
        """``length`` characters drawn from ``alphabet``."""
        if alphabet == _DIGITS:
            return f"{self.below(10**length):0{length}d}"
        base = len(alphabet)
        # One wide draw spelled out in base ``len(alphabet)``: cheaper than a draw per character.
        value = self.below(base**length)
        characters = []
        for _ in range(length):
            value, digit = divmod(value, base)
            characters.append(alphabet[digit])
        return "".join(characters)

    # Finance data -------------------------------------------------------------------------

    def country(self) -> str:
        """An ISO 3166 alpha-2 country code the sandbox has addresses for."""
        return _COUNTRY_BY_PERCENT[self.below(100)]

    def currency_for(self, country: str) -> str:
        """The currency a company in ``country`` is likely to invoice in."""
        return _COUNTRY_CURRENCY.get(country, "USD")

    def company_name(self) -> str:
        """A plausible supplier name, e.g. ``"Harbor Freight Ltd"``."""
        first, second, suffix = self.indexes(len(_COMPANY_FIRST), len(_COMPANY_SECOND), len(_COMPANY_SUFFIX))
        return f"{_COMPANY_FIRST[first]} {_COMPANY_SECOND[second]} {_COMPANY_SUFFIX[suffix]}"

    def person_name(self) -> str:
        """A first and last name."""
        first, last = self.indexes(len(_FIRST_NAMES), len(_LAST_NAMES))
        return f"{_FIRST_NAMES[first]} {_LAST_NAMES[last]}"

    def email(self, name: str, domain: str | None = None) -> str:
        """An address for ``name`` at ``domain`` (derived from the name when not given)."""
        slug = _NOT_SLUG.sub("", name.lower()).split()
        local = ".".join(slug[:2]) or "info"
        host = domain or f"{(slug[0] if slug else 'example')}.example.com"
        return f"{local}@{host}"

    def phone(self) -> str:
        """An E.164-looking number in a reserved fictional range."""
        exchange, line = self.indexes(900, 9000)
        return f"+1-555-{exchange + 100}-{line + 1000}"

    def address(self, country: str | None = None) -> dict[str, str]:
        """A postal address: ``line1``, ``city``, ``postal_code``, ``country``."""
        country = country or self.country()
        cities = _CITIES.get(country, _CITIES["US"])
        number, street, city, postal_code = self.indexes(999, len(_STREETS), len(cities), 100_000)
        return {
            "line1": f"{number + 1} {_STREETS[street]}",
            "city": cities[city],
            "postal_code": f"{postal_code:05d}",
            "country": country,
        }

    def iban(self, country: str = "DE") -> str:
        """An IBAN with valid mod-97 check digits and the country's length (DE, GB, FR, NL).

        The national check digits inside the BBAN are not computed: it is IBAN-like.
        """
        runs = _BBAN_RUNS.get(country)
        if runs is None:
            raise ValueError(f"no IBAN layout for {country!r}; known: {sorted(_BBAN_RUNS)}")
        bban = "".join(self.string(alphabet, length) for alphabet, length in runs)
        return f"{country}{iban_check_digits(country, bban)}{bban}"

    def bic(self, country: str = "DE") -> str:
        """A BIC-shaped code: bank, country, location."""
        letters = self.string(_LETTERS, 4)
        return f"{letters}{country}{self.string(_LETTERS + _DIGITS, 2)}"

    def tax_id(self, country: str) -> str:
        """A tax-id-shaped string (not a checksummed one)."""
        if country == "US":
            return f"{self.string(_DIGITS, 2)}-{self.string(_DIGITS, 7)}"
        return f"{country}{self.string(_DIGITS, 9)}"

    def amount(self, currency: str, low: Decimal | int, high: Decimal | int) -> Decimal:
        """A ``Decimal`` in ``[low, high]`` with exactly the currency's number of decimals.

        Drawn as an integer count of minor units, so no float ever touches it.
        """
        exponent = currency_exponent(currency)
        scale = 10**exponent
        low_minor = low * scale if isinstance(low, int) else int((low * scale).to_integral_value())
        high_minor = high * scale if isinstance(high, int) else int((high * scale).to_integral_value())
        return Decimal(self.between(low_minor, high_minor)).scaleb(-exponent)

    def date_between(self, start: date, end: date) -> date:
        """A calendar date in ``[start, end]``."""
        return start + timedelta(days=self.below((end - start).days + 1))
