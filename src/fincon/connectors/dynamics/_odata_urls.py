"""OData V4 URL pieces the connector writes: literals, keys and ``$filter`` terms.

(A thin local layer: the shared ``fincon.protocols.odata`` query builder can replace it.)
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fincon.connectors.dynamics.mapping import is_guid

__all__ = ["and_filter", "literal", "quote_key"]


def literal(value: Any) -> str:
    """A V4 URL literal: strings quoted (``'`` doubled), GUIDs, dates and numbers bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a datetime in a filter must be timezone-aware")
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        raise TypeError("refusing a float in a filter: use Decimal")
    text = str(value)
    if is_guid(text):
        return text
    return "'" + text.replace("'", "''") + "'"


def quote_key(value: str) -> str:
    """A string key value inside ``(...)``: ``'V0001'``."""
    return "'" + value.replace("'", "''") + "'"


def and_filter(*terms: str | None) -> str | None:
    """Join terms with ``and`` (None when there are none)."""
    present = [term for term in terms if term]
    if not present:
        return None
    return " and ".join(f"({term})" if " or " in term else term for term in present)
