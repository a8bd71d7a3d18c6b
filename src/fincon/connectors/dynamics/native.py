"""Dynamics 365 extras (``connector.native``): bound actions, raw OData queries, JSON ``$batch``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fincon.core.flow import Flow
from fincon.core.responses import parse_json
from fincon.core.transport import AuditInfo, Call
from fincon.errors import PaginationError, ValidationError
from fincon.protocols.odata import (
    Batch,
    BatchRequest,
    ODataVersion,
    OperationResult,
    parse_batch_response,
    unwrap_collection,
)
from fincon.protocols.odata.paging import resolve_next_link

if TYPE_CHECKING:
    from fincon.connectors.dynamics.connector import DynamicsConnector

__all__ = ["MAX_BATCH", "DynamicsNative"]

_POSTABLE = {"bill": "purchaseInvoices", "invoice": "salesInvoices"}
#: Business Central takes at most 100 operations in one ``$batch``.
MAX_BATCH = 100
_V4 = ODataVersion.V4


class DynamicsNative:
    """``erp.native`` of the Dynamics connector (sync: results; async: awaitables)."""

    def __init__(self, core: DynamicsConnector, run: Callable[[Flow[Any]], Any]) -> None:
        self._core = core
        self._run = run

    def post(self, resource: str, id: str) -> Any:
        """Post a draft BC bill or invoice (``Microsoft.NAV.post``); returns it as posted."""
        return self._run(self._post_flow(resource, id))

    def _post_flow(self, resource: str, id: str) -> Flow[Any]:
        if self._core.flavor != "business_central" or resource not in _POSTABLE:
            raise ValidationError(
                "post applies to Business Central bills and invoices", field="resource", system="dynamics"
            )
        handler: Any = self._core.handlers[resource]
        yield from handler.prepare("update")
        url = handler.entity_url(id)
        yield from self._core.requestor.call(
            Call("POST", f"{url}/Microsoft.NAV.post", audit=AuditInfo("post", resource, record_id=id))
        )
        return (yield from handler.get(id))

    def query(self, path: str, params: Mapping[str, str] | None = None, *, page_size: int = 100) -> Any:
        """The raw entities of ``path`` (relative to the service root, e.g.
        ``companies(<id>)/items``), following ``@odata.nextLink``; a list (sync)."""
        return self._run(self._query_flow(path, dict(params or {}), page_size))

    def _query_flow(self, path: str, params: dict[str, str], page_size: int) -> Flow[list[Any]]:
        requestor = self._core.requestor
        rows: list[Any] = []
        url = requestor.resolve("/" + path.lstrip("/"))
        seen: set[str] = set()
        while True:
            response = yield from requestor.call(
                Call("GET", url, params=params or None, headers={"Prefer": f"odata.maxpagesize={page_size}"})
            )
            page = unwrap_collection(parse_json(response, system="dynamics"), _V4, system="dynamics")
            rows.extend(page.items)
            if not page.next_link:
                return rows
            url = resolve_next_link(page.next_link, response.request.url, requestor.origin, system="dynamics")
            if url in seen:
                raise PaginationError(f"the next-link of {path} goes round in a cycle", system="dynamics")
            seen.add(url)
            params = {}  # the next-link carries the query

    def batch(self, requests: Sequence[Mapping[str, Any] | BatchRequest]) -> Any:
        """Send up to 100 requests in one OData V4 JSON ``$batch``.

        Each request is a :class:`~fincon.protocols.odata.BatchRequest` or a mapping with
        ``method``, ``url`` (relative to the service root), optional ``body`` and ``headers``.
        Writes are sent as atomicity groups of one (each applied or refused on its own).
        Returns one :class:`~fincon.protocols.odata.OperationResult` per request, in order
        (``result.ok``, ``result.response.json()``, ``result.error(system="dynamics")``).
        """
        return self._run(self._batch_flow(list(requests)))

    def _batch_flow(self, requests: list[Mapping[str, Any] | BatchRequest]) -> Flow[list[OperationResult]]:
        if not 1 <= len(requests) <= MAX_BATCH:
            raise ValidationError(
                f"a batch holds 1 to {MAX_BATCH} requests", field="requests", system="dynamics"
            )
        batch = Batch(_V4)
        for index, item in enumerate(requests):
            request = _batch_request(item, index)
            if request.method == "GET":
                batch.add(request)
            else:
                batch.changeset(request)
        content, content_type = batch.build_json()
        # A batch of writes carries no idempotency key (OData has none): it is sent once.
        response = yield from self._core.requestor.call(
            Call(
                "POST",
                "/$batch",
                content=content,
                headers={"Content-Type": content_type},
                idempotent=False,
                audit=AuditInfo("batch", "$batch"),
            )
        )
        return parse_batch_response(
            batch, response.content, response.headers.get("content-type", ""), system="dynamics"
        )

    def __iter__(self) -> Iterator[str]:
        return iter(("post", "query", "batch"))


def _batch_request(item: Mapping[str, Any] | BatchRequest, index: int) -> BatchRequest:
    if isinstance(item, BatchRequest):
        request = item
    else:
        try:
            request = BatchRequest(
                str(item["method"]).upper(),
                str(item["url"]),
                item.get("body"),
                dict(item.get("headers") or {}),
            )
        except (KeyError, TypeError):
            raise ValidationError(
                f"batch request {index + 1} needs a method and a url", field="requests", system="dynamics"
            ) from None
    url = request.url.lstrip("/")
    if url.startswith(("http://", "https://")) or not url:
        raise ValidationError(
            f"batch request {index + 1}: the url is relative to the service root",
            field="url",
            system="dynamics",
        )
    return BatchRequest(request.method.upper(), url, request.body, dict(request.headers), f"r{index + 1}")
