"""One OData service, driven by its ``$metadata``: reads, queries, paging and writes, V2 and V4.

The service knows OData and nothing about any vendor: authentication, CSRF tokens, message
headers and extra error details are the emulator's (see :class:`ODataEmulator`).

- resource paths: the service document, ``$metadata``, ``Set``, ``Set(key)``, then any number
  of navigation steps (``companies(1)/purchaseInvoices(2)/purchaseInvoiceLines``, joined by
  referential constraints: see :mod:`._paths`), ``/$count``, and V4 bound actions
  (``.../Microsoft.NAV.post``, run by handlers the emulator registers with :meth:`bind_action`);
  keys as ``('A')`` or ``(K1='A',K2='B')``;
- query options: ``$filter $orderby $top $skip $skiptoken $select $expand $format``, V2
  ``$inlinecount=allpages``, V4 ``$count=true`` and nested ``$expand`` options
  (``lines($expand=dimensions;$select=id)``); unknown ``$``-options are a 400, and so is a
  ``$filter`` comparing a property with a literal of another type;
- server-driven paging: at most ``max_page_size`` entities a page (V4 also honours
  ``Prefer: odata.maxpagesize``), continued by a next link with a ``$skiptoken``;
- writes: ``POST`` (deep insert through navigation properties, children joined to their parent
  by the referential constraints), ``PUT``, ``PATCH``, V2 ``MERGE`` (also as ``POST`` with
  ``X-HTTP-Method``), ``DELETE``; ``If-Match`` against the ETag (``require_if_match``: 428
  without one); V4 ``Prefer: return=representation`` / ``return=minimal``; V4 ``Capabilities``
  annotations (``Insertable``, ``Updatable``, ``Deletable``) honoured; bodies are checked
  against the metadata (unknown properties, types, enum members, ``MaxLength``); what the
  vendor's server computes comes from :class:`WriteHooks`;
- V4 JSON ``$batch`` with atomicity groups (see :mod:`._batch`).
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote

import httpx

from fincon.core.jsonenc import dumps as exact_dumps
from fincon.sandbox._store import Record
from fincon.sandbox.odata._batch import run_json_batch
from fincon.sandbox.odata._edm import (
    decoder_for,
    encoder_for,
    format_key_literal,
    parse_literal,
    same_value,
)
from fincon.sandbox.odata._errors import ODataError
from fincon.sandbox.odata._expand import ExpandItem, parse_expand, parse_select
from fincon.sandbox.odata._filter import FilterError, Predicate, compile_filter
from fincon.sandbox.odata._hooks import ActionHandler, WriteHooks
from fincon.sandbox.odata._paths import Target, join_values, resolve, split_path
from fincon.sandbox.odata._schema import EntitySetSchema, EntityTypeSchema, Navigation, ServiceSchema
from fincon.sandbox.odata._store import Entity, EntityStore

__all__ = ["ODataService", "RequestContext"]

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_WRITES = frozenset({"PUT", "PATCH", "MERGE", "DELETE"})
_ZERO: dict[str, Any] = {
    "Edm.String": "",
    "Edm.Guid": "00000000-0000-0000-0000-000000000000",
    "Edm.Boolean": False,
    "Edm.Byte": 0,
    "Edm.SByte": 0,
    "Edm.Int16": 0,
    "Edm.Int32": 0,
    "Edm.Int64": 0,
    "Edm.Decimal": Decimal(0),
    "Edm.Double": Decimal(0),
    "Edm.Single": Decimal(0),
}
_V2_OPTIONS = frozenset(
    {"$filter", "$orderby", "$top", "$skip", "$skiptoken", "$select", "$expand", "$format", "$inlinecount"}
)
_V4_OPTIONS = frozenset(
    {
        "$filter",
        "$orderby",
        "$top",
        "$skip",
        "$skiptoken",
        "$select",
        "$expand",
        "$format",
        "$count",
        "$search",
    }
)
_KEY_SAFE = "'=,"
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.\-'=,]*\Z")  # what quote(..., safe=_KEY_SAFE) leaves as it is
_MAX_PAGE = re.compile(r"odata\.maxpagesize=(\d+)")
# Where a collection's serialised entities go in its encoded envelope (see ODataService.json).
_ENTITIES = ["\x00fincon-entities\x00"]
_ENTITIES_JSON = json.dumps(_ENTITIES).encode()


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What serialisation needs to know about the request being answered."""

    origin: str
    v4: bool
    ieee754: bool

    def encode(self, data: Any) -> bytes:
        # V4 decimals are JSON numbers with their exact digits, which json cannot write;
        # V2 writes them as strings, so the fast C encoder is exact there.
        if self.v4 and not self.ieee754:
            return exact_dumps(data)
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class _Shape:
    """An entity type's serialisation plan: property names in metadata order, the properties
    whose stored values need converting, and the navigation properties."""

    names: tuple[str, ...]
    converted: tuple[tuple[str, Callable[[Any], Any]], ...]
    navigation: tuple[tuple[str, Navigation], ...]


