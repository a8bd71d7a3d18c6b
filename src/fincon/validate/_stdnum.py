"""Running a python-stdnum validator and turning its exceptions into fincon errors naming the field."""

from __future__ import annotations

import importlib
from typing import Any

from fincon.errors import ValidationError

__all__ = ["check_with_stdnum", "stdnum_module"]

# stdnum exception class name -> the reason we give users.
_REASONS = {
    "InvalidChecksum": "the check digits do not match",
    "InvalidLength": "it has the wrong length",
    "InvalidFormat": "it has an invalid format",
    "InvalidComponent": "one of its parts (a country, bank or prefix code) is not valid",
}


def stdnum_module(name: str) -> Any:
    """Import ``stdnum.<name>`` on first use, keeping python-stdnum out of ``import fincon``."""
    return importlib.import_module(f"stdnum.{name}")


def check_with_stdnum(module: Any, value: object, *, field: str, label: str) -> str:
    """``module.validate(value)``'s compact result, or a ``ValidationError`` saying why it is invalid."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{field} must be a non-empty string to be a {label}, got {value!r}", field=field
        )
    from stdnum.exceptions import ValidationError as StdnumError

    try:
        return str(module.validate(value))
    except StdnumError as error:
        reason = _REASONS.get(type(error).__name__, str(error))
        raise ValidationError(f"{field} {value!r} is not a valid {label}: {reason}", field=field) from None
