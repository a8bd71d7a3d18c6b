"""Dynamics 365 extras (``connector.native``): bound actions, raw OData queries, JSON ``$batch``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fincon.core.flow import Flow
from fincon.core.pagination import NextLinkPagination
from fincon.core.responses import parse_json
from fincon.core.transport import AuditInfo, Call
from fincon.errors import ValidationError

if TYPE_CHECKING:
    from fincon.connectors.dynamics.connector import DynamicsConnector

__all__ = ["DynamicsNative"]

_POSTABLE = {"bill": "purchaseInvoices", "invoice": "salesInvoices"}


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
        url = yield from handler.item_path(id)
        yield from self._core.requestor.call(
            Call("POST", f"{url}/Microsoft.NAV.post", audit=AuditInfo("post", resource, record_id=id))
        )
        return (yield from handler.get(id))

    def query(self, path: str, params: Mapping[str, str] | None = None, *, page_size: int = 100) -> Any:
        """The raw entities of ``path`` (relative to the service root, e.g.
        ``companies(<id>)/items``), following ``@odata.nextLink``; a list (sync)."""
        return self._run(self._query_flow(path, dict(params or {}), page_size))

    def _query_flow(self, path: str, params: dict[str, str], page_size: int) -> Flow[list[Any]]:
        rows: list[Any] = []
        url: str | None = "/" + path.lstrip("/")
        seen: set[str] = set()
        while url is not None:
            response = yield from self._core.requestor.call(
                Call("GET", url, params=params or None, headers={"Prefer": f"odata.maxpagesize={page_size}"})
            )
            body = parse_json(response, system="dynamics")
            rows.extend(body.get("value") or [])
            link = body.get("@odata.nextLink")
            params = {}
            if not link or link in seen:
                break
            seen.add(link)
            url = NextLinkPagination.link_for({"url": link}, self._core.requestor.origin, system="dynamics")
        return rows

    def batch(self, requests: Sequence[Mapping[str, Any]]) -> Any:
        """Send up to 100 requests in one OData V4 JSON ``$batch`` (``{"method", "url", "body"}``
        each, urls relative to the service root); returns the ``responses`` list in order."""
        return self._run(self._batch_flow(list(requests)))

    def _batch_flow(self, requests: list[Mapping[str, Any]]) -> Flow[list[Any]]:
        if not 1 <= len(requests) <= 100:
            raise ValidationError("a batch holds 1 to 100 requests", field="requests", system="dynamics")
        body = {
            "requests": [
                {
                    "id": str(index + 1),
                    "method": str(item["method"]).upper(),
                    "url": str(item["url"]).lstrip("/"),
                    "headers": {"Content-Type": "application/json", **dict(item.get("headers") or {})},
                    **({"body": item["body"]} if item.get("body") is not None else {}),
                }
                for index, item in enumerate(requests)
            ]
        }
        # A batch of writes is not idempotent and carries no key: it is sent once.
        response = yield from self._core.requestor.call(Call("POST", "/$batch", json=body, idempotent=False))
        answers = parse_json(response, system="dynamics").get("responses") or []
        order = {str(index + 1): index for index in range(len(requests))}
        return sorted(answers, key=lambda answer: order.get(str(answer.get("id")), len(order)))

    def __iter__(self) -> Iterator[str]:
        return iter(("post", "query", "batch"))
