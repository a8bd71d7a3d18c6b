"""Finance and Operations in the Dynamics emulator: OData data entities at ``/data``.

F&O publishes no ``$metadata`` in the vendor specs folder, so its entity definitions are
written by hand (:mod:`._fo_seed`, after Microsoft's documentation) and served here by a
small handler over :class:`~._entity_store.EntitySet` rather than by the metadata-driven
engine that serves Business Central. Natural keys are scoped by ``dataAreaId``
(``VendorsV2(dataAreaId='usmf',VendorAccountNumber='V000001')``), listings page by
``$skiptoken`` (the last key), ``If-Match`` is required on PATCH and DELETE.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import httpx

from fincon.connectors.dynamics._entity_store import EntitySet, FilterError, WriteError, etag_of
from fincon.connectors.dynamics._fo_seed import fo_entity_sets
from fincon.core.jsonenc import dumps
from fincon.sandbox import Abort, json_response, read_json

if TYPE_CHECKING:
    from fincon.connectors.dynamics.sandbox import DynamicsEmulator

__all__ = ["FinanceOperationsData", "odata_error"]

_SYSTEM_OPTIONS = {"$filter", "$top", "$skiptoken", "$select", "$expand", "$count", "$schemaversion"}
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_.]*)(?:\((?P<key>.*)\))?$")
_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)='((?:[^']|'')*)'")
_MAX_PAGE = 1000


def odata_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    """An OData V4 error answer as Dynamics writes it."""
    return json_response(
        {"error": {"code": code, "message": message}},
        status=status,
        headers={"OData-Version": "4.0", **(headers or {})},
    )


def split_segments(path: str) -> list[str]:
    """Path segments; keys may hold '/' inside parentheses."""
    segments, depth, current = [], 0, ""
    for char in path:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "/" and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
    if current:
        segments.append(current)
    return segments


class FinanceOperationsData:
    """The F&O data entities of one emulator, and the OData handling of ``/data/...``."""

    def __init__(self, emulator: DynamicsEmulator) -> None:
        self.emulator = emulator
        self.sets: dict[str, EntitySet] = fo_entity_sets(emulator.seed)
        for entity_set in self.sets.values():
            entity_set.seed(seed=emulator.seed, size=emulator.size, clock=emulator.clock)

    @property
    def _origin(self) -> str:
        return self.emulator.origin

    @property
    def service_path(self) -> str:
        return "/data"

    @property
    def honour_ieee754(self) -> bool:
        return self.emulator.honour_ieee754

    def paging_cursor(self, listing: Any, after: str | None) -> str | None:
        return self.emulator.paging_cursor(listing, after)

    def handle(self, request: httpx.Request, rest: str) -> httpx.Response:
        """Answer a request for ``/data/<rest>``."""
        if rest == "$batch" and request.method == "POST":
            return self._batch(request)
        return self._entity_path(request, split_segments(rest))

    def _context(self, fragment: str) -> str:
        return f"{self._origin}{self.service_path}/$metadata#{fragment}"

    def _decimals(self, request: httpx.Request) -> Literal["string", "number"]:
        asked = "ieee754compatible=true" in (
            request.headers.get("accept", "") + request.headers.get("content-type", "")
        ).lower().replace(" ", "")
        return "string" if asked and self.honour_ieee754 else "number"

    def _json(
        self,
        request: httpx.Request,
        body: Any,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        decimals = self._decimals(request)
        content_type = "application/json; odata.metadata=minimal; odata.streaming=true"
        if decimals == "string":
            content_type += "; IEEE754Compatible=true"
        return json_response(
            body,
            status=status,
            decimals=decimals,
            content_type=content_type,
            headers={"OData-Version": "4.0", **(headers or {})},
        )

    def _key_of(self, entity_set: EntitySet, raw: str) -> str:
        if entity_set.key == "id":
            return raw.strip("'").lower()
        pairs = dict((name, value.replace("''", "'")) for name, value in _PAIR.findall(raw))
        if not pairs and raw.startswith("'"):
            pairs = {entity_set.key: raw.strip("'")}
        for name, value in entity_set.scope.items():
            if pairs.pop(name, value) != value:
                raise Abort(
                    odata_error(404, "BadRequest_NotFound", f"No record in {name} {pairs.get(name)!r}.")
                )
        if set(pairs) != {entity_set.key}:
            raise Abort(odata_error(400, "BadRequest", f"The key of {entity_set.name} is {entity_set.key}."))
        return str(pairs[entity_set.key])

    def _entity_path(self, request: httpx.Request, segments: list[str]) -> httpx.Response:
        if not segments or len(segments) > 2:
            raise Abort(odata_error(404, "BadRequest_NotFound", "No such resource."))
        match = _SEGMENT.match(segments[0])
        entity_set = self.sets.get(match.group("name")) if match else None
        if match is None or entity_set is None:
            name = segments[0].split("(")[0]
            raise Abort(
                odata_error(404, "BadRequest_NotFound", f"Resource not found for the segment '{name}'.")
            )
        raw_key = match.group("key")
        if raw_key is None:
            if len(segments) != 1:
                raise Abort(odata_error(404, "BadRequest_NotFound", "No such resource."))
            if request.method == "GET":
                return self._list(request, entity_set)
            if request.method == "POST":
                return self._create(request, entity_set)
            raise Abort(
                odata_error(405, "BadRequest_MethodNotAllowed", f"{request.method} is not allowed here.")
            )
        key = self._key_of(entity_set, raw_key)
        record = entity_set.get(key)
        if record is None:
            raise Abort(
                odata_error(404, "BadRequest_NotFound", f"The {entity_set.name} record {key} does not exist.")
            )
        if len(segments) == 2:
            raise Abort(
                odata_error(404, "BadRequest_NotFound", f"No action {segments[1]} on {entity_set.name}.")
            )
        if request.method == "GET":
            params = request.url.params
            return self._json(
                request,
                {
                    "@odata.context": self._context(f"{entity_set.name}/$entity"),
                    **entity_set.entity(record, expand=params.get("$expand"), select=_select(params)),
                },
                headers={"ETag": etag_of(record)},
            )
        if request.method in ("PATCH", "DELETE"):
            self._check_if_match(request, record)
            if request.method == "DELETE":
                if "delete" not in entity_set.operations or record.data.get("status") not in (None, "Draft"):
                    raise Abort(
                        odata_error(400, "BadRequest", f"This {entity_set.name} record cannot be deleted.")
                    )
                entity_set.delete(record.id)
                return httpx.Response(204, headers={"OData-Version": "4.0"})
            if "update" not in entity_set.operations:
                raise Abort(
                    odata_error(405, "BadRequest_MethodNotAllowed", f"{entity_set.name} are read-only.")
                )
            updated = self._write(lambda: entity_set.update(record.id, self._body(request)))
            return self._json(
                request,
                {"@odata.context": self._context(f"{entity_set.name}/$entity"), **entity_set.entity(updated)},
                headers={"ETag": etag_of(updated)},
            )
        raise Abort(odata_error(405, "BadRequest_MethodNotAllowed", f"{request.method} is not allowed here."))

    def _check_if_match(self, request: httpx.Request, record: Any) -> None:
        given = request.headers.get("if-match")
        if given is None:
            raise Abort(odata_error(428, "BadRequest", "The If-Match header is required to change a record."))
        if given.strip() != "*" and given.strip() != etag_of(record):
            raise Abort(
                odata_error(
                    412,
                    "Request_EntityChanged",
                    "Could not save because another user has already changed the record.",
                )
            )

    def _body(self, request: httpx.Request) -> Any:
        try:
            return read_json(request)
        except ValueError:
            raise Abort(
                odata_error(400, "BadRequest_InvalidRequestBody", "The request body is not valid JSON.")
            ) from None

    def _write(self, action: Any) -> Any:
        try:
            return action()
        except WriteError as error:
            raise Abort(odata_error(error.status, error.code, error.message)) from None

    def _create(self, request: httpx.Request, entity_set: EntitySet) -> httpx.Response:
        if "create" not in entity_set.operations:
            raise Abort(
                odata_error(405, "BadRequest_MethodNotAllowed", f"{entity_set.name} cannot be created.")
            )
        created = self._write(lambda: entity_set.create(self._body(request)))
        body = entity_set.entity(created, expand=entity_set.lines or None)
        return self._json(
            request,
            {"@odata.context": self._context(f"{entity_set.name}/$entity"), **body},
            status=201,
            headers={"ETag": etag_of(created), "Location": f"{self._origin}{request.url.path}({created.id})"},
        )

    def _list(self, request: httpx.Request, entity_set: EntitySet) -> httpx.Response:
        params = request.url.params
        unknown = sorted(
            name for name in params if name.startswith("$") and name not in _SYSTEM_OPTIONS
        ) + sorted(name for name in params if not name.startswith("$") and name != "cross-company")
        if unknown:
            raise Abort(
                odata_error(400, "BadRequest", f"The query parameter '{unknown[0]}' is not supported.")
            )
        size = _MAX_PAGE
        preference = re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("prefer", ""))
        applied = {}
        if preference:
            size = max(1, min(_MAX_PAGE, int(preference.group(1))))
            applied = {"Preference-Applied": f"odata.maxpagesize={size}"}
        top = params.get("$top")
        if top is not None:
            if not top.isdigit():
                raise Abort(odata_error(400, "BadRequest", "$top must be a non-negative integer."))
            size = min(size, int(top))
        filter_text = params.get("$filter")
        after = self.paging_cursor((entity_set.name, filter_text), params.get("$skiptoken"))
        try:
            records, more = entity_set.page(size=max(size, 1), after=after, filter_text=filter_text)
        except FilterError as error:
            raise Abort(odata_error(400, "BadRequest", str(error))) from None
        if size == 0:
            records, more = [], False
        body: dict[str, Any] = {
            "@odata.context": self._context(entity_set.name),
            "value": [
                entity_set.entity(record, expand=params.get("$expand"), select=_select(params))
                for record in records
            ],
        }
        if more and top is None and records:
            link = request.url.copy_set_param("$skiptoken", records[-1].id)
            body["@odata.nextLink"] = str(link)
        return self._json(request, body, headers=applied)

    def _batch(self, request: httpx.Request) -> httpx.Response:
        body = self._body(request)
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise Abort(odata_error(400, "BadRequest", "A JSON batch needs a 'requests' array."))
        if len(body["requests"]) > 100:
            raise Abort(odata_error(400, "BadRequest", "A batch holds at most 100 requests."))
        root = f"{self._origin}{self.service_path}/"
        responses = []
        for item in body["requests"]:
            url = str(item.get("url", ""))
            headers = {**dict(request.headers), **(item.get("headers") or {})}
            headers.pop("content-length", None)
            content = dumps(item["body"]) if item.get("body") is not None else b""
            inner = httpx.Request(
                str(item.get("method", "GET")),
                url if url.startswith("http") else root + url.lstrip("/"),
                headers=headers,
                content=content,
            )
            try:
                answer = self.emulator.dispatch(inner)
            except Abort as abort:
                answer = abort.response
            answer.read()
            entry: dict[str, Any] = {
                "id": item.get("id"),
                "status": answer.status_code,
                "headers": {
                    k: v
                    for k, v in answer.headers.items()
                    if k.lower() in ("etag", "location", "content-type")
                },
            }
            if answer.content:
                entry["body"] = json.loads(answer.content, parse_float=Decimal)
            responses.append(entry)
        return self._json(request, {"responses": responses})


def _select(params: httpx.QueryParams) -> list[str] | None:
    value = params.get("$select")
    return [name.strip() for name in value.split(",") if name.strip()] if value else None
