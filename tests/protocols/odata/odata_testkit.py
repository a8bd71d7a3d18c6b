"""A tiny in-memory OData service (V2 or V4) behind ``httpx.MockTransport``, and a connector on it.

It understands just what :class:`~fincon.protocols.odata.ODataResource` sends: ``$top``,
``$skip``, ``$orderby`` on one key, key predicates (composite too), POST, MERGE/PATCH with
``If-Match`` checks, DELETE. ``server_page`` makes it page server-side with ``$skiptoken``
next-links (inside the client's ``$top`` window, like SAP Gateway); V4 also honours
``Prefer: odata.maxpagesize``. Every request is recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

import httpx

from fincon.core.client import AsyncConnector, Connector
from fincon.core.clock import FakeClock
from fincon.core.connector import ConnectorCore, ConnectorSettings
from fincon.core.jsonenc import dumps
from fincon.errors import FinconError
from fincon.models import Vendor
from fincon.protocols.odata import ODataResource, ODataVersion, compose_id, parse_odata_error

BASE_URL = "https://odata.test"
SERVICE = "/svc"
_KEY_PAIR = re.compile(r"(\w+)=('(?:[^']|'')*'|[^,]+)")


def _unliteral(text: str) -> str:
    text = text.strip()
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    return text


@dataclass
class EntitySetData:
    keys: tuple[str, ...]
    rows: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    versions: dict[tuple[str, ...], int] = field(default_factory=dict)

    def key_of(self, row: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(str(row[k]) for k in self.keys)

    def add(self, row: dict[str, Any]) -> tuple[str, ...]:
        key = self.key_of(row)
        self.rows[key] = row
        self.versions[key] = self.versions.get(key, 0) + 1
        return key


class ODataServer:
    """The service: entity sets by name, answering one version's JSON."""

    def __init__(self, version: ODataVersion, *, server_page: int | None = None) -> None:
        self.version = version
        self.server_page = server_page
        self.sets: dict[str, EntitySetData] = {}
        self.requests: list[httpx.Request] = []
        #: Rewrites a next-link before it is sent (tests of hostile servers).
        self.next_link_override: str | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def etag(self, name: str, key: tuple[str, ...]) -> str:
        return f'W/"{self.sets[name].versions[key]}"'

    def entity(self, name: str, key: tuple[str, ...]) -> dict[str, Any]:
        row = dict(self.sets[name].rows[key])
        if self.version.is_v4:
            return {"@odata.etag": self.etag(name, key), **row}
        return {"__metadata": {"etag": self.etag(name, key), "type": f"svc.{name}"}, **row}

    # -- HTTP ------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raw_path = request.url.raw_path.decode()
        path, _, query = raw_path.partition("?")
        match = re.fullmatch(rf"{SERVICE}/(\w+)(?:\((.*)\))?", path)
        if match is None or match.group(1) not in self.sets:
            return self.error(404, "NotFound", "no such resource")
        name, predicate = match.group(1), match.group(2)
        params = dict(parse_qsl(query, keep_blank_values=True))
        method = request.headers.get("x-http-method", request.method)
        if predicate is None:
            if method == "GET":
                return self.collection(name, params, raw_path, request)
            if method == "POST":
                row = json.loads(request.content, parse_float=Decimal)
                key = self.sets[name].add(row)
                return self.json(201, self.wrap(self.entity(name, key)))
            return self.error(405, "MethodNotAllowed", method)
        key = self.parse_key(name, unquote(predicate))
        if key not in self.sets[name].rows:
            return self.error(404, "NotFound", f"{name}{key} does not exist")
        if method == "GET":
            return self.json(200, self.wrap(self.entity(name, key)))
        if_match = request.headers.get("if-match")
        if if_match not in ("*", self.etag(name, key)):
            return self.error(412, "PreconditionFailed", "the entity was changed by someone else")
        if method in ("MERGE", "PATCH"):
            self.sets[name].rows[key].update(json.loads(request.content, parse_float=Decimal))
            self.sets[name].versions[key] += 1
            if self.version.is_v4 and "return=representation" in request.headers.get("prefer", ""):
                return self.json(200, self.entity(name, key))
            return httpx.Response(204)
        if method == "DELETE":
            del self.sets[name].rows[key]
            return httpx.Response(204)
        return self.error(405, "MethodNotAllowed", method)

    def parse_key(self, name: str, predicate: str) -> tuple[str, ...]:
        keys = self.sets[name].keys
        if len(keys) == 1 and "=" not in predicate.split("'")[0]:
            return (_unliteral(predicate),)
        pairs = {k: _unliteral(v) for k, v in _KEY_PAIR.findall(predicate)}
        return tuple(pairs.get(k, "") for k in keys)

    def collection(
        self, name: str, params: dict[str, str], raw_path: str, request: httpx.Request
    ) -> httpx.Response:
        data = self.sets[name]
        rows = [data.rows[k] for k in sorted(data.rows)]
        skip = int(params.get("$skip", 0))
        top = int(params["$top"]) if "$top" in params else len(rows)
        window = rows[skip : skip + top]
        page_cap = self.server_page
        prefer = re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("prefer", ""))
        if self.version.is_v4 and prefer:
            page_cap = int(prefer.group(1)) if page_cap is None else min(page_cap, int(prefer.group(1)))
        token = int(params.get("$skiptoken", 0))
        items = window[token:]
        next_link = None
        if page_cap is not None and len(items) > page_cap:
            items = items[:page_cap]
            base = re.sub(r"[&?]\$skiptoken=\d+", "", raw_path)
            joiner = "&" if "?" in base else "?"
            next_link = f"{BASE_URL}{base}{joiner}$skiptoken={token + page_cap}"
        if next_link and self.next_link_override is not None:
            next_link = self.next_link_override
        entities = [self.entity(name, data.key_of(row)) for row in items]
        if self.version.is_v4:
            body: dict[str, Any] = {"value": entities}
            if next_link:
                body["@odata.nextLink"] = next_link
            return self.json(200, body)
        inner: dict[str, Any] = {"results": entities}
        if next_link:
            inner["__next"] = next_link
        return self.json(200, {"d": inner})

    def wrap(self, entity: dict[str, Any]) -> dict[str, Any]:
        return entity if self.version.is_v4 else {"d": entity}

    def json(self, status: int, body: Any) -> httpx.Response:
        return httpx.Response(status, content=dumps(body), headers={"content-type": "application/json"})

    def error(self, status: int, code: str, message: str) -> httpx.Response:
        value: Any = message if self.version.is_v4 else {"lang": "en", "value": message}
        return self.json(status, {"error": {"code": code, "message": value}})


