"""Payment terms: ``"2% 10 Net 30"`` into ``PaymentTerms`` and back into each system's form."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Final

from fincon.errors import ValidationError
from fincon.models import PaymentTerms

__all__ = ["TEXT_TERMS_SYSTEMS", "format_terms", "parse_terms", "terms_fields"]

_DUE_ON_RECEIPT: Final = frozenset(
    {
        "due on receipt",
        "due upon receipt",
        "upon receipt",
        "on receipt",
        "receipt",
        "immediate",
        "immediately",
        "due immediately",
        "payable immediately",
        "cod",
        "cash on delivery",
        "dor",
    }
)
_NET = r"(?:net ?|nt ?|n ?/? ?)"
_PERCENT = r"(?P<pct>\d{1,2}(?:\.\d+)?)"
_DISCOUNT = rf"(?:{_PERCENT} ?% ?(?P<dd>\d+)|(?P<pct2>\d{{1,2}}(?:\.\d+)?) ?/ ?(?P<dd2>\d+))"
_EOM_ONLY = re.compile(rf"(?:{_NET}|due )?eom")
_WITH_DISCOUNT = re.compile(rf"{_DISCOUNT} ?{_NET}(?P<net>\d+)(?: ?(?P<eom>eom))?")
_NET_ONLY = re.compile(rf"(?:{_NET}(?P<net>\d+)|(?P<net2>\d+)(?: net)?)(?: ?(?P<eom>eom))?")

TEXT_TERMS_SYSTEMS: Final = frozenset({"text", "netsuite", "intacct", "billcom", "quickbooks", "xero"})
"""Systems whose terms are named in words (``"2% 10 Net 30"``); :func:`format_terms` writes that style."""


def _normalize(text: str) -> str:
    lowered = text.lower().replace("end of month", "eom").replace("e.o.m.", "eom").replace(",", " ")
    lowered = re.sub(r"\bdays?\b", " ", lowered)
    return re.sub(r"\s+", " ", lowered).strip()


def parse_terms(text: str, *, field: str | None = "payment_terms") -> PaymentTerms:
    """Structured terms from their usual spellings.

    ``"Net 30"``, ``"N30"``, ``"30 days"``, ``"2% 10 Net 30"``, ``"2/10N30"``, ``"2/10 n/30"``,
    ``"1.5% 15 days, net 45"``, ``"Due on Receipt"``, ``"EOM"``, ``"Net 30 EOM"``, ``"2/10 Net 30 EOM"``.
    EOM terms count days from the end of the invoice month. The original text is kept as
    ``name``. Anything else raises ``ValidationError``: a discount with no net days (``"2/10"``)
    is refused rather than guessed.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(f"payment terms must be non-empty text, got {text!r}", field=field)
    name = text.strip()
    normalized = _normalize(name)
    if normalized in _DUE_ON_RECEIPT or normalized in {"net 0", "n0", "net0"}:
        return PaymentTerms(net_days=0, name=name)
    if _EOM_ONLY.fullmatch(normalized):
        return PaymentTerms(net_days=0, end_of_month=True, name=name)
    match = _WITH_DISCOUNT.fullmatch(normalized)
    if match:
        percent = Decimal(match["pct"] or match["pct2"])
        discount_days = int(match["dd"] or match["dd2"])
        try:
            return PaymentTerms(
                net_days=int(match["net"]),
                discount_percent=percent,
                discount_days=discount_days,
                end_of_month=match["eom"] is not None,
                name=name,
            )
        except ValueError as error:  # pydantic's error: discount later than net, 0 %
            raise ValidationError(f"payment terms {name!r} are inconsistent: {error}", field=field) from None
    match = _NET_ONLY.fullmatch(normalized)
    if match:
        return PaymentTerms(
            net_days=int(match["net"] or match["net2"]), end_of_month=match["eom"] is not None, name=name
        )
    raise ValidationError(
        f"cannot read payment terms {name!r} (expected e.g. 'Net 30', '2% 10 Net 30', 'Due on receipt', "
        "'Net 30 EOM')",
        field=field,
    )


