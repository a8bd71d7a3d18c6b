"""The function elements fincon sends (``readByQuery``, ``readMore``, ``query``, ``read``, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fincon.connectors.intacct._xml import element, sub
from fincon.errors import ValidationError

__all__ = [
    "MAX_QUERY_PAGE",
    "MAX_READ_BY_QUERY_PAGE",
    "create",
    "delete",
    "get_api_session",
    "inspect",
    "query",
    "read",
    "read_by_name",
    "read_by_query",
    "read_more",
    "update",
]

MAX_READ_BY_QUERY_PAGE = 1000
MAX_QUERY_PAGE = 2000


def _object(name: str) -> str:
    if not isinstance(name, str) or not name or not all(c.isalnum() or c == "_" for c in name):
        raise ValidationError(f"{name!r} is not an Intacct object name", field="object", system="intacct")
    return name


def _page_size(size: int, maximum: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= maximum:
        raise ValidationError(f"pagesize must be from 1 to {maximum}", field="page_size", system="intacct")
    return size


def get_api_session(location_id: str | None = None) -> Any:
    """``<getAPISession>``, optionally into one entity (``locationid``)."""
    node = element("getAPISession")
    if location_id:
        sub(node, "locationid", location_id)
    return node


def read_by_query(
    obj: str, *, query: str = "", fields: Sequence[str] | str = "*", page_size: int = 1000
) -> Any:
    """``<readByQuery>``: the first page of a server-held result set (continue with readMore)."""
    node = element("readByQuery")
    sub(node, "object", _object(obj))
    sub(node, "fields", fields if isinstance(fields, str) else ",".join(fields))
    sub(node, "query", query)
    sub(node, "pagesize", _page_size(page_size, MAX_READ_BY_QUERY_PAGE))
    return node


def read_more(result_id: str) -> Any:
    """``<readMore><resultId>``: the next page of a result set."""
    node = element("readMore")
    sub(node, "resultId", result_id)
    return node


def query(
    obj: str,
    *,
    fields: Sequence[str] = ("*",),
    filter: Any = None,
    order_by: Sequence[tuple[str, bool]] = (),
    offset: int = 0,
    page_size: int = 1000,
    case_insensitive: bool = False,
) -> Any:
    """``<query>``: a page of records at ``offset`` (``filter`` from :mod:`.filters`).

    ``order_by`` lists ``(field, ascending)`` pairs.
    """
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError("offset must be zero or more", field="offset", system="intacct")
    node = element("query")
    sub(node, "object", _object(obj))
    select = sub(node, "select")
    for name in fields:
        sub(select, "field", name)
    if filter is not None:
        holder = sub(node, "filter")
        holder.append(filter)
    if order_by:
        orders = sub(node, "orderby")
        for name, ascending in order_by:
            order = sub(orders, "order")
            sub(order, "field", name)
            sub(order, "ascending" if ascending else "descending")
    if case_insensitive:
        options = sub(node, "options")
        sub(options, "caseinsensitive", "true")
    sub(node, "pagesize", _page_size(page_size, MAX_QUERY_PAGE))
    sub(node, "offset", offset)
    return node


def read(obj: str, keys: Sequence[str], *, fields: Sequence[str] | str = "*") -> Any:
    """``<read>`` records by their keys (``RECORDNO``)."""
    if not keys:
        raise ValidationError("read needs at least one key", field="keys", system="intacct")
    node = element("read")
    sub(node, "object", _object(obj))
    sub(node, "keys", ",".join(keys))
    sub(node, "fields", fields if isinstance(fields, str) else ",".join(fields))
    return node


def read_by_name(obj: str, names: Sequence[str], *, fields: Sequence[str] | str = "*") -> Any:
    """``<readByName>`` records by their name key (``VENDORID``, ``CUSTOMERID``, ``ACCOUNTNO``)."""
    node = element("readByName")
    sub(node, "object", _object(obj))
    sub(node, "keys", ",".join(names))
    sub(node, "fields", fields if isinstance(fields, str) else ",".join(fields))
    return node


def create(record: Any) -> Any:
    """``<create>`` one object element (``<VENDOR>...</VENDOR>``)."""
    node = element("create")
    node.append(record)
    return node


def update(record: Any) -> Any:
    """``<update>`` one object element carrying its key."""
    node = element("update")
    node.append(record)
    return node


def delete(obj: str, keys: Sequence[str]) -> Any:
    """``<delete>`` records by their ``RECORDNO`` keys."""
    if not keys or not all(isinstance(key, str) and key.isdigit() for key in keys):
        raise ValidationError("delete takes RECORDNO keys (digits)", field="keys", system="intacct")
    node = element("delete")
    sub(node, "object", _object(obj))
    sub(node, "keys", ",".join(keys))
    return node


def inspect(obj: str, *, detail: bool = False) -> Any:
    """``<inspect>``: an object's fields."""
    node = element("inspect", attrib={"detail": "1"} if detail else None)
    sub(node, "object", _object(obj))
    return node
