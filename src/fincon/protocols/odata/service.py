"""Ad-hoc queries on an OData service, for a connector's ``native`` surface.

::

    svc = ODataService(core.requestor, "/sap/opu/odata/sap/API_BUSINESS_PARTNER", ODataVersion.V2,
                       run=connector.run)
    for supplier in svc.entity_set("A_Supplier").filter(F("Country") == "DE").top(10):
        ...                                         # raw entities (dicts, numbers as Decimal)
    svc.entity_set("A_Supplier").get("1000")        # one entity by key
    svc.entity_set("A_Supplier").total()            # GET .../A_Supplier/$count
    svc.metadata()                                  # parsed $metadata, cached per service URL

Everything goes through the connector's requestor (auth, retries, limits, audit). The same
objects work for async connectors: ``run`` then returns awaitables, and ``async for`` /
``await`` are used instead (:meth:`EntitySetQuery.__aiter__`, ``await q.get(...)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fincon.core.flow import Flow
from fincon.core.responses import parse_json
from fincon.core.transport import AuditInfo, Call, Requestor
from fincon.errors import PaginationError, ServerError
from fincon.protocols.odata._version import ODataVersion
from fincon.protocols.odata.envelope import ODataPage, unwrap_collection, unwrap_entity
from fincon.protocols.odata.metadata import MetadataCache, ServiceMetadata, parse_metadata
from fincon.protocols.odata.paging import resolve_next_link
from fincon.protocols.odata.query import Expr, Query, key_predicate

__all__ = ["EntitySetQuery", "ODataService"]

#: A process-wide default cache, so connectors of the same service share one parse.
DEFAULT_METADATA_CACHE = MetadataCache()
#: Next-links followed by one listing before it is stopped as runaway.
MAX_PAGES = 100_000


class ODataService:
    """One OData service root reached through a connector's requestor."""

    def __init__(
        self,
        requestor: Requestor,
        service_path: str,
        version: ODataVersion,
        *,
        run: Callable[[Flow[Any]], Any],
        headers: Mapping[str, str] | None = None,
        metadata_cache: MetadataCache | None = None,
    ) -> None:
        self.requestor = requestor
        self.service_path = service_path.rstrip("/")
        self.version = version
        self.run = run
        self.system = requestor.system
        self.headers = dict(headers or {})
        self.cache = metadata_cache or DEFAULT_METADATA_CACHE

    def __repr__(self) -> str:
        return f"<ODataService {self.system} {self.service_path} {self.version.name}>"

    def base_headers(self) -> dict[str, str]:
        """Version headers plus the connector's own."""
        if self.version.is_v4:
            version = {"OData-Version": "4.0", "OData-MaxVersion": "4.0"}
        else:
            version = {"DataServiceVersion": "2.0", "MaxDataServiceVersion": "2.0"}
        return {"Accept": "application/json", **version, **self.headers}

    # -- metadata ----------------------------------------------------------------------------

    def metadata_flow(self) -> Flow[ServiceMetadata]:
        """Fetch and parse ``$metadata`` once per service URL (then from the cache)."""
        key = self.requestor.resolve(self.service_path + "/")
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        response = yield from self.requestor.call(
            Call(
                "GET",
                f"{self.service_path}/$metadata",
                headers={**self.base_headers(), "Accept": "application/xml"},
                audit=AuditInfo("read", "$metadata"),
            )
        )
        parsed = parse_metadata(response.content, source=key, system=self.system)
        self.cache.put(key, parsed)
        return parsed

    def metadata(self) -> Any:
        """The parsed ``$metadata`` (awaitable on async connectors)."""
        return self.run(self.metadata_flow())

    def entity_set(self, name: str) -> EntitySetQuery:
        """A query on the entity set ``name``."""
        return EntitySetQuery(self, name, Query(self.version, entity_set=name, system=self.system))


