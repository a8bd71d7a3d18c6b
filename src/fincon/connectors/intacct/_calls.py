"""One Intacct function as one request, with its ``result`` returned (or its failure raised)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fincon.connectors.intacct._envelope import GATEWAY_PATH, Sender, build_request, function
from fincon.connectors.intacct._keyset import recordnos
from fincon.connectors.intacct._xml import release_root, text_of
from fincon.core.flow import Flow
from fincon.core.transport import AuditInfo, Call, Requestor
from fincon.errors import FinconError, ServerError

__all__ = ["DataPage", "FunctionCaller", "data_page"]

SYSTEM = "intacct"


@dataclass(frozen=True)
class DataPage:
    """The ``<data>`` of a result: its record elements and the paging attributes."""

    records: list[Any]
    count: int
    total: int | None
    remaining: int
    result_id: str | None
    #: Each record's ``RECORDNO`` (None where it has none), what a listing continues after.
    recordnos: list[int | None]


def _int(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise ServerError(f"Intacct sent {name}={value[:20]!r}, not a count", system=SYSTEM, retryable=False)
    return int(value)


def data_page(result: Any) -> DataPage:
    """Read ``result/data``: records and ``count``/``totalcount``/``numremaining``/``resultId``."""
    data = result.find("data")
    if data is None:
        return DataPage([], 0, 0, 0, None, [])
    records = [node for node in data[:] if isinstance(node.tag, str)]  # comments and PIs left out
    count = _int(data.get("count"), "count")
    if count is not None and count != len(records):
        raise ServerError(
            f"Intacct said count={count} but sent {len(records)} records", system=SYSTEM, retryable=False
        )
    return DataPage(
        records,
        len(records),
        _int(data.get("totalcount"), "totalcount"),
        _int(data.get("numremaining"), "numremaining") or 0,
        data.get("resultId") or None,
        recordnos(records, data),
    )


class FunctionCaller:
    """Sends functions for one connector through its requestor."""

    def __init__(self, requestor: Requestor, sender: Callable[[], Sender]) -> None:
        self.requestor = requestor
        self._sender = sender

    def call(
        self,
        body: Any,
        *,
        idempotent: bool = True,
        audit: AuditInfo | None = None,
        prove_not_applied: Callable[[FinconError], Flow[bool]] | None = None,
    ) -> Flow[Any]:
        """Send one function; return its ``<result>`` element (failures are raised by the connector)."""
        content = build_request(self._sender(), [function(body)])
        response = yield from self.requestor.call(
            Call(
                "POST",
                GATEWAY_PATH,
                content=content,
                headers={"Content-Type": "application/xml", "Accept": "application/xml"},
                idempotent=idempotent,
                audit=audit,
                prove_not_applied=prove_not_applied,
            )
        )
        root = release_root(response)  # the function's result is all that is used from here
        result = root.find("operation/result")
        if result is None or text_of(result, "status") != "success":
            raise ServerError("Intacct answered without a result", system=SYSTEM, retryable=False)
        return result