def _require_structure(terms: PaymentTerms) -> int:
    if terms.net_days is None:
        raise ValidationError(
            f"payment terms {terms.name!r} have no structured net days", field="payment_terms"
        )
    return terms.net_days


def _percent(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def format_terms(terms: PaymentTerms, system: str = "text") -> str:
    """Terms written the way ``system`` names them.

    - ``"text"`` and the systems in ``TEXT_TERMS_SYSTEMS`` (NetSuite, Sage Intacct, BILL,
      QuickBooks, Xero): ``"Net 30"``, ``"2% 10 Net 30"``, ``"Due on receipt"``, ``"Net 30 EOM"``, ``"EOM"``.
    - ``"compact"``: ``"N30"``, ``"2/10N30"``, ``"N30EOM"``, ``"EOM"`` (``"N0"`` for due on receipt).

    SAP, Dynamics 365 Business Central and Stripe store terms as fields, not names: use
    :func:`terms_fields` for them.
    """
    net = _require_structure(terms)
    key = system.lower()
    if key not in TEXT_TERMS_SYSTEMS and key != "compact":
        raise ValidationError(
            f"no terms name style for {system!r}; use terms_fields() for sap, dynamics and stripe",
            field="system",
        )
    compact = key == "compact"
    if terms.end_of_month and net == 0 and terms.discount_percent is None:
        return "EOM"
    if net == 0 and not terms.end_of_month and terms.discount_percent is None:
        return "N0" if compact else "Due on receipt"
    eom = ("EOM" if compact else " EOM") if terms.end_of_month else ""
    net_part = f"N{net}" if compact else f"Net {net}"
    if terms.discount_percent is None or terms.discount_days is None:
        return f"{net_part}{eom}"
    percent = _percent(terms.discount_percent)
    if compact:
        return f"{percent}/{terms.discount_days}{net_part}{eom}"
    return f"{percent}% {terms.discount_days} {net_part}{eom}"


def terms_fields(terms: PaymentTerms, system: str) -> dict[str, Any]:
    """Terms as the fields ``system`` stores them in.

    - ``"sap"`` (S/4HANA supplier invoice): ``NetPaymentDays``, ``CashDiscount1Days``,
      ``CashDiscount1Percent``. EOM terms need a configured terms key in SAP and are refused.
    - ``"dynamics"`` (Business Central ``paymentTerms``): ``dueDateCalculation`` and
      ``discountDateCalculation`` as date formulas (``"30D"``, ``"CM+30D"``), ``discountPercent``.
    - ``"stripe"`` (invoices): ``days_until_due``; Stripe has no early-payment discount or EOM terms.
    """
    net = _require_structure(terms)
    percent = terms.discount_percent if terms.discount_percent is not None else Decimal(0)
    discount_days = terms.discount_days or 0
    key = system.lower()
    if key == "sap":
        if terms.end_of_month:
            raise ValidationError(
                "SAP fields cannot express end-of-month terms; use a terms key", field="payment_terms"
            )
        return {"NetPaymentDays": net, "CashDiscount1Days": discount_days, "CashDiscount1Percent": percent}
    if key == "dynamics":
        base = "CM+" if terms.end_of_month else ""
        return {
            "dueDateCalculation": f"{base}{net}D",
            "discountDateCalculation": f"{base}{discount_days}D" if terms.discount_days is not None else "",
            "discountPercent": percent,
        }
    if key == "stripe":
        if terms.end_of_month or terms.discount_percent is not None:
            raise ValidationError(
                "Stripe invoices support net days only (no discount, no EOM)", field="payment_terms"
            )
        return {"days_until_due": net}
    raise ValidationError(
        f"no terms fields for {system!r} (expected sap, dynamics or stripe)", field="system"
    )