def _split_key(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


class ODataService:
    """An OData service at ``root`` (a path such as ``/sap/opu/odata/sap/API_BUSINESS_PARTNER``).

    :param schema: the parsed ``$metadata``.
    :param max_page_size: server-driven paging: the most entities one response holds.
    :param fragment_cache: how many serialised entities to keep (unchanged entities are served
        from it, so big listings measure clients rather than the emulator); 0 turns it off.

    Vendor behaviour is set on the instance: :attr:`hooks` (server-side logic of writes),
    :meth:`bind_action`, :attr:`require_if_match`, :attr:`honour_ieee754`,
    :attr:`extra_options`, :attr:`max_batch_requests`.
    """

    def __init__(
        self, root: str, schema: ServiceSchema, *, max_page_size: int = 1000, fragment_cache: int = 0
    ) -> None:
        self.root = "/" + root.strip("/")
        self.schema = schema
        self.v4 = schema.is_v4
        self.max_page_size = max_page_size
        self.stores: dict[str, EntityStore] = {
            name: EntityStore(entity_set) for name, entity_set in schema.entity_sets.items()
        }
        self._encoders: dict[tuple[str, bool], list[tuple[str, Callable[[Any], Any]]]] = {}
        self._shapes: dict[tuple[str, bool], _Shape] = {}
        self._decoders: dict[str, dict[str, Callable[[Any], Any]]] = {}
        self._fragments: OrderedDict[tuple[Any, ...], tuple[int, bytes]] = OrderedDict()
        #: How many serialised entities the fragment cache keeps (0: off).
        self.fragment_limit = fragment_cache
        self._skip_memo: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        #: Asked once per collection page with the entity set's name and whether the request
        #: continues a listing ($skip or $skiptoken); True answers with a deliberate paging bug:
        #: an empty page whose next link is the request itself (a cursor cycle, for tests).
        self.cycle: Callable[[str, bool], bool] | None = None
        #: The vendor's server-side logic of writes (computed properties, refusals).
        self.hooks = WriteHooks()
        #: PATCH, PUT, MERGE and DELETE without ``If-Match`` are refused with 428 (as BC does).
        self.require_if_match = False
        #: Whether ``IEEE754Compatible=true`` turns Int64 and Decimal values into strings (V4).
        self.honour_ieee754 = True
        #: Vendor query options accepted besides the standard ones (``$schemaversion``).
        self.extra_options: frozenset[str] = frozenset()
        #: The most requests one ``$batch`` may hold (None: no limit).
        self.max_batch_requests: int | None = None
        #: Runs one request of a ``$batch`` through the emulator (set by ``ODataEmulator``).
        self.subrequest: Callable[[httpx.Request], httpx.Response] | None = None
        self._actions: dict[tuple[str, str], ActionHandler] = {}
        self._journal: list[Callable[[], None]] | None = None
        self._filter_types: dict[str, dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"<ODataService {self.root} V{self.schema.version} {len(self.stores)} entity sets>"

    # -- setup -----------------------------------------------------------------------------------

    def seed(self, entity_set: str, **options: Any) -> EntityStore:
        """Replace ``entity_set``'s store with one built from ``options`` (see :class:`EntityStore`)."""
        store = EntityStore(self.entity_set(entity_set), **options)
        self.stores[entity_set] = store
        return store

    def store(self, entity_set: str) -> EntityStore:
        """The entities of ``entity_set``."""
        self.entity_set(entity_set)
        return self.stores[entity_set]

    def entity_set(self, name: str) -> EntitySetSchema:
        """The entity set ``name``; ``ODataError(404)`` if the metadata has none."""
        entity_set = self.schema.entity_sets.get(name)
        if entity_set is None:
            raise ODataError(404, "RESOURCE_NOT_FOUND", f"Resource not found for segment '{name}'")
        return entity_set

    _set = entity_set

    def bind_action(self, binding_type: str, name: str, handler: ActionHandler) -> None:
        """Run ``handler`` for the bound action ``name`` of ``binding_type`` (a qualified entity
        type name); the metadata must declare it. Declared actions without a handler answer 501."""
        if name not in self.schema.actions.get(binding_type, {}):
            raise ValueError(f"the metadata declares no action {name!r} bound to {binding_type}")
        self._actions[(binding_type, name)] = handler

    def defaults(self, entity_set: str) -> dict[str, Any]:
        """A value for each non-nullable property (its type's zero: ``""``, ``0``, ``False``,
        the nil GUID, an enum's first member), for seeds that must fill every one."""
        values: dict[str, Any] = {}
        for name, prop in self.entity_set(entity_set).type.properties.items():
            if prop.nullable:
                continue
            members = self.schema.enums.get(prop.type)
            if members:
                values[name] = members[0]
            elif prop.type in _ZERO:
                values[name] = _ZERO[prop.type]
        return values

    def begin_journal(self, journal: list[Callable[[], None]] | None) -> None:
        """Record how to undo every write from now on into ``journal`` (None: stop)."""
        self._journal = journal
        for store in self.stores.values():
            store.journal = journal

    # -- dispatch --------------------------------------------------------------------------------

    def handle(self, request: httpx.Request, path: str) -> httpx.Response:
        """Answer ``request`` for ``path`` (the part after :attr:`root`). Raises :class:`ODataError`."""
        ctx = self._context(request)
        method = request.method.upper()
        if method == "POST" and request.headers.get("X-HTTP-Method"):
            method = request.headers["X-HTTP-Method"].upper()
        segments = [unquote(part) for part in split_path(path)]
        if not segments:
            return self._service_document(ctx)
        if segments == ["$metadata"]:
            return httpx.Response(
                200, headers={"Content-Type": "application/xml"}, content=self.schema.document
            )
        if segments == ["$batch"]:
            return self._batch(ctx, request, method)
        params = request.url.params
        known = (_V4_OPTIONS if self.v4 else _V2_OPTIONS) | self.extra_options
        for name in params:
            if name.startswith("$") and name not in known:
                raise ODataError(
                    400, "INVALID_SYSTEM_QUERY_OPTION", f"System query option '{name}' is not supported"
                )
        target = resolve(self, segments)
        if target.action is not None:
            return self._run_action(ctx, request, method, target)
        entity_set, record = target.entity_set, target.record
        if method in ("GET", "HEAD"):
            if record is None:
                return self._collection(ctx, request, target)
            return self._single(ctx, request, entity_set, record)
        if target.count:
            raise ODataError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here")
        if method == "POST" and record is None:
            if target.empty:
                raise ODataError(400, "INVALID_URI", "There is no parent to add this entity to")
            return self._create(ctx, request, entity_set, target.constraint)
        if record is None:
            raise ODataError(405, "METHOD_NOT_ALLOWED", f"{method} needs a key predicate")
        if method in _WRITES and self.require_if_match and not request.headers.get("If-Match"):
            raise ODataError(
                428, "PRECONDITION_REQUIRED", "An If-Match header is required to change this entity"
            )
        if method in ("PUT", "PATCH", "MERGE"):
            return self._update(ctx, request, entity_set, record, replace=method == "PUT")
        if method == "DELETE":
            return self._delete(request, entity_set, record)
        raise ODataError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here")

    def _context(self, request: httpx.Request) -> RequestContext:
        url = request.url
        default = {"http": 80, "https": 443}.get(url.scheme)
        origin = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port and url.port != default else "")
        ieee = (
            self.v4
            and self.honour_ieee754
            and any(
                "ieee754compatible=true" in request.headers.get(name, "").replace(" ", "").lower()
                for name in ("Accept", "Content-Type")
            )
        )
        return RequestContext(origin, self.v4, ieee)

    def _batch(self, ctx: RequestContext, request: httpx.Request, method: str) -> httpx.Response:
        content_type = request.headers.get("Content-Type", "")
        if method != "POST":
            raise ODataError(405, "METHOD_NOT_ALLOWED", "$batch takes POST")
        if not self.v4 or not content_type.startswith("application/json"):
            raise ODataError(501, "NOT_IMPLEMENTED", "Only JSON $batch (OData V4) is supported")
        body = self._json_body(request)
        dispatch = self.subrequest or (lambda inner: self._direct(inner))
        return self.json(ctx, run_json_batch(self, ctx, request, dispatch, body))

    def _direct(self, request: httpx.Request) -> httpx.Response:
        try:
            return self.handle(request, request.url.path[len(self.root) :])
        except ODataError as error:
            from fincon.sandbox.odata._errors import standard_error_body

            return self.json(self._context(request), standard_error_body(error, v4=self.v4), error.status)

    def parse_key(self, entity_set: EntitySetSchema, text: str) -> tuple[Any, ...]:
        """The key tuple of ``Set(<text>)``; ``ODataError(400)`` when it does not fit the key."""
        keys = entity_set.type.keys
        parts = _split_key(text)
        values: dict[str, Any] = {}
        try:
            if len(parts) == 1 and "=" not in parts[0].split("'")[0]:
                if len(keys) != 1:
                    raise ValueError("the key has several properties")
                values[keys[0]] = parse_literal(parts[0], v4=self.v4)
            else:
                for part in parts:
                    name, _, literal = part.partition("=")
                    values[name.strip()] = parse_literal(literal, v4=self.v4)
        except ValueError as error:
            raise ODataError(400, "INVALID_KEY", f"Invalid key predicate ({text}): {error}") from None
        if set(values) != set(keys):
            raise ODataError(
                400, "INVALID_KEY", f"Invalid key predicate ({text}): the key is {', '.join(keys)}"
            )
        return tuple(self._key_value(entity_set, name, values[name]) for name in keys)

    def _key_value(self, entity_set: EntitySetSchema, name: str, value: Any) -> Any:
        kind = entity_set.type.properties[name].type
        if kind == "Edm.String" and not isinstance(value, str):
            raise ODataError(400, "INVALID_KEY", f"Key property {name} is a string: quote it")
        if kind == "Edm.Guid":
            if not isinstance(value, str) or not _GUID.match(value):
                raise ODataError(400, "INVALID_KEY", f"Key property {name} is a GUID")
            return value.lower()  # GUIDs are case-insensitive; stored in lower case
        if kind in ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte") and isinstance(value, Decimal):
            return int(value)
        return value

    def find(self, entity_set: EntitySetSchema, key_text: str) -> Record[Entity]:
        """The entity named by ``Set(<key_text>)``; ``ODataError(404)`` if there is none."""
        key = self.parse_key(entity_set, key_text)
        record = self.stores[entity_set.name].find(key)
        if record is None:
            raise ODataError(
                404, "RESOURCE_NOT_FOUND", f"Resource not found for segment '{entity_set.name}({key_text})'"
            )
        return record

    # -- reading ---------------------------------------------------------------------------------

    def _service_document(self, ctx: RequestContext) -> httpx.Response:
        names = list(self.schema.entity_sets)
        if self.v4:
            body: Any = {
                "@odata.context": f"{ctx.origin}{self.root}/$metadata",
                "value": [{"name": name, "kind": "EntitySet", "url": name} for name in names],
            }
        else:
            body = {"d": {"EntitySets": names}}
        return self.json(ctx, body)

    def json(
        self,
        ctx: RequestContext,
        body: Any,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        entities: list[bytes] | None = None,
    ) -> httpx.Response:
        """A JSON response in the service's dialect (``odata.metadata=minimal`` for V4).

        ``entities``: serialised entities that take the place of the ``_ENTITIES`` marker list.
        """
        content = ctx.encode(body)
        if entities is not None:
            before, _, after = content.partition(_ENTITIES_JSON)
            content = b"".join((before, b"[", b",".join(entities), b"]", after))
        content_type = "application/json"
        if self.v4:
            content_type += ";odata.metadata=minimal" + (";IEEE754Compatible=true" if ctx.ieee754 else "")
            version = {"OData-Version": "4.0"}
        else:
            version = {"DataServiceVersion": "2.0"}
        return httpx.Response(
            status,
            headers={"Content-Type": content_type, **version, **(headers or {})},
            content=content,
        )

    def _query(self, request: httpx.Request, entity_type: EntityTypeSchema) -> dict[str, Any]:
        params = request.url.params
        query: dict[str, Any] = {}
        for name in ("$top", "$skip"):
            if name in params:
                text = params[name]
                if not text.isdigit():
                    raise ODataError(400, "INVALID_QUERY", f"{name} must be a non-negative integer")
                query[name] = int(text)
        if "$filter" in params:
            query["$filter"] = self.compile_filter(params["$filter"], entity_type)
        if "$orderby" in params:
            order: list[tuple[str, bool]] = []
            for part in params["$orderby"].split(","):
                words = part.split()
                if (
                    not words
                    or words[0] not in entity_type.properties
                    or (len(words) > 1 and words[1] not in ("asc", "desc"))
                ):
                    raise ODataError(400, "INVALID_ORDERBY", f"Invalid $orderby: {part.strip()!r}")
                order.append((words[0], len(words) > 1 and words[1] == "desc"))
            query["$orderby"] = order
        query["$select"] = parse_select(params.get("$select"), entity_type)
        query["$expand"] = parse_expand(params.get("$expand"), entity_type, self.schema.types, v4=self.v4)
        return query

    def compile_filter(self, text: str, entity_type: EntityTypeSchema) -> Predicate:
        """``$filter=text`` on ``entity_type`` as a predicate; ``ODataError(400)`` if unreadable
        or comparing a property with a literal of another type."""
        types = self._filter_types.get(entity_type.qualified_name)
        if types is None:
            types = {name: prop.type for name, prop in entity_type.properties.items()}
            self._filter_types[entity_type.qualified_name] = types
        try:
            return compile_filter(text, frozenset(types), v4=self.v4, types=types)
        except FilterError as error:
            raise ODataError(400, "INVALID_FILTER", f"Invalid filter expression: {error}") from None

    def _page_size(self, request: httpx.Request) -> tuple[int, bool]:
        if self.v4:
            found = _MAX_PAGE.search(request.headers.get("Prefer", ""))
            if found is not None and int(found.group(1)) > 0:
                return min(int(found.group(1)), self.max_page_size), True
        return self.max_page_size, False

    def _collection(self, ctx: RequestContext, request: httpx.Request, target: Target) -> httpx.Response:
        try:
            return self._listing(ctx, request, target)
        except FilterError as error:  # values met while filtering that do not compare
            raise ODataError(400, "INVALID_FILTER", f"Invalid filter expression: {error}") from None

    def _listing(self, ctx: RequestContext, request: httpx.Request, target: Target) -> httpx.Response:
        entity_set = target.entity_set
        query = self._query(request, entity_set.type)
        store = self.stores[entity_set.name]
        where = query.get("$filter")
        # A collection reached by navigation: its members, found through the store's index.
        members: list[Record[Entity]] | None = None
        if target.empty:
            members = []
        elif target.constraint:
            members = store.matching(target.constraint)
        if target.count:
            if members is not None:
                counted = sum(1 for item in members if where is None or where(item.data))
            else:
                counted = sum(1 for _ in store.iter(where)) if where is not None else len(store)
            return httpx.Response(200, headers={"Content-Type": "text/plain"}, content=str(counted).encode())
        page_size, preferred = self._page_size(request)
        continues = "$skip" in request.url.params or "$skiptoken" in request.url.params
        if self.cycle is not None and self.cycle(entity_set.name, continues):
            link = f"{ctx.origin}{request.url.raw_path.decode('ascii')}"
            if self.v4:
                return self.json(ctx, {"value": [], "@odata.nextLink": link})
            return self.json(ctx, {"d": {"results": [], "__next": link}})
        top = query.get("$top")
        skip = query.get("$skip", 0)
        token = request.url.params.get("$skiptoken")
        limit = page_size if top is None else min(top, page_size)
        order = query.get("$orderby")
        if order and store.key_ordered and order == [(name, False) for name in store.keys]:
            order = None  # the store is already in that order: no sort, id skiptokens
        # A $top this page reaches ends the answer, so nothing after it needs looking at.
        capped = top is not None and top <= page_size
        if members is not None:
            matched = [item for item in members if where is None or where(item.data)]
            records, more = self._slice_list(matched, order, skip, token, limit)
            order = order or [(name, False) for name in store.keys]  # position skiptokens
        else:
            records, more = self._slice(
                store, where, order, skip, token, limit, request.url.params.get("$filter"), capped
            )
        if top is not None and len(records) >= top:
            more = False
        entities = self._entities(ctx, entity_set, records, query["$select"], query["$expand"])
        next_link = None
        if more and records:
            last = records[-1].id if not order else f"@{self._position(token, skip) + len(records)}"
            next_link = self._next_link(ctx, request, last, None if top is None else top - len(records))
        total: int | None = None
        inline = request.url.params.get("$inlinecount" if not self.v4 else "$count", "")
        if inline in ("allpages", "true") and members is not None:
            total = sum(1 for item in members if where is None or where(item.data))
        elif inline in ("allpages", "true"):
            total = sum(1 for _ in store.iter(where)) if where is not None else len(store)
        headers = {"Preference-Applied": f"odata.maxpagesize={page_size}"} if preferred else None
        if self.v4:
            body: dict[str, Any] = {"@odata.context": f"{ctx.origin}{self.root}/$metadata#{entity_set.name}"}
            if total is not None:
                body["@odata.count"] = total
            body["value"] = _ENTITIES
            if next_link:
                body["@odata.nextLink"] = next_link
            return self.json(ctx, body, headers=headers, entities=entities)
        results: dict[str, Any] = {"results": _ENTITIES}
        if total is not None:
            results["__count"] = str(total)
        if next_link:
            results["__next"] = next_link
        return self.json(ctx, {"d": results}, headers=headers, entities=entities)

    def _entities(
        self,
        ctx: RequestContext,
        entity_set: EntitySetSchema,
        records: list[Record[Entity]],
        select: tuple[str, ...] | None,
        expand: Mapping[str, Any],
    ) -> list[bytes]:
        """The page's entities, serialised; served from the fragment cache when it is on.

        A cached entity is keyed by its record's id and ``updated_at`` (a write to it makes a
        new key) and the request's shape; one with expanded navigation also embeds other
        entities, so it is only reused while no store of the service has been written since.
        """
        if not self.fragment_limit:
            return [ctx.encode(self.entity(ctx, entity_set, record, select, expand)) for record in records]
        shape = (ctx, select, repr(expand) if expand else "")
        stamp = max(store.version for store in self.stores.values()) if expand else 0
        cache = self._fragments
        out: list[bytes] = []
        for record in records:
            key = (entity_set.name, record.id, record.updated_at, shape)
            cached = cache.get(key)
            if cached is not None and cached[0] == stamp:
                out.append(cached[1])
                continue
            encoded = ctx.encode(self.entity(ctx, entity_set, record, select, expand))
            cache[key] = (stamp, encoded)
            if len(cache) > self.fragment_limit:
                cache.popitem(last=False)
            out.append(encoded)
        return out

    @staticmethod
    def _position(token: str | None, skip: int) -> int:
        return int(token[1:]) if token and token.startswith("@") and token[1:].isdigit() else skip

    def _slice_list(
        self,
        records: list[Record[Entity]],
        order: list[tuple[str, bool]] | None,
        skip: int,
        token: str | None,
        limit: int,
    ) -> tuple[list[Record[Entity]], bool]:
        """A page of entities already found (a navigation's), by position."""
        for name, descending in reversed(order or []):
            records.sort(key=lambda record: _sort_key(record.data.get(name)), reverse=descending)
        if token is not None and not (token.startswith("@") and token[1:].isdigit()):
            raise ODataError(400, "INVALID_SKIPTOKEN", f"Invalid $skiptoken '{token}'")
        start = self._position(token, skip)
        return records[start : start + limit], start + limit < len(records)

    def _slice(
        self,
        store: EntityStore,
        where: Callable[[Entity], bool] | None,
        order: list[tuple[str, bool]] | None,
        skip: int,
        token: str | None,
        limit: int,
        filter_text: str | None = None,
        capped: bool = False,
    ) -> tuple[list[Record[Entity]], bool]:
        if order:
            records = list(store.iter(where))
            for name, descending in reversed(order):
                records.sort(key=lambda record: _sort_key(record.data.get(name)), reverse=descending)
            start = self._position(token, skip)
            return records[start : start + limit], start + limit < len(records)
        condition = (lambda record: where(record.data)) if where is not None else None
        if token is not None:
            if store.collection.index_of(token) is None:
                raise ODataError(400, "INVALID_SKIPTOKEN", f"Invalid $skiptoken '{token}'")
            page = store.collection.page(limit, after=token, where=condition, lookahead=not capped)
        elif condition is not None and skip:
            # A filtered $skip cannot be counted without reading every match before it; the
            # position reached by the previous window is remembered, so paging stays linear.
            memo_key = (store.schema.name, filter_text, skip, store.collection.changes)
            after = self._skip_memo.get(memo_key)
            if after is not None:
                page = store.collection.page(limit, after=after, where=condition, lookahead=not capped)
            else:
                page = store.collection.page(limit, offset=skip, where=condition, lookahead=not capped)
        else:
            page = store.collection.page(limit, offset=skip or None, where=condition, lookahead=not capped)
        if condition is not None and page.items and token is None:
            end = (store.schema.name, filter_text, skip + len(page.items), store.collection.changes)
            self._skip_memo[end] = page.items[-1].id
            if len(self._skip_memo) > 4096:
                self._skip_memo.popitem(last=False)
        return page.items, page.has_more

    def _next_link(self, ctx: RequestContext, request: httpx.Request, token: str, top: int | None) -> str:
        pairs = [
            (k, v) for k, v in request.url.params.multi_items() if k not in ("$skiptoken", "$skip", "$top")
        ]
        if top is not None:
            pairs.append(("$top", str(top)))
        pairs.append(("$skiptoken", token))
        query = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in pairs)
        return f"{ctx.origin}{request.url.path}?{query}"

    def _single(
        self, ctx: RequestContext, request: httpx.Request, entity_set: EntitySetSchema, record: Record[Entity]
    ) -> httpx.Response:
        query = self._query(request, entity_set.type)
        return self._entity_response(ctx, entity_set, record, query["$select"], query["$expand"])

    def _entity_response(
        self,
        ctx: RequestContext,
        entity_set: EntitySetSchema,
        record: Record[Entity],
        select: tuple[str, ...] | None = None,
        expand: Mapping[str, ExpandItem] | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            entity = self.entity(ctx, entity_set, record, select, expand)
        except FilterError as error:
            raise ODataError(400, "INVALID_FILTER", f"Invalid filter expression: {error}") from None
        headers = {"ETag": self.etag(record), **(headers or {})}
        if self.v4:
            return self.json(
                ctx,
                {"@odata.context": f"{ctx.origin}{self.root}/$metadata#{entity_set.name}/$entity", **entity},
                status,
                headers,
            )
        return self.json(ctx, {"d": entity}, status, headers)

    def related(
        self, entity_set: EntitySetSchema, record: Record[Entity], nav: str
    ) -> tuple[EntitySetSchema, list[Record[Entity]]]:
        """The entity set behind ``nav`` and the entities ``record`` leads to through it (joined
        by referential constraints, else by shared key names: see :mod:`._paths`)."""
        target_set, values = join_values(self, entity_set, record, entity_set.type.navigation[nav])
        if values is None:
            return target_set, []
        return target_set, self.stores[target_set.name].matching(values)

    # -- serialising -----------------------------------------------------------------------------

    def etag(self, record: Record[Entity]) -> str:
        """A weak ETag that changes with every write."""
        stamp = record.updated_at.strftime("%Y%m%d%H%M%S.%f")
        return f"W/\"datetimeoffset'{stamp}'\""

    def entity_uri(self, ctx: RequestContext, entity_set: EntitySetSchema, entity: Entity) -> str:
        """The canonical URI of ``entity``: ``{root}/{Set}({key})``."""
        return f"{ctx.origin}{self.root}/{entity_set.name}({self.key_predicate(entity_set, entity)})"

    def key_predicate(self, entity_set: EntitySetSchema, entity: Entity) -> str:
        """What goes between the parentheses of ``entity``'s URI (percent-encoded as needed)."""
        keys = entity_set.type.keys
        properties = entity_set.type.properties
        if len(keys) == 1:
            predicate = format_key_literal(properties[keys[0]], entity.get(keys[0]), v4=self.v4)
        else:
            predicate = ",".join(
                f"{name}={format_key_literal(properties[name], entity.get(name), v4=self.v4)}"
                for name in keys
            )
        if not _PLAIN_KEY.match(predicate):
            predicate = quote(predicate, safe=_KEY_SAFE)
        return predicate

    def _encoders_for(
        self, entity_type: EntityTypeSchema, ieee754: bool
    ) -> list[tuple[str, Callable[[Any], Any]]]:
        cache_key = (entity_type.qualified_name, ieee754)
        encoders = self._encoders.get(cache_key)
        if encoders is None:
            # V4 stream properties are read from their own URL, never inline.
            encoders = [
                (name, encoder_for(prop, v4=self.v4, ieee754=ieee754))
                for name, prop in entity_type.properties.items()
                if prop.type != "Edm.Stream"
            ]
            self._encoders[cache_key] = encoders
        return encoders

    def _shape(self, entity_type: EntityTypeSchema, ieee754: bool) -> _Shape:
        """How entities of ``entity_type`` are written, worked out once per type."""
        cache_key = (entity_type.qualified_name, ieee754)
        shape = self._shapes.get(cache_key)
        if shape is None:
            encoders = self._encoders_for(entity_type, ieee754)
            shape = _Shape(
                names=tuple(name for name, _ in encoders),
                converted=tuple((name, encode) for name, encode in encoders if encode is not same_value),
                navigation=tuple(entity_type.navigation.items()),
            )
            self._shapes[cache_key] = shape
        return shape

    def entity(
        self,
        ctx: RequestContext,
        entity_set: EntitySetSchema,
        record: Record[Entity],
        select: tuple[str, ...] | None = None,
        expand: Mapping[str, ExpandItem] | None = None,
    ) -> Any:
        """``record`` in the wire format of the service's version."""
        data = record.data
        uri = "" if self.v4 else self.entity_uri(ctx, entity_set, data)  # V4 writes no URIs
        etag = self.etag(record)
        out: dict[str, Any] = {}
        if self.v4:
            out["@odata.etag"] = etag
        else:
            out["__metadata"] = {"id": uri, "uri": uri, "type": entity_set.type.qualified_name, "etag": etag}
        chosen = None if select is None else frozenset(select) | frozenset(entity_set.type.keys)
        shape = self._shape(entity_set.type, ctx.ieee754)
        if chosen is None:
            # Every property in metadata order, then the few that need converting in place.
            out.update(zip(shape.names, map(data.get, shape.names), strict=True))
            for name, encode in shape.converted:
                value = out[name]
                if value is not None:
                    out[name] = encode(value)
        else:
            for name, encode in self._encoders_for(entity_set.type, ctx.ieee754):
                if name in chosen:
                    value = data.get(name)
                    out[name] = None if value is None else encode(value)
        if self.v4:  # only what is expanded (types with many navigation properties are common)
            for nav_name, how in (expand or {}).items():
                self._expanded(ctx, entity_set, record, nav_name, how, out)
            return out
        for nav_name, _ in shape.navigation:
            if expand and nav_name in expand:
                self._expanded(ctx, entity_set, record, nav_name, expand[nav_name], out)
            elif chosen is None or nav_name in chosen:
                out[nav_name] = {"__deferred": {"uri": f"{uri}/{nav_name}"}}
        return out

    def _expanded(
        self,
        ctx: RequestContext,
        entity_set: EntitySetSchema,
        record: Record[Entity],
        nav_name: str,
        how: ExpandItem,
        out: dict[str, Any],
    ) -> None:
        target_set, related = self.related(entity_set, record, nav_name)
        if how.where is not None:
            related = [item for item in related if how.where(item.data)]
        if how.top is not None:
            related = related[: how.top]
        items = [self.entity(ctx, target_set, item, how.select, how.expand) for item in related]
        if entity_set.type.navigation[nav_name].many:
            out[nav_name] = items if self.v4 else {"results": items}
        else:
            out[nav_name] = items[0] if items else None

    # -- writing ---------------------------------------------------------------------------------

    def _json_body(self, request: httpx.Request) -> Any:
        try:
            return json.loads(request.content or b"null", parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise ODataError(400, "INVALID_BODY", "The request body is not valid JSON") from None

    def _body(self, request: httpx.Request) -> dict[str, Any]:
        body = self._json_body(request)
        if isinstance(body, dict) and not self.v4 and set(body) == {"d"} and isinstance(body["d"], dict):
            body = body["d"]
        if not isinstance(body, dict):
            raise ODataError(400, "INVALID_BODY", "The request body must be a JSON object")
        return body

    def _decoders_for(self, entity_type: EntityTypeSchema) -> dict[str, Callable[[Any], Any]]:
        decoders = self._decoders.get(entity_type.qualified_name)
        if decoders is None:
            decoders = {}
            for name, prop in entity_type.properties.items():
                members = self.schema.enums.get(prop.type)
                if members is not None:
                    decoders[name] = _enum_decoder(prop.type, members)
                elif prop.type == "Edm.Guid":
                    decoders[name] = _guid_decoder
                else:
                    decoders[name] = decoder_for(prop, v4=self.v4)
            self._decoders[entity_type.qualified_name] = decoders
        return decoders

    def decode(
        self, entity_set: EntitySetSchema, body: Mapping[str, Any]
    ) -> tuple[Entity, dict[str, list[Any]]]:
        """A request body as stored values, and its deep-insert navigation payloads, checked
        against the metadata; ``ODataError(400)`` naming the first bad property."""
        entity_type = entity_set.type
        decoders = self._decoders_for(entity_type)
        entity: Entity = {}
        nested: dict[str, list[Any]] = {}
        for name, value in body.items():
            if name.startswith(("__", "@")) or "@odata." in name:
                continue
            if name in entity_type.navigation:
                items = value.get("results") if isinstance(value, dict) and "results" in value else value
                if isinstance(items, dict):
                    items = [items]
                if not isinstance(items, list):
                    raise ODataError(400, "INVALID_BODY", f"Navigation property {name} needs entities")
                nested[name] = items
                continue
            decode = decoders.get(name)
            if decode is None:
                raise ODataError(
                    400,
                    "INVALID_PROPERTY",
                    f"Property '{name}' is invalid for {entity_type.name}",
                    target=name,
                )
            try:
                stored = decode(value)
            except ValueError as error:
                raise ODataError(400, "INVALID_VALUE", f"Property '{name}': {error}", target=name) from None
            prop = entity_type.properties[name]
            if stored is None and not prop.nullable and name not in entity_type.keys:
                raise ODataError(400, "INVALID_VALUE", f"Property '{name}' must not be null", target=name)
            if isinstance(stored, str) and prop.max_length is not None and len(stored) > prop.max_length:
                raise ODataError(
                    400,
                    "INVALID_VALUE",
                    f"Property '{name}' is longer than {prop.max_length} characters",
                    target=name,
                )
            entity[name] = stored
        return entity, nested

    def create(
        self, entity_set: EntitySetSchema, body: Mapping[str, Any], parent: Mapping[str, Any] | None = None
    ) -> Record[Entity]:
        """Create an entity (and its deep-inserted children) from a request body; ``parent``
        holds the values the entity gets from the entity it is created under."""
        if not entity_set.insertable:
            raise ODataError(405, "METHOD_NOT_ALLOWED", f"Entities cannot be added to {entity_set.name}")
        entity, nested = self.decode(entity_set, body)
        sent = frozenset(entity)
        for name, value in (parent or {}).items():
            entity.setdefault(name, value)
        entity = self.hooks.prepare(self, entity_set.name, entity, None, sent)
        store = self.stores[entity_set.name]
        try:
            record = store.create(entity)
        except KeyError as error:
            raise ODataError(
                400, "ALREADY_EXISTS", f"Entity with key {error.args[0]} already exists"
            ) from None
        except ValueError as error:
            raise ODataError(400, "INVALID_VALUE", str(error)) from None
        for nav_name, items in nested.items():
            navigation = entity_set.type.navigation[nav_name]
            target_set, join = join_values(self, entity_set, record, navigation)
            if join is None:  # no relation to fill in: the children carry their own keys
                join = {
                    name: record.data[name]
                    for name in target_set.type.keys
                    if record.data.get(name) not in (None, "")
                }
            for item in items:
                if not isinstance(item, dict):
                    raise ODataError(400, "INVALID_BODY", f"{nav_name} holds entities")
                self.create(target_set, item, join)
        self.hooks.written(self, entity_set.name, store.get(record.id) or record)
        return store.get(record.id) or record

    def _create(
        self,
        ctx: RequestContext,
        request: httpx.Request,
        entity_set: EntitySetSchema,
        parent: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        body = self._body(request)
        record = self.create(entity_set, body, parent)
        # The entity's address where it was created (``companies(1)/vendors(2)``).
        location = f"{ctx.origin}{request.url.path}({self.key_predicate(entity_set, record.data)})"
        headers = {"Location": location}
        if self.v4 and _prefers(request, "return=minimal"):
            headers.update(
                {"OData-EntityId": location, "Preference-Applied": "return=minimal", "OData-Version": "4.0"}
            )
            return httpx.Response(204, headers={**headers, "ETag": self.etag(record)})
        expand = {name: ExpandItem() for name in body if name in entity_set.type.navigation}
        return self._entity_response(ctx, entity_set, record, None, expand, 201, headers)

    def _check_etag(
        self, request: httpx.Request, entity_set: EntitySetSchema, record: Record[Entity]
    ) -> None:
        expected = request.headers.get("If-Match")
        if expected and expected.strip() != "*" and expected.strip() != self.etag(record):
            raise ODataError(
                412, "PRECONDITION_FAILED", "The entity was changed by someone else (ETag mismatch)"
            )

    def _update(
        self,
        ctx: RequestContext,
        request: httpx.Request,
        entity_set: EntitySetSchema,
        record: Record[Entity],
        *,
        replace: bool,
    ) -> httpx.Response:
        if not entity_set.updatable:
            raise ODataError(405, "METHOD_NOT_ALLOWED", f"Entities of {entity_set.name} cannot be changed")
        self._check_etag(request, entity_set, record)
        changes, nested = self.decode(entity_set, self._body(request))
        if nested:
            raise ODataError(400, "INVALID_BODY", "Navigation properties cannot be changed by an update")
        for name in entity_set.type.keys:
            if name in changes and changes[name] != record.data.get(name):
                raise ODataError(
                    400, "INVALID_VALUE", f"Key property '{name}' cannot be changed", target=name
                )
        base = (
            {name: record.data.get(name) for name in entity_set.type.keys} if replace else dict(record.data)
        )
        merged = self.hooks.prepare(self, entity_set.name, {**base, **changes}, record, frozenset(changes))
        # Cached fragments are keyed by ``updated_at``, so the old one is never served again.
        store = self.stores[entity_set.name]
        updated = store.update(record, merged)
        self.hooks.written(self, entity_set.name, updated)
        updated = store.get(updated.id) or updated
        if self.v4 and _prefers(request, "return=representation"):
            return self._entity_response(
                ctx, entity_set, updated, headers={"Preference-Applied": "return=representation"}
            )
        return httpx.Response(
            204,
            headers={
                "ETag": self.etag(updated),
                **({"OData-Version": "4.0"} if self.v4 else {"DataServiceVersion": "2.0"}),
            },
        )

    def _delete(
        self, request: httpx.Request, entity_set: EntitySetSchema, record: Record[Entity]
    ) -> httpx.Response:
        if not entity_set.deletable:
            raise ODataError(405, "METHOD_NOT_ALLOWED", f"Entities of {entity_set.name} cannot be deleted")
        self._check_etag(request, entity_set, record)
        self.hooks.deleting(self, entity_set.name, record)
        self.stores[entity_set.name].delete(record)
        self.hooks.deleted(self, entity_set.name, record)
        return httpx.Response(
            204, headers={"OData-Version": "4.0"} if self.v4 else {"DataServiceVersion": "2.0"}
        )

    def _run_action(
        self, ctx: RequestContext, request: httpx.Request, method: str, target: Target
    ) -> httpx.Response:
        action = target.action
        assert action is not None
        if method != "POST":
            raise ODataError(405, "METHOD_NOT_ALLOWED", f"The action {action.name} takes POST")
        if target.record is None:
            raise ODataError(501, "NOT_IMPLEMENTED", "Actions bound to collections are not emulated")
        handler = self._actions.get((action.binding_type, action.name))
        if handler is None:
            raise ODataError(501, "NOT_IMPLEMENTED", f"The action {action.name} is not emulated")
        body = self._json_body(request) if request.content.strip() else None
        answer = handler(self, target.entity_set.name, target.record, body)
        if answer is not None:
            return answer
        return httpx.Response(204, headers={"OData-Version": "4.0"})


def _prefers(request: httpx.Request, preference: str) -> bool:
    wanted = [part.strip().lower() for part in request.headers.get("Prefer", "").split(",")]
    return preference in wanted


def _guid_decoder(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or not _GUID.match(value):
        raise ValueError(f"{value!r} is not a valid Edm.Guid")
    return value.lower()


def _enum_decoder(type_name: str, members: tuple[str, ...]) -> Callable[[Any], Any]:
    allowed = frozenset(members)

    def decode(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"{value!r} is not a member of {type_name}")
        return value

    return decode


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)
