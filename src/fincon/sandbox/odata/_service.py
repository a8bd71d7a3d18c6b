"""One OData service, driven by its ``$metadata``: reads, queries, paging and writes, V2 and V4.

The service knows OData and nothing about any vendor: authentication, CSRF tokens, message
headers and extra error details are the emulator's (see :class:`ODataEmulator`).

- resource paths: the service document, ``$metadata``, ``Set``, ``Set/$count``, ``Set(key)``,
  ``Set(key)/nav`` (and ``/$count``); keys as ``('A')`` or ``(K1='A',K2='B')``;
- query options: ``$filter $orderby $top $skip $skiptoken $select $expand $format``, V2
  ``$inlinecount=allpages``, V4 ``$count=true``; unknown ``$``-options are a 400;
- server-driven paging: at most ``max_page_size`` entities a page (V4 also honours
  ``Prefer: odata.maxpagesize``), continued by a next link with a ``$skiptoken``;
- writes: ``POST`` (deep insert through navigation properties), ``PUT``, ``PATCH``, V2 ``MERGE``
  (also as ``POST`` with ``X-HTTP-Method``), ``DELETE``; ``If-Match`` against the ETag;
  bodies are checked against the metadata (unknown properties, types, ``MaxLength``).
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
from fincon.sandbox.odata._edm import (
    decoder_for,
    encoder_for,
    format_key_literal,
    parse_literal,
    same_value,
)
from fincon.sandbox.odata._errors import ODataError
from fincon.sandbox.odata._filter import FilterError, compile_filter
from fincon.sandbox.odata._schema import EntitySetSchema, EntityTypeSchema, Navigation, ServiceSchema
from fincon.sandbox.odata._store import Entity, EntityStore

__all__ = ["ODataService", "RequestContext"]

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_.]*)(?:\((?P<key>.*)\))?$", re.DOTALL)
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

    def __repr__(self) -> str:
        return f"<ODataService {self.root} V{self.schema.version} {len(self.stores)} entity sets>"

    # -- setup -----------------------------------------------------------------------------------

    def seed(self, entity_set: str, **options: Any) -> EntityStore:
        """Replace ``entity_set``'s store with one built from ``options`` (see :class:`EntityStore`)."""
        store = EntityStore(self._set(entity_set), **options)
        self.stores[entity_set] = store
        return store

    def store(self, entity_set: str) -> EntityStore:
        self._set(entity_set)
        return self.stores[entity_set]

    def _set(self, name: str) -> EntitySetSchema:
        entity_set = self.schema.entity_sets.get(name)
        if entity_set is None:
            raise ODataError(404, "RESOURCE_NOT_FOUND", f"Resource not found for segment '{name}'")
        return entity_set

    # -- dispatch --------------------------------------------------------------------------------

    def handle(self, request: httpx.Request, path: str) -> httpx.Response:
        """Answer ``request`` for ``path`` (the part after :attr:`root`). Raises :class:`ODataError`."""
        ctx = self._context(request)
        method = request.method.upper()
        if method == "POST" and request.headers.get("X-HTTP-Method"):
            method = request.headers["X-HTTP-Method"].upper()
        segments = [unquote(part) for part in path.strip("/").split("/")] if path.strip("/") else []
        if not segments:
            return self._service_document(ctx)
        if segments == ["$metadata"]:
            return httpx.Response(
                200, headers={"Content-Type": "application/xml"}, content=self.schema.document
            )
        if segments[0] == "$batch":
            raise ODataError(501, "NOT_IMPLEMENTED", "$batch is not supported by this emulator")
        params = request.url.params
        known = _V4_OPTIONS if self.v4 else _V2_OPTIONS
        for name in params:
            if name.startswith("$") and name not in known:
                raise ODataError(
                    400, "INVALID_SYSTEM_QUERY_OPTION", f"System query option '{name}' is not supported"
                )
        entity_set, record, nav_path, count = self._resolve(segments)
        if method in ("GET", "HEAD"):
            if record is None:
                return self._collection(ctx, request, entity_set, count=count)
            if nav_path is not None:
                return self._navigation(ctx, request, entity_set, record, nav_path, count)
            return self._single(ctx, request, entity_set, record)
        if count or nav_path is not None:
            raise ODataError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here")
        if method == "POST" and record is None:
            return self._create(ctx, request, entity_set)
        if record is None:
            raise ODataError(405, "METHOD_NOT_ALLOWED", f"{method} needs a key predicate")
        if method in ("PUT", "PATCH", "MERGE"):
            return self._update(ctx, request, entity_set, record, replace=method == "PUT")
        if method == "DELETE":
            self._check_etag(request, entity_set, record)
            self.stores[entity_set.name].delete(record)
            return httpx.Response(204)
        raise ODataError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here")

    def _context(self, request: httpx.Request) -> RequestContext:
        url = request.url
        default = {"http": 80, "https": 443}.get(url.scheme)
        origin = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port and url.port != default else "")
        ieee = self.v4 and any(
            "ieee754compatible=true" in request.headers.get(name, "").replace(" ", "").lower()
            for name in ("Accept", "Content-Type")
        )
        return RequestContext(origin, self.v4, ieee)

    def _resolve(
        self, segments: list[str]
    ) -> tuple[EntitySetSchema, Record[Entity] | None, str | None, bool]:
        count = segments[-1] == "$count"
        if count:
            segments = segments[:-1]
        if not segments or len(segments) > 2:
            raise ODataError(404, "RESOURCE_NOT_FOUND", "Resource not found")
        found = _SEGMENT.match(segments[0])
        if found is None:
            raise ODataError(404, "RESOURCE_NOT_FOUND", f"Resource not found for segment '{segments[0]}'")
        entity_set = self._set(found.group("name"))
        key_text = found.group("key")
        record = None
        if key_text is not None:
            record = self.find(entity_set, key_text)
        nav = segments[1] if len(segments) == 2 else None
        if nav is not None:
            if record is None:
                raise ODataError(400, "INVALID_URI", "navigation needs a key predicate")
            if nav not in entity_set.type.navigation:
                raise ODataError(404, "RESOURCE_NOT_FOUND", f"Property '{nav}' is invalid")
        if count and record is not None and nav is None:
            raise ODataError(400, "INVALID_URI", "$count needs a collection")
        return entity_set, record, nav, count

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
            try:
                query["$filter"] = compile_filter(
                    params["$filter"], frozenset(entity_type.properties), v4=self.v4
                )
            except FilterError as error:
                raise ODataError(400, "INVALID_FILTER", f"Invalid filter expression: {error}") from None
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
        query["$select"] = self._select(params.get("$select"), entity_type)
        query["$expand"] = self._expand(params.get("$expand"), entity_type)
        return query

    def _select(self, text: str | None, entity_type: EntityTypeSchema) -> tuple[str, ...] | None:
        if not text or text.strip() == "*":
            return None
        names = []
        for part in text.split(","):
            name = part.strip().split("/", 1)[0]
            if name not in entity_type.properties and name not in entity_type.navigation:
                raise ODataError(400, "INVALID_SELECT", f"Property '{name}' in $select does not exist")
            names.append(name)
        return tuple(names)

    def _expand(self, text: str | None, entity_type: EntityTypeSchema) -> dict[str, Any]:
        tree: dict[str, Any] = {}
        if not text:
            return tree
        for path in text.split(","):
            node, current = tree, entity_type
            for step in path.strip().split("/"):
                nav = current.navigation.get(step)
                target = self.schema.types.get(nav.target_type) if nav is not None else None
                if nav is None or target is None:
                    raise ODataError(
                        400, "INVALID_EXPAND", f"Property '{step}' in $expand is not a navigation property"
                    )
                node = node.setdefault(step, {})
                current = target
        return tree

    def _page_size(self, request: httpx.Request) -> tuple[int, bool]:
        if self.v4:
            found = _MAX_PAGE.search(request.headers.get("Prefer", ""))
            if found is not None and int(found.group(1)) > 0:
                return min(int(found.group(1)), self.max_page_size), True
        return self.max_page_size, False

    def _collection(
        self, ctx: RequestContext, request: httpx.Request, entity_set: EntitySetSchema, *, count: bool
    ) -> httpx.Response:
        query = self._query(request, entity_set.type)
        store = self.stores[entity_set.name]
        where = query.get("$filter")
        if count:
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
        if inline in ("allpages", "true"):
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
        entity = self.entity(ctx, entity_set, record, query["$select"], query["$expand"])
        headers = {"ETag": self.etag(record)}
        if self.v4:
            return self.json(
                ctx,
                {"@odata.context": f"{ctx.origin}{self.root}/$metadata#{entity_set.name}/$entity", **entity},
                headers=headers,
            )
        return self.json(ctx, {"d": entity}, headers=headers)

    def _navigation(
        self,
        ctx: RequestContext,
        request: httpx.Request,
        entity_set: EntitySetSchema,
        record: Record[Entity],
        nav: str,
        count: bool,
    ) -> httpx.Response:
        target_set, related = self.related(entity_set, record, nav)
        many = entity_set.type.navigation[nav].many
        if count:
            return httpx.Response(
                200, headers={"Content-Type": "text/plain"}, content=str(len(related)).encode()
            )
        query = self._query(request, target_set.type)
        if query.get("$filter") is not None:
            related = [item for item in related if query["$filter"](item.data)]
        entities = [
            self.entity(ctx, target_set, item, query["$select"], query["$expand"]) for item in related
        ]
        if not many:
            if not entities:
                raise ODataError(404, "RESOURCE_NOT_FOUND", f"No entity behind {nav}")
            return self.json(ctx, entities[0] if self.v4 else {"d": entities[0]})
        if self.v4:
            return self.json(
                ctx,
                {"@odata.context": f"{ctx.origin}{self.root}/$metadata#{target_set.name}", "value": entities},
            )
        return self.json(ctx, {"d": {"results": entities}})

    def related(
        self, entity_set: EntitySetSchema, record: Record[Entity], nav: str
    ) -> tuple[EntitySetSchema, list[Record[Entity]]]:
        """The entity set behind ``nav`` and the entities ``record`` leads to through it.

        The join is on the target's key properties that the source also has (SAP's EDMX files
        rarely declare referential constraints; the key names are shared instead).
        """
        navigation = entity_set.type.navigation[nav]
        target_set = self.schema.set_for_type(navigation.target_type)
        if target_set is None:
            raise ODataError(404, "RESOURCE_NOT_FOUND", f"No entity set for {navigation.target_type}")
        values = {
            name: record.data.get(name) for name in target_set.type.keys if name in entity_set.type.properties
        }
        if not values or any(value in (None, "") for value in values.values()):
            return target_set, []
        return target_set, self.stores[target_set.name].matching(values)

    # -- serialising -----------------------------------------------------------------------------

    def etag(self, record: Record[Entity]) -> str:
        """A weak ETag that changes with every write."""
        stamp = record.updated_at.strftime("%Y%m%d%H%M%S.%f")
        return f"W/\"datetimeoffset'{stamp}'\""

    def entity_uri(self, ctx: RequestContext, entity_set: EntitySetSchema, entity: Entity) -> str:
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
        return f"{ctx.origin}{self.root}/{entity_set.name}({predicate})"

    def _encoders_for(
        self, entity_type: EntityTypeSchema, ieee754: bool
    ) -> list[tuple[str, Callable[[Any], Any]]]:
        cache_key = (entity_type.qualified_name, ieee754)
        encoders = self._encoders.get(cache_key)
        if encoders is None:
            encoders = [
                (name, encoder_for(prop, v4=self.v4, ieee754=ieee754))
                for name, prop in entity_type.properties.items()
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
        expand: Mapping[str, Any] | None = None,
    ) -> Any:
        """``record`` in the wire format of the service's version."""
        data = record.data
        uri = self.entity_uri(ctx, entity_set, data)
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
        for nav_name, navigation in shape.navigation:
            if expand and nav_name in expand:
                target_set, related = self.related(entity_set, record, nav_name)
                items = [self.entity(ctx, target_set, item, None, expand[nav_name]) for item in related]
                if navigation.many:
                    out[nav_name] = items if self.v4 else {"results": items}
                else:
                    out[nav_name] = items[0] if items else None
            elif not self.v4 and (chosen is None or nav_name in chosen):
                out[nav_name] = {"__deferred": {"uri": f"{uri}/{nav_name}"}}
        return out

    # -- writing ---------------------------------------------------------------------------------

    def _body(self, request: httpx.Request) -> dict[str, Any]:
        try:
            body = json.loads(request.content or b"null", parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise ODataError(400, "INVALID_BODY", "The request body is not valid JSON") from None
        if isinstance(body, dict) and not self.v4 and set(body) == {"d"} and isinstance(body["d"], dict):
            body = body["d"]
        if not isinstance(body, dict):
            raise ODataError(400, "INVALID_BODY", "The request body must be a JSON object")
        return body

    def decode(
        self, entity_set: EntitySetSchema, body: Mapping[str, Any]
    ) -> tuple[Entity, dict[str, list[Any]]]:
        """A request body as stored values, and its deep-insert navigation payloads, checked
        against the metadata; ``ODataError(400)`` naming the first bad property."""
        entity_type = entity_set.type
        decoders = self._decoders.get(entity_type.qualified_name)
        if decoders is None:
            decoders = {name: decoder_for(prop, v4=self.v4) for name, prop in entity_type.properties.items()}
            self._decoders[entity_type.qualified_name] = decoders
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
        """Create an entity (and its deep-inserted children) from a request body."""
        entity, nested = self.decode(entity_set, body)
        for name, value in (parent or {}).items():
            entity.setdefault(name, value)
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
            target_set = self.schema.set_for_type(entity_set.type.navigation[nav_name].target_type)
            if target_set is None:
                raise ODataError(400, "INVALID_BODY", f"{nav_name} cannot be deep-inserted")
            join = {
                name: record.data.get(name)
                for name in target_set.type.keys
                if name in entity_set.type.properties
            }
            for item in items:
                if not isinstance(item, dict):
                    raise ODataError(400, "INVALID_BODY", f"{nav_name} holds entities")
                self.create(target_set, item, join)
        return record

    def _create(
        self, ctx: RequestContext, request: httpx.Request, entity_set: EntitySetSchema
    ) -> httpx.Response:
        body = self._body(request)
        record = self.create(entity_set, body)
        expand: dict[str, Any] = {name: {} for name in body if name in entity_set.type.navigation}
        entity = self.entity(ctx, entity_set, record, None, expand)
        headers = {"Location": self.entity_uri(ctx, entity_set, record.data), "ETag": self.etag(record)}
        if self.v4:
            return self.json(
                ctx,
                {"@odata.context": f"{ctx.origin}{self.root}/$metadata#{entity_set.name}/$entity", **entity},
                201,
                headers,
            )
        return self.json(ctx, {"d": entity}, 201, headers)

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
        # Cached fragments are keyed by ``updated_at``, so the old one is never served again.
        updated = self.stores[entity_set.name].update(record, {**base, **changes})
        return httpx.Response(
            204,
            headers={
                "ETag": self.etag(updated),
                **({"OData-Version": "4.0"} if self.v4 else {"DataServiceVersion": "2.0"}),
            },
        )


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)
