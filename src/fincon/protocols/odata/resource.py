"""The generic OData resource handler connectors subclass, one per canonical resource.

A subclass declares where the entities live and how they map::

    class Suppliers(ODataResource[Vendor]):
        name = "vendor"
        version = ODataVersion.V2
        service_path = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
        entity_set = "A_Supplier"
        key_fields = ("Supplier",)
        updated_field = "LastChangeDateTime"
        updated_field_type = "Edm.DateTimeOffset"
        mapper = SupplierMapper()

and gets ``list`` (server paging with a client-paging fallback, see
:mod:`~fincon.protocols.odata.paging`), ``get`` (key predicates, composite keys included),
``create`` (POST), ``update`` (V2 ``MERGE``, or ``PATCH``, optionally tunnelled through
``POST`` + ``X-HTTP-Method``; V4 ``PATCH``; ``If-Match`` with the entity's ETag when known,
``*`` otherwise) and ``delete``, all as flows on ``self.core.requestor``.

Listings split each page into :meth:`ODataResource.fetch_page` (the request, raw entities
and the next state) and :meth:`ODataResource.map_page` (entities to records), so a
prefetching listing (``prefetch = True`` on a subclass, or ``list(prefetch=True)``) maps
one page while the next one travels.

Hooks to override: :meth:`ODataResource.request_headers` (``Prefer``, vendor headers),
:meth:`ODataResource.prepare` (a flow run before every operation: Dynamics resolves its
company there), :meth:`ODataResource.prepare_write` (headers a write needs from a prior
call), :meth:`ODataResource.send_write` (how a write is sent: SAP refetches a refused CSRF
token there), :meth:`ODataResource.collection_path` (Dynamics company scoping
``companies({id})/vendors``), :meth:`ODataResource.key_values` (how a record id maps to key
values), :meth:`ODataResource.list_query`, :meth:`ODataResource.updated_since_value`,
:meth:`ODataResource.read_query`, :meth:`ODataResource.if_match` (which ETag a write sends),
:meth:`ODataResource.create_payload` / :meth:`ODataResource.update_payload`, and for creates
without idempotency keys :meth:`ODataResource.can_find_created` /
:meth:`ODataResource.find_created_entities` (look the record up after an ambiguous failure)
and :meth:`ODataResource.created_record` (what a create returns).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from fincon.core.flow import Flow
from fincon.core.mapping import Mapper, iter_payloads, map_payloads
from fincon.core.pagination import State
from fincon.core.resources import FetchedPage, ListQuery, ResourceHandler
from fincon.core.responses import parse_json
from fincon.core.transport import AuditInfo, Call
from fincon.errors import FinconError, ValidationError
from fincon.protocols.odata._version import ODataVersion
from fincon.protocols.odata.envelope import etag_of, unwrap_collection, unwrap_entity
from fincon.protocols.odata.paging import ODataPaging, resolve_next_link
from fincon.protocols.odata.query import Comparison, Expr, Query, key_predicate

if TYPE_CHECKING:
    import httpx

    from fincon.core.connector import ConnectorCore
    from fincon.models import Record

__all__ = ["ODataResource", "compose_id", "split_id"]

R = TypeVar("R", bound="Record")

ID_SEPARATOR = "/"


def compose_id(values: list[str] | tuple[str, ...]) -> str:
    """The record id of a composite key: parts joined by ``/`` (``%`` and ``/`` inside escaped).

    ``compose_id(("1010", "5100000001", "2026"))`` is ``"1010/5100000001/2026"``.
    """
    return ID_SEPARATOR.join(str(value).replace("%", "%25").replace("/", "%2F") for value in values)


def split_id(id: str, count: int, *, system: str | None = None) -> list[str]:
    """The key values of a composite id made by :func:`compose_id`.

    :raises ValidationError: when ``id`` does not have ``count`` parts.
    """
    parts = id.split(ID_SEPARATOR)
    if len(parts) != count:
        raise ValidationError(
            f"the id {id!r} should have {count} parts separated by {ID_SEPARATOR!r}",
            field="id",
            system=system,
        )
    return [part.replace("%2F", "/").replace("%2f", "/").replace("%25", "%") for part in parts]


class _EtagMemory:
    """The last ETag seen per entity URL (bounded LRU), for ``If-Match`` on writes."""

    def __init__(self, maxsize: int = 2048) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def remember(self, url: str, etag: str | None) -> None:
        if not etag:
            return
        with self._lock:
            self._items[url] = etag
            self._items.move_to_end(url)
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)

    def recall(self, url: str) -> str | None:
        with self._lock:
            return self._items.get(url)

    def forget(self, url: str) -> None:
        with self._lock:
            self._items.pop(url, None)


class ODataResource(ResourceHandler[R]):
    """CRUD over one OData entity set (see the module docs for what subclasses declare)."""

    version: ClassVar[ODataVersion] = ODataVersion.V4
    #: The service root below the connector's base URL (``/sap/opu/odata/sap/API_BUSINESS_PARTNER``).
    service_path: ClassVar[str] = ""
    entity_set: ClassVar[str] = ""
    #: Usually a class attribute; a subclass may set it per instance (a mapper that needs
    #: the connector, such as one with the company's currency).
    mapper: Mapper[Any]
    #: Key properties in key order; several make a composite key (ids from :func:`compose_id`).
    key_fields: ClassVar[tuple[str, ...]] = ("id",)
    #: Edm types of key properties (default: inferred from the value, a str is ``Edm.String``).
    key_types: ClassVar[Mapping[str, str]] = {}
    #: The property ``updated_since`` filters on, and its Edm type (V2 ``DateTime`` or ``DateTimeOffset``).
    updated_field: ClassVar[str | None] = None
    updated_field_type: ClassVar[str | None] = None
    #: Canonical filter name -> property compared with ``eq``.
    filter_fields: ClassVar[Mapping[str, str]] = {}
    #: Edm types of properties used in filters where the Python value does not say it
    #: (a GUID given as ``str`` is ``Edm.Guid``, not ``Edm.String``).
    property_types: ClassVar[Mapping[str, str]] = {}
    expand: ClassVar[tuple[str, ...]] = ()
    select: ClassVar[tuple[str, ...]] = ()
    #: Filters every listing carries (``F("SupplierAccountGroup") != "CPD"``).
    default_filters: ClassVar[tuple[Expr, ...]] = ()
    #: ``"auto"`` ($top/$skip windows, next-links followed) or ``"server"`` (next-links only).
    paging: ClassVar[str] = "auto"
    #: Ask V4 servers for ``odata.maxpagesize`` = the page size.
    prefer_max_page_size: ClassVar[bool] = True
    #: V4: send and accept Int64/Decimal as strings (``IEEE754Compatible=true``).
    ieee754_compatible: ClassVar[bool] = False
    #: The update verb: V2 ``MERGE`` (or ``PATCH``), V4 ``PATCH``. None picks the version's.
    update_method: ClassVar[str | None] = None
    #: Send updates as ``POST`` with ``X-HTTP-Method`` (for proxies that refuse MERGE/PATCH).
    method_tunnel: ClassVar[bool] = False
    #: Whether an update may be retried after an ambiguous failure: setting the same values
    #: twice changes nothing more (safe where the ETag or ``If-Match: *`` semantics allow it).
    idempotent_updates: ClassVar[bool] = False
    default_page_size = 100
    max_page_size = 1000

    def __init__(self, core: ConnectorCore) -> None:
        self.core = core
        self.requestor = core.requestor
        self.system = core.system
        self.strategy = ODataPaging(self.paging)
        self.mechanism = self.strategy.mechanism
        self.etags = _EtagMemory()

    @property
    def filter_names(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset(self.filter_fields)

    # -- hooks -----------------------------------------------------------------------------

    def collection_path(self) -> str:
        """The entity set's path below the base URL (override for company scoping)."""
        return f"{self.service_path.rstrip('/')}/{self.entity_set}"

    def request_headers(self, operation: str) -> dict[str, str]:
        """Headers for an operation (``list``, ``get``, ``create``, ``update``, ``delete``)."""
        accept = "application/json;IEEE754Compatible=true" if self.ieee754_compatible else "application/json"
        if self.version.is_v4:
            headers = {"Accept": accept, "OData-Version": "4.0", "OData-MaxVersion": "4.0"}
            if operation in ("create", "update"):
                headers["Prefer"] = "return=representation"
                headers["Content-Type"] = accept
            return headers
        return {"Accept": "application/json", "DataServiceVersion": "2.0", "MaxDataServiceVersion": "2.0"}

    def prepare(self, operation: str) -> Flow[None]:
        """A flow run before every operation (``list``, ``get``, ``create``, ``update``,
        ``delete``): learn what URLs or mapping need first. Nothing by default."""
        yield from ()

    def prepare_write(self) -> Flow[dict[str, str]]:
        """Headers a write needs from a prior call (SAP's ``X-CSRF-Token``); none by default."""
        yield from ()
        return {}

    def key_values(self, id: str) -> dict[str, Any]:
        """The key property values of the record ``id`` (composite ids split by :func:`split_id`)."""
        if len(self.key_fields) == 1:
            return {self.key_fields[0]: id}
        return dict(zip(self.key_fields, split_id(id, len(self.key_fields), system=self.system), strict=True))

    def list_query(self, query: ListQuery) -> Query:
        """The query of a listing before paging options (filters, select, expand)."""
        built = Query(self.version, entity_set=self.entity_set, system=self.system)
        if self.default_filters:
            built = built.filter(*self.default_filters)
        if query.updated_since is not None:
            if not self.updated_field:
                raise ValidationError(
                    f"{self.system} {self.name} cannot filter by updated_since",
                    field="updated_since",
                    system=self.system,
                )
            built = built.filter(
                Comparison(
                    self.updated_field,
                    "ge",
                    self.updated_since_value(query.updated_since),
                    self.updated_field_type,
                )
            )
        for name, value in query.filters.items():
            prop = self.filter_fields[name]
            built = built.filter(Comparison(prop, "eq", value, self.property_types.get(prop)))
        if self.select:
            built = built.select(*self.select)
        if self.expand:
            built = built.expand(*self.expand)
        return built

    def updated_since_value(self, since: datetime) -> Any:
        """The value ``updated_field`` is compared with (``ge``) for ``updated_since``.

        ``since`` unchanged by default; a field holding only a date (SAP ``LastChangeDate``)
        compares with the start of that day, or records changed earlier that day are missed.
        """
        return since

    def read_query(self) -> Query:
        """The query options of a single-entity read (``select``, ``expand``)."""
        built = Query(self.version, entity_set=self.entity_set, system=self.system)
        if self.select:
            built = built.select(*self.select)
        if self.expand:
            built = built.expand(*self.expand)
        return built

    def if_match(self, path: str, id: str) -> Flow[str]:
        """The ``If-Match`` of a write to the entity at ``path``: the ETag last seen, else ``*``."""
        yield from ()
        return self.etags.recall(path) or "*"

    def send_write(self, call: Call) -> Flow[httpx.Response]:
        """Send a create, update or delete; by default straight through the requestor.

        Override to wrap writes (SAP refetches a CSRF token the server refused and sends again).
        """
        return (yield from self.requestor.call(call))

    def can_find_created(self, record: R) -> bool:
        """Whether :meth:`find_created_entities` can tell if ``record`` was created (a unique
        field is set). Only then is a create that failed ambiguously looked up and, if
        absent, sent again. False by default (nothing is retried without an idempotency key)."""
        return False

    def find_created_entities(self, record: R, payload: Mapping[str, Any]) -> Flow[list[dict[str, Any]]]:
        """The stored entities that ``record`` (sent as ``payload``) would have created."""
        yield from ()
        return []

    def created_record(self, entity: dict[str, Any]) -> Flow[R]:
        """The record a create returns for the stored ``entity`` (override to read it back)."""
        yield from ()
        return self._map([entity])[0]

    # -- URLs ------------------------------------------------------------------------------

    def entity_url(self, id: str) -> str:
        """The path of one entity: the collection path and its key predicate."""
        types: dict[str, str] = {name: self.key_types.get(name, "Edm.String") for name in self.key_fields}
        values = self.key_values(id)
        return self.collection_path() + key_predicate(types, values, self.version, system=self.system)

    def _with_query(self, path: str, query: Query) -> str:
        text = query.to_query_string()
        return f"{path}?{text}" if text else path

    # -- operations ------------------------------------------------------------------------

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[R], State | None]]:
        if type(self).fetch_page is ODataResource.fetch_page:
            page = yield from self._fetch_own_page(query, state)
        else:
            page = yield from self.fetch_page(query, state)  # a subclass shapes its own pages
        return self.map_page(query, page), page.next_state

    def fetch_page(self, query: ListQuery, state: State | None) -> Flow[FetchedPage]:
        """The raw entities of the page at ``state`` and the next state, unmapped.

        A subclass that pages its own way overrides this (raw payloads in, :meth:`map_page`
        maps them); one that overrides only :meth:`list_page` is fetched (and prefetched)
        through it, mapped.
        """
        if type(self).list_page is not ODataResource.list_page:
            return (yield from super().fetch_page(query, state))
        return (yield from self._fetch_own_page(query, state))

    def map_page(self, query: ListQuery, page: FetchedPage) -> list[R]:
        """The records of a fetched page (its payloads mapped by :attr:`mapper`)."""
        if page.mapped:
            return list(page.items)
        return self._map(list(page.items))

    def iter_page(self, query: ListQuery, page: FetchedPage) -> Iterator[R]:
        """The records of a fetched page, each mapped when the listing reaches it."""
        if page.mapped:
            return iter(page.items)
        return iter_payloads(self.mapper, page.items, system=self.system, resource=self.name, drain=True)

    def _fetch_own_page(self, query: ListQuery, state: State | None) -> Flow[FetchedPage]:
        entities, next_state = yield from self.fetch_entities(query, state)
        return FetchedPage(entities, next_state)

    def fetch_entities(
        self, query: ListQuery, state: State | None
    ) -> Flow[tuple[list[dict[str, Any]], State | None]]:
        """The raw entities of the page at ``state`` and the next state (no mapping)."""
        yield from self.prepare("list")
        headers = self.request_headers("list")
        if self.version.is_v4 and self.prefer_max_page_size:
            headers["Prefer"] = f"odata.maxpagesize={query.page_size}"
        if self.strategy.follows_link(state):
            assert state is not None
            url = resolve_next_link(
                str(state["next"]), self.requestor.origin, self.requestor.origin, system=self.system
            )
        else:
            built = self.list_query(query)
            window = self.strategy.params(state, self.strategy.window_size(state, query.page_size))
            if "$top" in window:
                built = built.top(int(window["$top"]))
                if "$skip" in window:
                    built = built.skip(int(window["$skip"]))
                if not built.ordering:
                    # $skip over an unordered collection may repeat or drop entities.
                    built = built.orderby(*self.key_fields)
            url = self._with_query(self.collection_path(), built)
        response = yield from self.requestor.call(
            Call("GET", url, headers=headers, audit=AuditInfo("read", self.name))
        )
        page = unwrap_collection(parse_json(response, system=self.system), self.version, system=self.system)
        next_link = None
        if page.next_link:
            next_link = resolve_next_link(
                page.next_link,
                _url_of(response, self.requestor.resolve(url)),
                self.requestor.origin,
                system=self.system,
            )
        next_state = self.strategy.after(
            state, page, page_size=query.page_size, absolute_next=next_link, system=self.system
        )
        return page.items, next_state

    def get(self, id: str) -> Flow[R]:
        entity = yield from self.entity_flow(id)
        return self._map([entity])[0]

    def entity_flow(self, id: str) -> Flow[dict[str, Any]]:
        """The raw entity ``id`` as the service stores it now (its ETag remembered)."""
        yield from self.prepare("get")
        path = self.entity_url(id)
        response = yield from self.requestor.call(
            Call(
                "GET",
                self._with_query(path, self.read_query()),
                headers=self.request_headers("get"),
                audit=AuditInfo("read", self.name, record_id=id),
            )
        )
        entity = unwrap_entity(parse_json(response, system=self.system), self.version, system=self.system)
        self.etags.remember(path, etag_of(entity, self.version) or response.headers.get("etag"))
        return entity

    def create_payload(self, record: R) -> dict[str, Any]:
        """The body of a create: the mapper's payload (bad values are a ``ValidationError``)."""
        return self._payload(lambda: self.mapper.to_payload(record))

    def update_payload(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The body of an update (bad values are a ``ValidationError``)."""
        return self._payload(lambda: self.mapper.changes_payload(changes))

    def create(self, record: R, idempotency_key: str | None) -> Flow[R]:
        yield from self.prepare("create")
        payload = self.create_payload(record)
        extra = yield from self.prepare_write()
        amount, currency = _amount_of(record)
        recovered: list[dict[str, Any]] = []

        def prove_not_applied(error: FinconError) -> Flow[bool]:
            # OData has no idempotency keys: after an ambiguous failure, look for the record.
            # One match is the create that happened; none proves it did not (send it again);
            # several cannot tell, so the failure is raised.
            matches = yield from self.find_created_entities(record, payload)
            if len(matches) == 1:
                recovered.append(matches[0])
                return False
            return not matches

        try:
            response = yield from self.send_write(
                Call(
                    "POST",
                    self.collection_path(),
                    json=payload,
                    headers={**self.request_headers("create"), **extra},
                    idempotency_key=idempotency_key,
                    audit=AuditInfo(
                        "create", self.name, record_id=record.id, amount=amount, currency=currency
                    ),
                    prove_not_applied=prove_not_applied if self.can_find_created(record) else None,
                )
            )
        except FinconError:
            if recovered:
                return (yield from self.created_record(recovered[0]))
            raise
        entity = unwrap_entity(parse_json(response, system=self.system), self.version, system=self.system)
        return (yield from self.created_record(entity))

    def update(self, id: str, changes: Mapping[str, Any], idempotency_key: str | None) -> Flow[R]:
        yield from self.prepare("update")
        payload = self.update_payload(changes)
        path = self.entity_url(id)
        response = yield from self.send_update(id, payload, idempotency_key=idempotency_key)
        if response.status_code != 204 and response.content.strip():
            return self._one(path, response)
        # V2 answers 204 No Content: read the entity back as stored.
        return (yield from self.get(id))

    def send_update(
        self,
        id: str,
        payload: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        action: str = "update",
    ) -> Flow[httpx.Response]:
        """Send ``payload`` as a partial update (``MERGE``/``PATCH``) of the entity ``id``.

        ``action`` names the audit event (SAP blocks a business partner with an update that
        is audited as a ``delete``).
        """
        path = self.entity_url(id)
        extra = yield from self.prepare_write()
        method = self.update_method or ("PATCH" if self.version.is_v4 else "MERGE")
        etag = yield from self.if_match(path, id)
        headers = {**self.request_headers("update"), **extra, "If-Match": etag}
        if self.method_tunnel:
            headers["X-HTTP-Method"] = method
            method = "POST"
        response = yield from self.send_write(
            Call(
                method,
                path,
                json=dict(payload),
                headers=headers,
                idempotent=True if self.idempotent_updates else None,
                idempotency_key=idempotency_key,
                audit=AuditInfo(action, self.name, record_id=id),
            )
        )
        self.etags.forget(path)
        return response

    def delete(self, id: str) -> Flow[None]:
        yield from self.prepare("delete")
        path = self.entity_url(id)
        extra = yield from self.prepare_write()
        etag = yield from self.if_match(path, id)
        headers = {**self.request_headers("delete"), **extra, "If-Match": etag}
        yield from self.send_write(
            Call("DELETE", path, headers=headers, audit=AuditInfo("delete", self.name, record_id=id))
        )
        self.etags.forget(path)

    # -- helpers ---------------------------------------------------------------------------

    def _payload(self, build: Any) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = build()
        except FinconError:
            raise
        except (TypeError, ValueError) as exc:
            # Raised before anything is sent: the record cannot be written to this system.
            raise ValidationError(str(exc), field=self.name, system=self.system) from None
        return payload

    def _map(self, entities: list[dict[str, Any]]) -> list[R]:
        return map_payloads(self.mapper, entities, system=self.system, resource=self.name)

    def _one(self, path: str, response: httpx.Response) -> R:
        entity = unwrap_entity(parse_json(response, system=self.system), self.version, system=self.system)
        self.etags.remember(path, etag_of(entity, self.version) or response.headers.get("etag"))
        return self._map([entity])[0]


def _url_of(response: Any, fallback: str) -> str:
    try:
        return str(response.request.url)
    except RuntimeError:  # a response built without a request
        return fallback


def _amount_of(record: Any) -> tuple[Any, str | None]:
    for name in ("total", "amount"):
        money = getattr(record, name, None)
        if money is not None and hasattr(money, "currency"):
            return money.amount, money.currency
    return None, None
