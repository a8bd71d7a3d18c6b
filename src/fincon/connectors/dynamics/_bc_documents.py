"""Business Central documents in the emulator: which entity sets hold documents and their
lines, how a line's amounts and a document's totals are computed (as BC does), and where the
seeded lines of a document sit in their entity set.

Seeded document ``i`` has ``i % 3 + 1`` lines, stored consecutively in the lines entity set
from position :func:`first_line`; so the lines of a document and the document of a line are
found by arithmetic, never by scanning (a listing of 10,000 bills with their lines stays fast).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fincon.sandbox import IdScheme, currency_exponent

__all__ = [
    "DOCUMENTS",
    "LINE_SETS",
    "DocumentKind",
    "document_of_line",
    "first_line",
    "guid_scheme",
    "line_amounts",
    "line_count",
    "round_amount",
    "totals",
]

#: Tax percent by tax code: the emulator's stand-in for BC's tax setup.
TAX_PERCENT = {"TAXABLE": Decimal(8), "NONTAXABLE": Decimal(0), "": Decimal(0)}


def guid_scheme(tag: int) -> IdScheme:
    """GUID-shaped ids, one family per entity set: ``{tag:08x}-0000-4000-8000-000000000001``."""
    return IdScheme(f"{tag:08x}-0000-4000-8000-", 12)


@dataclass(frozen=True)
class DocumentKind:
    """A document entity set with lines."""

    entity_set: str
    lines: str
    party: str  # "vendor" or "customer"
    #: The line property holding the unit price (None: the lines carry no amounts).
    price_key: str | None
    ids: IdScheme
    line_ids: IdScheme
    number_prefix: str
    #: Whether the document has totals computed from its lines.
    totals: bool = True
    #: Whether it carries ``remainingAmount`` (sales invoices).
    remaining: bool = False
    #: Whether its lines have dimension set lines of their own in the seed.
    dimensions: bool = False
    #: The binding type of ``Microsoft.NAV.post``, if it can be posted.
    postable: str | None = None


DOCUMENTS: dict[str, DocumentKind] = {
    kind.entity_set: kind
    for kind in (
        DocumentKind(
            "purchaseInvoices",
            "purchaseInvoiceLines",
            "vendor",
            "unitCost",
            guid_scheme(0xB111),
            guid_scheme(0xB112),
            "PI",
            dimensions=True,
            postable="Microsoft.NAV.purchaseInvoice",
        ),
        DocumentKind(
            "salesInvoices",
            "salesInvoiceLines",
            "customer",
            "unitPrice",
            guid_scheme(0x5A1E),
            guid_scheme(0x5A1F),
            "SI",
            remaining=True,
            dimensions=True,
            postable="Microsoft.NAV.salesInvoice",
        ),
        DocumentKind(
            "purchaseOrders",
            "purchaseOrderLines",
            "vendor",
            "directUnitCost",
            guid_scheme(0x9000),
            guid_scheme(0x9001),
            "PO",
        ),
        DocumentKind(
            "purchaseReceipts",
            "purchaseReceiptLines",
            "vendor",
            None,
            guid_scheme(0x2EC0),
            guid_scheme(0x2EC1),
            "RCPT",
            totals=False,
        ),
    )
}
#: Lines entity set -> its document kind.
LINE_SETS: dict[str, DocumentKind] = {kind.lines: kind for kind in DOCUMENTS.values()}


def line_count(document: int) -> int:
    """How many lines seeded document ``document`` has (1 to 3)."""
    return document % 3 + 1


def first_line(document: int) -> int:
    """The position of seeded document ``document``'s first line (lines of 3 documents: 1+2+3)."""
    return 6 * (document // 3) + (0, 1, 3)[document % 3]


def document_of_line(line: int) -> tuple[int, int]:
    """The seeded document a line position belongs to, and the line's slot in it."""
    block, rest = divmod(line, 6)
    if rest == 0:
        return 3 * block, 0
    if rest < 3:
        return 3 * block + 1, rest - 1
    return 3 * block + 2, rest - 3


def round_amount(amount: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's ISO 4217 decimals."""
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)), rounding=ROUND_HALF_UP)


def line_amounts(line: Mapping[str, Any], currency: str, price_key: str) -> dict[str, Decimal]:
    """A line's computed amounts: quantity x price, then tax by tax code (half-up)."""
    quantity = Decimal(line.get("quantity") or 0)
    price = Decimal(line.get(price_key) or 0)
    percent = TAX_PERCENT.get(str(line.get("taxCode") or ""), Decimal(0))
    net = round_amount(quantity * price, currency)
    tax = round_amount(net * percent / 100, currency)
    return {
        "amountExcludingTax": net,
        "taxPercent": percent,
        "totalTaxAmount": tax,
        "amountIncludingTax": net + tax,
    }


def totals(lines: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    """A document's totals from its lines."""
    net = Decimal(0)
    tax = Decimal(0)
    for line in lines:
        net += Decimal(line.get("amountExcludingTax") or 0)
        tax += Decimal(line.get("totalTaxAmount") or 0)
    return {"totalAmountExcludingTax": net, "totalTaxAmount": tax, "totalAmountIncludingTax": net + tax}