@dataclass(frozen=True, slots=True)
class EntitySetQuery:
    """An immutable query on one entity set; iterate it for entities."""

    service: ODataService
    name: str
    query: Query

    def _with(self, query: Query) -> EntitySetQuery:
        return dataclasses.replace(self, query=query)

    def filter(self, *expressions: Expr, **equals: Any) -> EntitySetQuery:
        """See :meth:`Query.filter`."""
        return self._with(self.query.filter(*expressions, **equals))

    def select(self, *names: str) -> EntitySetQuery:
        """See :meth:`Query.select`."""
        return self._with(self.query.select(*names))

    def expand(self, *paths: str) -> EntitySetQuery:
        """See :meth:`Query.expand`."""
        return self._with(self.query.expand(*paths))

    def orderby(self, *items: str) -> EntitySetQuery:
        """See :meth:`Query.orderby`."""
        return self._with(self.query.orderby(*items))

    def top(self, n: int) -> EntitySetQuery:
        """See :meth:`Query.top`."""
        return self._with(self.query.top(n))

    def skip(self, n: int) -> EntitySetQuery:
        """See :meth:`Query.skip`."""
        return self._with(self.query.skip(n))

    def count(self, enabled: bool = True) -> EntitySetQuery:
        """See :meth:`Query.count` (the count is on each :class:`ODataPage`)."""
        return self._with(self.query.count(enabled))

    def search(self, text: str) -> EntitySetQuery:
        """See :meth:`Query.search`."""
        return self._with(self.query.search(text))

    def option(self, name: str, value: str) -> EntitySetQuery:
        """See :meth:`Query.option`."""
        return self._with(self.query.option(name, value))

    @property
    def path(self) -> str:
        """The entity set's path below the base URL."""
        return f"{self.service.service_path}/{self.name}"

    def url(self) -> str:
        """The first page's path and query string."""
        text = self.query.to_query_string()
        return f"{self.path}?{text}" if text else self.path

    # -- flows -------------------------------------------------------------------------------

    def page_flow(self, link: str | None = None) -> Flow[ODataPage]:
        """One page: the first (``link`` None) or the one at an absolute next-link.

        The page's ``next_link`` is returned absolute and checked to be on the same origin.
        """
        requestor = self.service.requestor
        url = self.url() if link is None else resolve_next_link(link, requestor.origin, requestor.origin)
        response = yield from requestor.call(
            Call("GET", url, headers=self.service.base_headers(), audit=AuditInfo("read", self.name))
        )
        page = unwrap_collection(
            parse_json(response, system=self.service.system), self.service.version, system=self.service.system
        )
        if page.next_link:
            absolute = resolve_next_link(
                page.next_link, requestor.resolve(url), requestor.origin, system=self.service.system
            )
            page = dataclasses.replace(page, next_link=absolute)
        return page

    def get_flow(self, key: Any) -> Flow[dict[str, Any]]:
        """One entity by key (a value, or a mapping for composite keys)."""
        metadata = yield from self.service.metadata_flow()
        entity_type = metadata.entity_type_of(self.name)
        predicate = key_predicate(entity_type, key, self.service.version, system=self.service.system)
        text = (
            Query(self.service.version)
            .select(*self.query.selected)
            .expand(*self.query.expanded)
            .to_query_string()
        )
        url = f"{self.path}{predicate}" + (f"?{text}" if text else "")
        response = yield from self.service.requestor.call(
            Call("GET", url, headers=self.service.base_headers(), audit=AuditInfo("read", self.name))
        )
        return unwrap_entity(
            parse_json(response, system=self.service.system), self.service.version, system=self.service.system
        )

    def total_flow(self) -> Flow[int]:
        """The number of entities matching the filter (``GET .../$count``)."""
        text = dataclasses.replace(
            self.query, selected=(), expanded=(), ordering=(), limit=None, offset=None, with_count=False
        ).to_query_string()
        url = f"{self.path}/$count" + (f"?{text}" if text else "")
        response = yield from self.service.requestor.call(
            Call(
                "GET",
                url,
                headers={**self.service.base_headers(), "Accept": "text/plain"},
                audit=AuditInfo("read", self.name),
            )
        )
        text_body = response.text.strip()
        if not text_body.isdigit():
            raise ServerError(
                f"the $count of {self.name} is not a number",
                system=self.service.system,
                code="malformed_response",
            )
        return int(text_body)

    # -- running -----------------------------------------------------------------------------

    def get(self, key: Any) -> Any:
        """One entity by key (awaitable on async connectors)."""
        return self.service.run(self.get_flow(key))

    def total(self) -> Any:
        """The ``$count`` (awaitable on async connectors)."""
        return self.service.run(self.total_flow())

    def pages(self) -> Iterator[ODataPage]:
        """Pages following next-links (sync connectors)."""
        link: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page: ODataPage = self.service.run(self.page_flow(link))
            yield page
            link = page.next_link
            if link is None:
                return
            _guard(link, seen, self.service.system)
        raise PaginationError(f"stopped after {MAX_PAGES} pages of {self.name}", system=self.service.system)

    async def apages(self) -> AsyncIterator[ODataPage]:
        """Pages following next-links (async connectors)."""
        link: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page: ODataPage = await self.service.run(self.page_flow(link))
            yield page
            link = page.next_link
            if link is None:
                return
            _guard(link, seen, self.service.system)
        raise PaginationError(f"stopped after {MAX_PAGES} pages of {self.name}", system=self.service.system)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for page in self.pages():
            yield from page.items

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async for page in self.apages():
            for item in page.items:
                yield item

    def to_list(self) -> list[dict[str, Any]]:
        """Every matching entity (sync connectors; mind the size, or iterate instead)."""
        return list(iter(self))


def _guard(link: str, seen: set[str], system: str | None) -> None:
    if link in seen:
        raise PaginationError("the server's next-links went round in a cycle", system=system)
    seen.add(link)
