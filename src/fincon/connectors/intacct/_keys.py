"""Checks of the record keys callers pass to ``get``, ``update`` and ``delete``.

``read``, ``readByName`` and ``delete`` take their keys as one comma-separated string, so a
key holding a comma names several records (``"NOPE,V000007"`` reads V000007). A key is
therefore checked before anything is sent, and the record returned is checked to be the one
asked for.
"""

from __future__ import annotations

from fincon.errors import ValidationError

__all__ = ["record_key"]


def record_key(key: object, field: str, *, system: str = "intacct") -> str:
    """``key`` when it names exactly one record; :class:`ValidationError` otherwise.

    Refused: anything but a non-empty string, commas (Intacct's key separator), control
    characters and leading or trailing whitespace (which Intacct trims, so the record read
    would not be the key given).
    """
    if not isinstance(key, str) or not key:
        raise ValidationError(f"an Intacct {field} must be a non-empty string", field=field, system=system)
    if "," in key:
        raise ValidationError(
            f"an Intacct {field} cannot contain ',' (it separates keys)", field=field, system=system
        )
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in key):
        raise ValidationError(
            f"an Intacct {field} cannot contain control characters", field=field, system=system
        )
    if key != key.strip():
        raise ValidationError(
            f"an Intacct {field} cannot start or end with whitespace", field=field, system=system
        )
    return key
