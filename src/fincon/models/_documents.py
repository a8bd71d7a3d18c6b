"""Documents with lines: ``Bill``, ``Invoice``, ``PurchaseOrder``; and ``Receipt`` (goods receipt)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import Self

from fincon.models._enums import DocumentStatus, PurchaseOrderStatus
from fincon.models._exact_decimal import ExactDecimal
from fincon.models._money import Currency, Money
from fincon.models._open_enum import OpenEnum
from fincon.models._payment_terms import PaymentTerms
from fincon.models._record import Record
from fincon.models._values import Ref

__all__ = ["Bill", "Invoice", "LineItem", "PurchaseOrder", "Receipt", "ReceiptLine"]


class LineItem(BaseModel):
    """One line of a bill, invoice or purchase order."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    id: str | None = None
    """The system's line id."""
    line_number: int | None = None
    """Position of the line as the system numbers it."""
    description: str | None = None
    """Free-text description."""
    item: Ref | None = None
    """The product or service item."""
    quantity: ExactDecimal | None = None
    """Quantity (exact decimal)."""
    unit_price: Money | None = None
    """Price of one unit; may carry more decimals than the currency's minor unit."""
    amount: Money | None = None
    """Line amount before tax."""
    tax_amount: Money | None = None
    """Tax on this line, when the system itemises it."""
    account: Ref | None = None
    """The GL account the line posts to."""
    tax_code: str | None = None
    """The system's tax code."""
    dimensions: dict[str, str] = Field(default_factory=dict)
    """Department, class, location, cost centre, project (see ``Dimension``) and custom segments."""
    purchase_order_line: str | None = None
    """Id of the purchase-order line this line bills or orders against."""

    def amounts(self) -> Iterator[tuple[str, Money]]:
        """The line's ``Money`` values with their field names."""
        for name in _LINE_MONEY:
            value = getattr(self, name)
            if value is not None:
                yield name, value


#: The fields of a ``LineItem`` holding ``Money`` (what :meth:`LineItem.amounts` yields).
_LINE_MONEY = ("unit_price", "amount", "tax_amount")


class _LinedDocument(Record):
    number: str | None = None
    """The document number people see (invoice number, PO number)."""
    issue_date: dt.date | None = None
    """Document date."""
    currency: Currency | None = None
    """Document currency; every amount must be in it (taken from the amounts when omitted)."""
    lines: list[LineItem] = Field(default_factory=list)
    """The lines."""
    subtotal: Money | None = None
    """Sum of the lines before tax."""
    tax: Money | None = None
    """Total tax."""
    total: Money | None = None
    """Amount of the document including tax."""
    memo: str | None = None
    """Free-text memo."""

    #: The header fields holding ``Money``.
    _HEADER_MONEY: ClassVar[tuple[str, ...]] = ("subtotal", "tax", "total")

    def _header_amounts(self) -> Iterator[tuple[str, Money]]:
        for name in self._HEADER_MONEY:
            value = getattr(self, name)
            if value is not None:
                yield name, value

    def amounts(self) -> Iterator[tuple[str, Money]]:
        """Every ``Money`` value of the document with its field path (``lines.2.amount``)."""
        yield from self._header_amounts()
        for index, line in enumerate(self.lines):
            for name, value in line.amounts():
                yield f"lines.{index}.{name}", value

    @model_validator(mode="after")
    def _one_currency(self) -> Self:
        # A document mixing currencies is a wrong amount waiting to happen: refuse it here.
        # This runs for every record read, so the common case is one tight pass over the
        # fields' values (no generators, no attribute protocol); field paths are built only
        # to word an error.
        values = self.__dict__
        currencies = set()
        for name in self._HEADER_MONEY:
            money = values[name]
            if money is not None:
                currencies.add(money.currency)
        for line in values["lines"]:
            held = line.__dict__
            for name in _LINE_MONEY:
                money = held[name]
                if money is not None:
                    currencies.add(money.currency)
        currency = self.currency
        if currency is None and len(currencies) == 1:
            object.__setattr__(self, "currency", currencies.pop())  # avoid re-validating on assignment
        elif currencies and (len(currencies) > 1 or currency not in currencies):
            self._refuse_mixed_currencies()
        return self

    def _refuse_mixed_currencies(self) -> None:
        currency = self.currency
        for path, money in self.amounts():
            if currency is None:
                currency = money.currency
            elif money.currency != currency:
                raise ValueError(f"{path} is in {money.currency} but the document's currency is {currency}")


class _PayableDocument(_LinedDocument):
    _HEADER_MONEY: ClassVar[tuple[str, ...]] = ("subtotal", "tax", "total", "balance")

    due_date: dt.date | None = None
    """When the full amount is due."""
    balance: Money | None = None
    """Amount still due."""
    status: OpenEnum[DocumentStatus] | None = None
    """Draft, open, partially paid, paid, void, or the system's own status."""
    payment_terms: PaymentTerms | None = None
    """Payment terms of the document."""
    purchase_order: Ref | None = None
    """The purchase order the document relates to."""


class Bill(_PayableDocument):
    """A vendor bill (accounts payable invoice)."""

    resource: ClassVar[str] = "bill"

    vendor: Ref | None = None
    """Who the bill is from."""


class Invoice(_PayableDocument):
    """A customer invoice (accounts receivable)."""

    resource: ClassVar[str] = "invoice"

    customer: Ref | None = None
    """Who the invoice is to."""


class PurchaseOrder(_LinedDocument):
    """A purchase order sent to a vendor."""

    resource: ClassVar[str] = "purchase_order"

    vendor: Ref | None = None
    """Who the goods or services are ordered from."""
    expected_date: dt.date | None = None
    """When delivery is expected."""
    status: OpenEnum[PurchaseOrderStatus] | None = None
    """Draft, open, partially received, received, closed, cancelled, or the system's own status."""
    payment_terms: PaymentTerms | None = None
    """Agreed payment terms."""


class ReceiptLine(BaseModel):
    """One line of a goods receipt: what arrived against which purchase-order line."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    id: str | None = None
    """The system's line id."""
    line_number: int | None = None
    """Position of the line."""
    purchase_order_line: str | None = None
    """Id of the purchase-order line received against."""
    item: Ref | None = None
    """The item received."""
    description: str | None = None
    """Free-text description."""
    quantity: ExactDecimal
    """Quantity accepted."""
    quantity_rejected: ExactDecimal | None = None
    """Quantity refused at receipt, if recorded."""


class Receipt(Record):
    """A goods receipt (item receipt): what was delivered against a purchase order."""

    resource: ClassVar[str] = "receipt"

    number: str | None = None
    """Receipt number."""
    purchase_order: Ref | None = None
    """The purchase order received against."""
    vendor: Ref | None = None
    """Who delivered."""
    date: dt.date | None = None
    """When the goods arrived."""
    lines: list[ReceiptLine] = Field(default_factory=list)
    """What arrived."""
    memo: str | None = None
    """Free-text memo."""
