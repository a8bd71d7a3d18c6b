"""A ready handler for JSON REST resources: collection path, item path, a paging strategy.

Connectors for JSON systems declare a subclass per resource with class attributes and
usually need no code of their own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import quote

from fincon.core.flow import Flow
from fincon.core.mapping import Mapper, iter_payloads, map_payloads
from fincon.core.pagination import CursorPagination, NextLinkPagination, PaginationStrategy, State
from fincon.core.resources import FetchedPage, ListQuery, ResourceHandler
from fincon.core.responses import parse_json
from fincon.core.transport import AuditInfo, Call
from fincon.errors import ServerError

if TYPE_CHECKING:
    from fincon.core.connector import ConnectorCore
    from fincon.models import Record

__all__ = ["RestResource"]

R = TypeVar("R", bound="Record")


class RestResource(ResourceHandler[R]):
    """CRUD over ``GET/POST {path}`` and ``GET/PATCH/DELETE {path}/{id}``.

    Subclasses set :attr:`name`, :attr:`path` and :attr:`mapper`, and adjust the rest. An
    operation the system cannot do goes in :attr:`unsupported`: it leaves the capabilities
    and raises :class:`~fincon.errors.Unsupported` before anything is sent.
    """

    path: ClassVar[str] = ""
    mapper: ClassVar[Mapper[Any]]
    strategy: ClassVar[PaginationStrategy] = CursorPagination()
    #: Where the records are in a list response (a key path).
    items_path: ClassVar[tuple[str, ...]] = ("data",)
    #: Query parameter for incremental reads, and how datetimes are written in it.
    updated_since_param: ClassVar[str | None] = None
    #: Canonical filter name -> query parameter.
    filter_params: ClassVar[Mapping[str, str]] = {}
    update_method: ClassVar[str] = "PATCH"

    def __init__(self, core: ConnectorCore) -> None:
        self.core = core
        self.requestor = core.requestor
        self.system = core.system
        self.mechanism = self.strategy.mechanism

    @property
    def filter_names(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset(self.filter_params)

    def format_datetime(self, value: datetime) -> str:
        """How :attr:`updated_since_param` values are written (ISO 8601 by default)."""
        return value.isoformat()

    def item_url(self, id: str) -> str:
        return f"{self.path}/{quote(id, safe='')}"

    def items_of(self, body: Any) -> list[Any]:
        node = body
        for key in self.items_path:
            node = node.get(key) if isinstance(node, Mapping) else None
        if not isinstance(node, list):
            raise ServerError(
                f"a {self.name} listing from {self.system} has no list at {'.'.join(self.items_path)}",
                system=self.system,
                code="malformed_response",
                retryable=False,
            )
        return node

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[R], State | None]]:
        body, payloads = yield from self._fetch_raw(query, state)
        records = map_payloads(self.mapper, payloads, system=self.system, resource=self.name)
        return records, self.strategy.next_state(state, body, payloads)

    def fetch_page(self, query: ListQuery, state: State | None) -> Flow[FetchedPage]:
        """The page's payloads and next state, unmapped (so a prefetching listing maps it apart)."""
        if type(self).list_page is not RestResource.list_page:
            # A subclass pages its own way: its (mapped) list_page is the page.
            return (yield from super().fetch_page(query, state))
        body, payloads = yield from self._fetch_raw(query, state)
        return FetchedPage(payloads, self.strategy.next_state(state, body, payloads))

    def map_page(self, query: ListQuery, page: FetchedPage) -> list[R]:
        if page.mapped:
            return list(page.items)
        return map_payloads(self.mapper, page.items, system=self.system, resource=self.name)

    def iter_page(self, query: ListQuery, page: FetchedPage) -> Iterator[R]:
        if page.mapped:
            return iter(page.items)
        return iter_payloads(self.mapper, page.items, system=self.system, resource=self.name, drain=True)

    def _fetch_raw(self, query: ListQuery, state: State | None) -> Flow[tuple[Any, list[Any]]]:
        """One page's parsed body and its payloads."""
        if state is not None and isinstance(self.strategy, NextLinkPagination):
            url, params = NextLinkPagination.link_for(state, self.requestor.origin, system=self.system), None
        else:
            url = self.path
            params = dict(self.strategy.params(state, query.page_size))
            if query.updated_since is not None and self.updated_since_param:
                params[self.updated_since_param] = self.format_datetime(query.updated_since)
            for name, value in query.filters.items():
                params[self.filter_params[name]] = value
        response = yield from self.requestor.call(
            Call("GET", url, params=params, audit=AuditInfo("read", self.name))
        )
        body = parse_json(response, system=self.system)
        return body, self.items_of(body)

    def get(self, id: str) -> Flow[R]:
        response = yield from self.requestor.call(
            Call("GET", self.item_url(id), audit=AuditInfo("read", self.name, record_id=id))
        )
        return self._one(response)

    def create(self, record: R, idempotency_key: str | None) -> Flow[R]:
        amount, currency = _amount_of(record)
        response = yield from self.requestor.call(
            Call(
                "POST",
                self.path,
                json=self.mapper.to_payload(record),
                idempotency_key=idempotency_key,
                audit=AuditInfo("create", self.name, record_id=record.id, amount=amount, currency=currency),
            )
        )
        return self._one(response)

    def update(self, id: str, changes: Mapping[str, Any], idempotency_key: str | None) -> Flow[R]:
        response = yield from self.requestor.call(
            Call(
                self.update_method,
                self.item_url(id),
                json=self.mapper.changes_payload(changes),
                idempotency_key=idempotency_key,
                audit=AuditInfo("update", self.name, record_id=id),
            )
        )
        return self._one(response)

    def delete(self, id: str) -> Flow[None]:
        yield from self.requestor.call(
            Call("DELETE", self.item_url(id), audit=AuditInfo("delete", self.name, record_id=id))
        )

    def _one(self, response: Any) -> R:
        body = parse_json(response, system=self.system)
        record: R = map_payloads(self.mapper, [body], system=self.system, resource=self.name)[0]
        return record


def _amount_of(record: Any) -> tuple[Any, str | None]:
    """The amount an audit event should show for a record (its total or amount), if any."""
    for name in ("total", "amount"):
        money = getattr(record, name, None)
        if money is not None and hasattr(money, "currency"):
            return money.amount, money.currency
    return None, None
