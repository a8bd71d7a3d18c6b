"""JSON encoding that keeps money exact."""

from __future__ import annotations

import enum
import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincon.core.jsonenc import dumps


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def test_decimals_keep_their_digits() -> None:
    assert dumps({"amount": Decimal("0.10")}) == b'{"amount":0.10}'
    assert (
        dumps([Decimal("15250.00"), Decimal("-0.001"), Decimal("1E+3"), Decimal("0")])
        == b"[15250.00,-0.001,1E+3,0]"
    )
    big = Decimal("123456789012345678901234567890.123456789")
    assert dumps(big) == str(big).encode()


def test_values_of_every_kind() -> None:
    value = {
        "s": 'Zürich "quoted" \n',
        "i": 42,
        "t": True,
        "f": False,
        "n": None,
        "d": date(2026, 1, 31),
        "dt": datetime(2026, 1, 31, 9, 30, tzinfo=timezone.utc),
        "e": Colour.RED,
        "ie": Level.HIGH,
        "tuple": (1, 2),
        3: "int key",
    }
    text = dumps(value)
    assert text.isascii()
    assert json.loads(text) == {
        "s": 'Zürich "quoted" \n',
        "i": 42,
        "t": True,
        "f": False,
        "n": None,
        "d": "2026-01-31",
        "dt": "2026-01-31T09:30:00+00:00",
        "e": "red",
        "ie": 3,
        "tuple": [1, 2],
        "3": "int key",
    }


@pytest.mark.parametrize("value", [0.1, {"amount": 1.0}, [Decimal("1"), 2.5], float("nan")])
def test_floats_are_refused(value: object) -> None:
    with pytest.raises(TypeError, match="float"):
        dumps(value)


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN")]
)
def test_non_finite_decimals_are_refused(value: Decimal) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        dumps({"amount": value})


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes"])
def test_unknown_types_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        dumps(value)


@settings(deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimal_round_trip_is_exact(amount: Decimal) -> None:
    parsed = json.loads(dumps({"amount": amount}), parse_float=Decimal, parse_int=Decimal)
    assert parsed["amount"] == amount
    assert str(parsed["amount"]) == str(amount) or parsed["amount"].as_tuple() == amount.as_tuple()


@settings(deadline=None)
@given(st.text())
def test_strings_round_trip(text: str) -> None:
    assert json.loads(dumps(text)) == text
