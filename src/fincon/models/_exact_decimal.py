"""``ExactDecimal``: the Decimal type of every amount, price, quantity and rate in fincon.

A ``float`` cannot hold 0.1 exactly, so an amount that passed through one may already be
wrong by the time it reaches us. We refuse floats outright (JSON numbers with a fraction
arrive as floats too) instead of rounding them silently. ``int``, ``str`` and ``Decimal``
convert exactly. NaN and infinities are refused.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Annotated, Any, Final

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

__all__ = ["EXACT", "ExactDecimal"]

EXACT: Final = decimal.Context(
    prec=decimal.MAX_PREC,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero],
)
"""A decimal context wide enough that addition and multiplication of amounts never round."""

_FLOAT_MESSAGE = (
    "a float is not accepted for an exact decimal value ({value!r} may already be rounded in binary); "
    "pass a Decimal, an int or a string such as '12.34' (for JSON, send amounts as strings or parse "
    "the document with parse_float=Decimal)"
)


def _refuse_float(value: Any) -> Any:
    if isinstance(value, float):
        raise PydanticCustomError("float_not_allowed", _FLOAT_MESSAGE, {"value": value})
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_allowed", "a bool is not an exact decimal value")
    return value


ExactDecimal = Annotated[Decimal, BeforeValidator(_refuse_float)]
"""A ``Decimal`` field type: ``Decimal``, ``int`` and numeric ``str`` are exact; ``float`` is refused."""