# -- a connector on it ------------------------------------------------------------------------------


class SupplierMapper:
    key_fields: ClassVar[tuple[str, ...]] = ("Supplier",)

    def to_record(self, payload: Any) -> Vendor:
        return Vendor(
            id=compose_id([str(payload[k]) for k in self.key_fields]), name=payload["Name"], raw=payload
        )

    def to_payload(self, record: Vendor) -> dict[str, Any]:
        return {"Supplier": record.id, "Name": record.name}

    def changes_payload(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        return {"Name": changes["name"]} if "name" in changes else {}


class ItemMapper(SupplierMapper):
    key_fields = ("CompanyCode", "FiscalYear", "Document")

    def to_payload(self, record: Vendor) -> dict[str, Any]:
        raise NotImplementedError


class Suppliers(ODataResource[Vendor]):
    name = "vendor"
    version = ODataVersion.V2
    service_path = SERVICE
    entity_set = "Suppliers"
    key_fields = ("Supplier",)
    updated_field = "Changed"
    updated_field_type = "Edm.DateTimeOffset"
    filter_fields: ClassVar[Mapping[str, str]] = {"name": "Name"}
    mapper = SupplierMapper()


class Items(ODataResource[Vendor]):
    """A composite-key set, mapped onto Vendor records to keep the kit small."""

    name = "customer"
    version = ODataVersion.V2
    service_path = SERVICE
    entity_set = "Items"
    key_fields = ("CompanyCode", "FiscalYear", "Document")
    mapper = ItemMapper()


class V4Vendors(Suppliers):
    version = ODataVersion.V4
    paging = "server"


class V2Core(ConnectorCore):
    system = "odatatest"
    resources: ClassVar[Mapping[str, type[Any]]] = {"vendor": Suppliers, "customer": Items}

    def parse_error(self, response: httpx.Response) -> FinconError | None:
        # How a connector wires OData error bodies into the requestor.
        return parse_odata_error(response, system=self.system)


class V4Core(V2Core):
    system = "odatatest4"
    resources: ClassVar[Mapping[str, type[Any]]] = {"vendor": V4Vendors}


def seeded(version: ODataVersion, *, suppliers: int = 5, server_page: int | None = None) -> ODataServer:
    server = ODataServer(version, server_page=server_page)
    server.sets["Suppliers"] = EntitySetData(("Supplier",))
    for n in range(1, suppliers + 1):
        server.sets["Suppliers"].add({"Supplier": f"{n:04d}", "Name": f"Supplier {n}"})
    server.sets["Items"] = EntitySetData(("CompanyCode", "FiscalYear", "Document"))
    server.sets["Items"].add(
        {"CompanyCode": "1010", "FiscalYear": "2026", "Document": "51/1", "Name": "slash"}
    )
    server.sets["Items"].add(
        {"CompanyCode": "1010", "FiscalYear": "2025", "Document": "51/1", "Name": "older"}
    )
    return server


def _core(server: ODataServer) -> ConnectorCore:
    core_class = V4Core if server.version.is_v4 else V2Core
    return core_class(ConnectorSettings(base_url=BASE_URL, clock=FakeClock(), max_retries=0))


def connect(server: ODataServer) -> Connector:
    return Connector(_core(server), httpx.Client(transport=server.transport()))


def connect_async(server: ODataServer) -> AsyncConnector:
    return AsyncConnector(_core(server), httpx.AsyncClient(transport=server.transport()))
