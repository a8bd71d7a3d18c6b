"""``PaymentTerms``: when a document is due and what early payment earns, as a structured value."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fincon.errors import ValidationError
from fincon.models._exact_decimal import ExactDecimal
from fincon.models._money import Money

__all__ = ["PaymentTerms"]


def _end_of_month(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


class PaymentTerms(BaseModel):
    """Payment terms such as ``Net 30``, ``2% 10 Net 30`` or ``Net 30 EOM``.

    Days count from the invoice date, or from the end of the invoice's month when
    ``end_of_month`` is true. ``name`` keeps the system's own label. A string given where
    ``PaymentTerms`` is expected is parsed with ``fincon.transform.parse_terms``; text that
    cannot be parsed is kept as ``name`` alone (structured fields ``None``) so the record
    still loads, and date computations then raise.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    net_days: int | None = Field(default=None, ge=0)
    """Days until the full amount is due (0: due on receipt)."""
    discount_percent: ExactDecimal | None = Field(default=None, gt=0, lt=100)
    """Early-payment discount in percent (``Decimal("2")`` for 2 %)."""
    discount_days: int | None = Field(default=None, ge=0)
    """Days within which the discount applies."""
    end_of_month: bool = False
    """Count days from the end of the invoice's month instead of the invoice date."""
    name: str | None = None
    """The system's own name or code of the terms (``"2% 10 Net 30"``, ``"NT30"``)."""

    @model_validator(mode="before")
    @classmethod
    def _parse_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            from fincon.transform._terms import parse_terms  # transform builds on models: import late

            try:
                return parse_terms(data).model_dump()
            except ValidationError:
                return {"name": data}
        return data

    @model_validator(mode="after")
    def _discount_complete(self) -> PaymentTerms:
        if (self.discount_percent is None) != (self.discount_days is None):
            raise ValueError("discount_percent and discount_days must be given together")
        if (
            self.discount_days is not None
            and self.net_days is not None
            and self.discount_days > self.net_days
        ):
            raise ValueError(
                f"discount_days ({self.discount_days}) cannot be later than net_days ({self.net_days})"
            )
        return self

    def _start(self, invoice_date: dt.date) -> dt.date:
        return _end_of_month(invoice_date) if self.end_of_month else invoice_date

    def due_date(self, invoice_date: dt.date) -> dt.date:
        """The date the full amount is due for a document issued on ``invoice_date``."""
        if self.net_days is None:
            raise ValidationError(
                f"payment terms {self.name!r} have no structured net days to compute a due date from",
                field="payment_terms",
            )
        return self._start(invoice_date) + dt.timedelta(days=self.net_days)

    def discount_date(self, invoice_date: dt.date) -> dt.date | None:
        """The last day the early-payment discount applies, or ``None`` without a discount."""
        if self.discount_days is None:
            return None
        return self._start(invoice_date) + dt.timedelta(days=self.discount_days)

    def discount_amount(self, total: Money) -> Money:
        """The discount earned on ``total`` if paid in time, rounded half-up to the currency's minor unit."""
        if self.discount_percent is None:
            return Money.zero(total.currency)
        exponent = total.exponent or 0
        discount = (total.amount * self.discount_percent / 100).quantize(
            Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP
        )
        return Money(discount, total.currency)
