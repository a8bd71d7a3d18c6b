"""``Money``: an exact amount in one ISO 4217 currency, and the ``Currency`` code type."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import core_schema
from typing_extensions import Self

from fincon.errors import ValidationError
from fincon.models._exact_decimal import EXACT, ExactDecimal
from fincon.models._iso4217 import CURRENCY_EXPONENTS

__all__ = ["Currency", "CurrencyMismatchError", "Money"]


class _CurrencyCode:
    """Pydantic schema of ``Currency``: strip, upper-case, then look the code up (all in pydantic-core)."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        known = core_schema.literal_schema(sorted(CURRENCY_EXPONENTS))
        return core_schema.chain_schema(
            [
                core_schema.str_schema(strip_whitespace=True, to_upper=True),
                core_schema.custom_error_schema(
                    known,
                    custom_error_type="currency_code",
                    custom_error_message="not an ISO 4217 currency code (expected e.g. 'USD')",
                ),
            ]
        )


Currency = Annotated[str, _CurrencyCode]
"""An upper-case ISO 4217 currency code; lower-case input is normalised, unknown codes are refused."""


class CurrencyMismatchError(ValidationError, ValueError):
    """Arithmetic or comparison between amounts in different currencies."""


def _mismatch(operation: str, left: str, right: str) -> CurrencyMismatchError:
    return CurrencyMismatchError(
        f"cannot {operation} {left} and {right} amounts: convert one currency first", field="currency"
    )


class Money(BaseModel):
    """An exact amount in one currency: ``Money(Decimal("15250.00"), "USD")``.

    Frozen and hashable. Arithmetic (``+``, ``-``, unary ``-``, ``abs``, comparisons, ``sum()``,
    multiplication by ``int`` or ``Decimal``) keeps the currency and refuses to mix currencies.
    Amounts are never rounded by arithmetic; use :meth:`quantize` to round to the currency's
    minor unit. JSON output writes the amount as a string.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    amount: ExactDecimal
    """The exact amount; negative for credits, refunds and outflows where the record says so."""
    currency: Currency
    """The ISO 4217 code, upper case."""

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        super().__init__(amount=amount, currency=currency)

    # The positional constructor only forwards to pydantic's: mark it so nested validation stays in
    # pydantic-core instead of calling back into Python for every value (as RootModel does).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def _exact(cls, amount: Decimal, currency: str) -> Self:
        # Both values are already valid: skip validation on the arithmetic hot path.
        return cls.model_construct(amount=amount, currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``; the start value for summing amounts of one currency."""
        return cls(Decimal(0), currency)

    @property
    def exponent(self) -> int | None:
        """Digits of the currency's minor unit (ISO 4217), or ``None`` when it has none."""
        return CURRENCY_EXPONENTS[self.currency]

    def quantize(self, rounding: str = ROUND_HALF_UP) -> Money:
        """This amount rounded to the currency's minor unit (``ROUND_HALF_UP`` unless told)."""
        exponent = self.exponent
        if exponent is None:
            raise ValidationError(f"{self.currency} has no minor unit to round to", field="currency")
        return self._exact(
            self.amount.quantize(Decimal(1).scaleb(-exponent), rounding=rounding), self.currency
        )

    def _same_currency(self, other: Money, operation: str) -> None:
        if other.currency != self.currency:
            raise _mismatch(operation, self.currency, other.currency)

    def __add__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same_currency(other, "add")
            return self._exact(EXACT.add(self.amount, other.amount), self.currency)
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self  # lets sum() start from its default 0
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same_currency(other, "subtract")
            return self._exact(EXACT.subtract(self.amount, other.amount), self.currency)
        return NotImplemented

    def __neg__(self) -> Money:
        return self._exact(-self.amount, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return self._exact(abs(self.amount), self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, (int, Decimal)) and not isinstance(factor, bool):
            return self._exact(EXACT.multiply(self.amount, Decimal(factor)), self.currency)
        if isinstance(factor, float):
            raise TypeError("Money can be multiplied by an int or a Decimal, not a float (binary rounding)")
        return NotImplemented

    __rmul__ = __mul__

    def _compare(self, other: object, operation: str) -> tuple[Decimal, Decimal] | None:
        if not isinstance(other, Money):
            return None
        self._same_currency(other, operation)
        return self.amount, other.amount

    def __lt__(self, other: object) -> bool:
        pair = self._compare(other, "compare")
        return NotImplemented if pair is None else pair[0] < pair[1]

    def __le__(self, other: object) -> bool:
        pair = self._compare(other, "compare")
        return NotImplemented if pair is None else pair[0] <= pair[1]

    def __gt__(self, other: object) -> bool:
        pair = self._compare(other, "compare")
        return NotImplemented if pair is None else pair[0] > pair[1]

    def __ge__(self, other: object) -> bool:
        pair = self._compare(other, "compare")
        return NotImplemented if pair is None else pair[0] >= pair[1]

    def __repr__(self) -> str:
        return f"Money({self.amount!r}, {self.currency!r})"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
