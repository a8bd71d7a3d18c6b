"""JSON encoding that keeps money exact: ``Decimal`` becomes a JSON number with the same digits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

__all__ = ["dumps"]

_encode_str = json.encoder.encode_basestring_ascii


def dumps(value: Any) -> bytes:
    """Encode ``value`` as compact JSON bytes.

    ``Decimal`` is written with its exact digits (``Decimal('0.10')`` -> ``0.10``); ``float``
    is refused, because it may already have lost a cent; dates and datetimes become ISO 8601
    strings; enums their value.
    """
    parts: list[str] = []
    _encode(value, parts.append)
    return "".join(parts).encode("ascii")


def _encode(value: Any, emit: Any) -> None:
    if value is None:
        emit("null")
    elif value is True:
        emit("true")
    elif value is False:
        emit("false")
    elif isinstance(value, str):
        emit(_encode_str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode the non-finite amount {value} as JSON")
        emit(str(value))
    elif isinstance(value, int):
        emit(str(int(value)))
    elif isinstance(value, float):
        raise TypeError("refusing to encode a float in a request body: use Decimal for amounts")
    elif isinstance(value, Mapping):
        emit("{")
        first = True
        for key, item in value.items():
            if not first:
                emit(",")
            first = False
            emit(_encode_str(str(key)))
            emit(":")
            _encode(item, emit)
        emit("}")
    elif isinstance(value, (list, tuple)):
        emit("[")
        for index, item in enumerate(value):
            if index:
                emit(",")
            _encode(item, emit)
        emit("]")
    elif isinstance(value, (datetime, date)):
        emit(_encode_str(value.isoformat()))
    elif isinstance(value, Enum):
        _encode(value.value, emit)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")
