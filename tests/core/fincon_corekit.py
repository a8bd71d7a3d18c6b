"""A tiny connector and an in-memory HTTP server for testing fincon's core.

Nothing here depends on the real connectors or the sandbox package: ``CoreTestConnector`` is a
``ConnectorCore`` with two ``RestResource`` handlers (vendors, bills) and one hand-written
``ResourceHandler`` (customers, result-id paging), served by :class:`FakeServer` through
``httpx.MockTransport``. The server records every request it receives, so tests assert on what
went over the wire.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from fincon.auth._base import AuthStrategy, Token, TokenManager
from fincon.core.clock import Clock
from fincon.core.connector import ConnectorCore, ConnectorSettings, Identity
from fincon.core.flow import Flow, Send
from fincon.core.pagination import (
    CursorPagination,
    NextLinkPagination,
    OffsetPagination,
    PageTokenPagination,
    PaginationStrategy,
    ResultIdPagination,
    State,
)
from fincon.core.resources import ListQuery, ResourceHandler
from fincon.core.responses import error_for_status, parse_json
from fincon.core.rest import RestResource
from fincon.core.transport import AuditInfo, Call, Requestor
from fincon.errors import AuthError, FinconError
from fincon.models import Bill, Customer, Money, Source, Vendor

SYSTEM = "coretest"
NOKEY_SYSTEM = "corenokey"
STRICT_SYSTEM = "corestrict"
BASE_URL = "https://api.coretest.example"
IDEMPOTENCY_HEADER = "Idempotency-Key"
CLIENT_SECRET = "core-client-secret-Zq81Lm"


# -- mappers ----------------------------------------------------------------------------------


class VendorMapper:
    def to_record(self, payload: Any) -> Vendor:
        return Vendor(
            id=str(payload["id"]),
            name=payload["name"],
            currency=payload.get("currency"),
            external_id=payload.get("external_id"),
            source=Source(system=SYSTEM, resource="vendors", id=str(payload["id"])),
            raw=payload,
        )

    def to_payload(self, record: Vendor) -> dict[str, Any]:
        payload: dict[str, Any] = {"name": record.name}
        if record.id is not None:
            payload["id"] = record.id
        if record.currency is not None:
            payload["currency"] = record.currency
        if record.external_id is not None:
            payload["external_id"] = record.external_id
        return payload

    def changes_payload(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in changes.items()}


class BillMapper:
    def to_record(self, payload: Any) -> Bill:
        total = payload.get("total")
        return Bill(
            id=str(payload["id"]),
            number=payload.get("number"),
            total=Money(total["amount"], total["currency"]) if total else None,
            raw=payload,
        )

    def to_payload(self, record: Bill) -> dict[str, Any]:
        payload: dict[str, Any] = {"number": record.number}
        if record.total is not None:
            payload["total"] = {"amount": record.total.amount, "currency": record.total.currency}
        return payload

    def changes_payload(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        return dict(changes)


class CustomerMapper:
    def to_record(self, payload: Any) -> Customer:
        return Customer(id=str(payload["id"]), name=payload["name"], raw=payload)

    def to_payload(self, record: Customer) -> dict[str, Any]:
        return {"id": record.id, "name": record.name}

    def changes_payload(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        return dict(changes)


MAPPING = SimpleNamespace(
    MAPPERS={"vendor": VendorMapper(), "bill": BillMapper(), "customer": CustomerMapper()}
)


# -- resources --------------------------------------------------------------------------------


class Vendors(RestResource[Vendor]):
    name = "vendor"
    path = "/v1/vendors"
    mapper = VendorMapper()
    strategy: ClassVar[PaginationStrategy] = CursorPagination()
    updated_since_param = "updated_since"
    filter_params: ClassVar[Mapping[str, str]] = {"status": "status", "external_id": "external_id"}


class Bills(RestResource[Bill]):
    name = "bill"
    path = "/v1/bills"
    mapper = BillMapper()


class Customers(ResourceHandler[Customer]):
    """Hand-written: list (result-id continuation, like Intacct readMore) and get, nothing else."""

    name = "customer"
    mechanism = "result_id"
    default_page_size = 2
    max_page_size = 50
    strategy = ResultIdPagination()

    def __init__(self, core: ConnectorCore) -> None:
        self.requestor = core.requestor
        self.system = core.system

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Customer], State | None]]:
        if state is None:
            call = Call("GET", "/v1/customers/query", params={"pagesize": query.page_size})
        else:
            call = Call("GET", "/v1/customers/readMore", params={"resultId": state["result_id"]})
        call.audit = AuditInfo("list", self.name)
        response = yield from self.requestor.call(call)
        body = parse_json(response, system=self.system)
        mapper = CustomerMapper()
        return [mapper.to_record(p) for p in body["data"]], self.strategy.next_state(
            state, body, body["data"]
        )

    def get(self, id: str) -> Flow[Customer]:
        response = yield from self.requestor.call(Call("GET", f"/v1/customers/{id}"))
        return CustomerMapper().to_record(parse_json(response, system=self.system))


STRATEGIES: dict[str, PaginationStrategy] = {
    "cursor": CursorPagination(),
    "next_link": NextLinkPagination(link_path=("@odata.nextLink",)),
    "offset_has_more": OffsetPagination(has_more_field="hasMore"),
    "offset_total": OffsetPagination(has_more_field=None, total_field="total"),
    "page_token": PageTokenPagination(),
}


def vendors_with(mode: str) -> type[Vendors]:
    """A vendor resource paging with the strategy ``mode`` (the server must page the same way)."""
    return type(f"Vendors_{mode}", (Vendors,), {"strategy": STRATEGIES[mode]})


# -- native extras ----------------------------------------------------------------------------


class Native:
    def __init__(self, requestor: Requestor, run: Callable[[Flow[Any]], Any]) -> None:
        self._requestor = requestor
        self._run = run

    def exists(self, id: str) -> Any:
        """True if the vendor exists: a 404 is an answer here, not an error (``allow_status``)."""
        return self._run(self._exists(id))

    def _exists(self, id: str) -> Flow[bool]:
        response = yield from self._requestor.call(Call("GET", f"/v1/vendors/{id}", allow_status=(404,)))
        return bool(response.status_code == 200)

    def create_proven(self, name: str, external_id: str) -> Any:
        """A keyless create that proves, after an ambiguous failure, whether it was applied."""
        return self._run(self._create_proven(name, external_id))

    def _create_proven(self, name: str, external_id: str) -> Flow[Any]:
        def prove(error: FinconError) -> Flow[bool]:
            found = yield from self._requestor.call(
                Call("GET", "/v1/vendors", params={"external_id": external_id})
            )
            return not parse_json(found)["data"]

        response = yield from self._requestor.call(
            Call(
                "POST",
                "/v1/vendors",
                json={"name": name, "external_id": external_id},
                prove_not_applied=prove,
            )
        )
        return parse_json(response)


# -- connectors -------------------------------------------------------------------------------


class CoreTestConnector(ConnectorCore):
    system = SYSTEM
    description = "fincon core test connector"
    default_base_url = BASE_URL
    idempotency_header = IDEMPOTENCY_HEADER
    resources: ClassVar[Mapping[str, type[ResourceHandler[Any]]]] = {
        "vendor": Vendors,
        "bill": Bills,
        "customer": Customers,
    }

    def parse_error(self, response: httpx.Response) -> FinconError | None:
        if response.status_code < 400:
            return None
        try:
            body = json.loads(response.content)
        except ValueError:
            return None
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return None
        return error_for_status(
            response, system=self.system, message=error.get("message"), code=error.get("code"), details=error
        )

    def check_flow(self) -> Flow[Identity]:
        response = yield from self.requestor.call(Call("GET", "/v1/me"))
        body = parse_json(response, system=self.system)
        return Identity(system=self.system, account=body["account"], user=body["user"])

    def make_native(self, run: Callable[[Flow[Any]], Any]) -> Any:
        return Native(self.requestor, run)


class NoKeyConnector(CoreTestConnector):
    """The same API, but the system has no idempotency keys."""

    system = NOKEY_SYSTEM
    idempotency_header = None


class StrictSettings(ConnectorSettings):
    account: str
    api_key: SecretStr


class StrictConnector(CoreTestConnector):
    """A connector with required settings of its own."""

    system = STRICT_SYSTEM
    settings_model = StrictSettings


def connector_with(mode: str, system: str = SYSTEM) -> type[CoreTestConnector]:
    """CoreTestConnector whose vendors page with ``mode``."""
    resources = {**CoreTestConnector.resources, "vendor": vendors_with(mode)}
    return type(f"CoreTest_{mode}", (CoreTestConnector,), {"resources": resources, "system": system})


# -- auth -------------------------------------------------------------------------------------


class CountingBearer(AuthStrategy):
    """Client credentials for a bearer token from ``POST /oauth/token``; counts refreshes after 401s."""

    def __init__(self, client_id: str = "core-client", client_secret: str = CLIENT_SECRET) -> None:
        self.client_id = client_id
        self._secret = SecretStr(client_secret)
        self.manager = TokenManager(self._fetch)
        self.refreshes = 0
        self._base_url = ""

    def bind(self, *, clock: Clock, base_url: str | None = None) -> None:
        super().bind(clock=clock, base_url=base_url)
        self.manager.clock = clock
        self._base_url = (base_url or "").rstrip("/")

    def _fetch(self, current: Token | None) -> Flow[Token]:
        request = httpx.Request(
            "POST",
            f"{self._base_url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": self.client_id},
            headers={"X-Client-Secret": self._secret.get_secret_value()},
        )
        response: httpx.Response = yield Send(request)
        if response.status_code != 200:
            raise AuthError("the token endpoint refused the client", status=response.status_code)
        body = response.json()
        return Token(
            body["access_token"], expires_at=self.clock.now() + timedelta(seconds=body["expires_in"])
        )

    def auth_flow(self, request: httpx.Request) -> Flow[None]:
        token = yield from self.manager.token_flow()
        request.headers["Authorization"] = f"Bearer {token.value}"

    def refresh_flow(self, request: httpx.Request, response: httpx.Response) -> Flow[bool]:
        self.refreshes += 1
        yield from self.manager.token_flow(stale=self.manager.token)
        return True

    def secret_values(self) -> Iterable[str]:
        return (self._secret.get_secret_value(),)


# -- the server -------------------------------------------------------------------------------


@dataclass
class Fault:
    """What to do to the next matching request instead of (or after) serving it."""

    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    #: Raise this instead of answering (e.g. ``httpx.ConnectError``).
    error: type[Exception] | None = None
    #: Serve the request (a write is applied), then raise ``error``: the response is lost.
    after_processing: bool = False
    method: str | None = None
    path: str | None = None

    def matches(self, request: httpx.Request) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        return self.path is None or request.url.path.startswith(self.path)


def wire_json(value: Any) -> str:
    """JSON as a vendor writes it: Decimals as plain numbers (independent of fincon's encoder)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{wire_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(wire_json(v) for v in value) + "]"
    return json.dumps(value)


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=wire_json(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


class FakeServer:
    """An in-memory API: vendors (five paging modes), bills, customers (result ids), OAuth tokens.

    Every request is recorded in :attr:`requests` before anything else happens.
    """

    def __init__(self, *, vendors: int = 0, pagination: str = "cursor", require_auth: bool = False) -> None:
        self.lock = threading.RLock()
        self.requests: list[httpx.Request] = []
        self.faults: list[Fault] = []
        self.pagination = pagination
        self.page_size_default = 2
        self.require_auth = require_auth
        self.reject_all_tokens = False
        self.tokens: set[str] = set()
        self.token_requests = 0
        #: Where next-links point (None: the request's own origin).
        self.next_link_origin: str | None = None
        #: page_token mode: token -> next token (None ends), overriding the real listing.
        self.token_graph: dict[str | None, str | None] | None = None
        self.vendors: dict[str, dict[str, Any]] = {}
        self.bills: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.result_sets: dict[str, list[dict[str, Any]]] = {}
        self.idempotent_responses: dict[str, tuple[int, Any]] = {}
        self._counter = 0
        for index in range(1, vendors + 1):
            vid = f"v{index:03d}"
            self.vendors[vid] = {
                "id": vid,
                "name": f"Vendor {index}",
                "currency": "USD",
                "status": "active" if index % 2 else "inactive",
                "credit_limit": Decimal("0.1") * index,
            }

    # -- test helpers
    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != "/oauth/token"]

    def sent(self, method: str, path_prefix: str = "/") -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path.startswith(path_prefix)]

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def seed_customers(self, count: int) -> None:
        for index in range(1, count + 1):
            cid = f"c{index:03d}"
            self.customers[cid] = {"id": cid, "name": f"Customer {index}"}

    # -- the handler
    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            fault = next((f for f in self.faults if f.matches(request)), None)
            if fault is not None:
                self.faults.remove(fault)
            if fault is not None and not fault.after_processing:
                if fault.error is not None:
                    raise fault.error("injected failure", request=request)  # type: ignore[call-arg]
                body = (
                    fault.body if fault.body is not None else {"error": {"code": "injected", "message": "x"}}
                )
                if isinstance(body, (bytes, str)):
                    return httpx.Response(fault.status, content=body, headers=fault.headers)
                return _json(fault.status, body, {**self._ids(), **fault.headers})
            response = self._route(request)
            if fault is not None:
                assert fault.error is not None
                raise fault.error("connection dropped after the request was served", request=request)  # type: ignore[call-arg]
            response.headers.update(self._ids())
            return response

    def _ids(self) -> dict[str, str]:
        self._counter += 1
        return {"x-request-id": f"req_{self._counter:05d}"}

    def _next_id(self, prefix: str, table: Mapping[str, Any]) -> str:
        return f"{prefix}{len(table) + 1:03d}"

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for root in ("/v1/", "/oauth/"):
            if root in path:  # a base_url with a path prefix (a proxy, a regional host)
                path = path[path.index(root) :]
        method = request.method
        if path == "/oauth/token" and method == "POST":
            return self._token(request)
        if self.require_auth and not self._authorized(request):
            return _json(
                401, {"error": {"code": "invalid_token", "message": "the access token is not valid"}}
            )
        if path == "/v1/me":
            return _json(200, {"account": "acct_core", "user": "tester"})
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "vendors"]:
            return self._crud(request, self.vendors, "v", parts[2:], self._list_vendors)
        if parts[:2] == ["v1", "bills"]:
            return self._crud(request, self.bills, "b", parts[2:], self._list_plain(self.bills))
        if parts[:2] == ["v1", "customers"]:
            return self._customers(request, parts[2:])
        return _json(404, {"error": {"code": "no_route", "message": f"no route {method} {path}"}})

    def _authorized(self, request: httpx.Request) -> bool:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ")
        return bool(header.startswith("Bearer ")) and token in self.tokens and not self.reject_all_tokens

    def _token(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-client-secret") != CLIENT_SECRET:
            return _json(401, {"error": "invalid_client"})
        self.token_requests += 1
        token = f"access-{self.token_requests:03d}-{uuid.uuid4().hex[:12]}"
        self.tokens.add(token)
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _crud(
        self,
        request: httpx.Request,
        table: dict[str, dict[str, Any]],
        prefix: str,
        rest: list[str],
        lister: Callable[[httpx.Request], httpx.Response],
    ) -> httpx.Response:
        method = request.method
        if not rest:
            if method == "GET":
                return lister(request)
            if method == "POST":
                key = request.headers.get(IDEMPOTENCY_HEADER)
                if key is not None and key in self.idempotent_responses:
                    status, body = self.idempotent_responses[key]
                    return _json(status, body)
                payload = json.loads(request.content, parse_float=Decimal)
                if payload.get("name") == "reject me":
                    return _json(
                        422,
                        {
                            "error": {
                                "code": "name_invalid",
                                "message": "name is not allowed",
                                "field": "name",
                            }
                        },
                    )
                new_id = self._next_id(prefix, table)
                record = {**payload, "id": new_id}
                table[new_id] = record
                if key is not None:
                    self.idempotent_responses[key] = (201, record)
                return _json(201, record)
        elif len(rest) == 1:
            record_id = rest[0]
            if record_id not in table:
                return _json(404, {"error": {"code": "not_found", "message": f"no record {record_id}"}})
            if method == "GET":
                return _json(200, table[record_id])
            if method in ("PATCH", "PUT"):
                table[record_id] = {
                    **table[record_id],
                    **json.loads(request.content, parse_float=Decimal),
                    "id": record_id,
                }
                return _json(200, table[record_id])
            if method == "DELETE":
                del table[record_id]
                return httpx.Response(204)
        return _json(405, {"error": {"code": "method", "message": "method not allowed"}})

    def _list_plain(self, table: dict[str, dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
        def lister(request: httpx.Request) -> httpx.Response:
            return _json(200, {"data": list(table.values()), "has_more": False})

        return lister

    def _filtered_vendors(self, request: httpx.Request) -> list[dict[str, Any]]:
        params = request.url.params
        items = list(self.vendors.values())
        for name in ("status", "external_id"):
            if name in params:
                items = [v for v in items if v.get(name) == params[name]]
        return items

    def _list_vendors(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        items = self._filtered_vendors(request)
        mode = self.pagination
        if mode == "cursor":
            limit = int(params.get("limit", self.page_size_default))
            start = 0
            if "starting_after" in params:
                ids = [v["id"] for v in items]
                start = ids.index(params["starting_after"]) + 1
            page = items[start : start + limit]
            return _json(200, {"data": page, "has_more": start + limit < len(items)})
        if mode == "next_link":
            skip = int(params.get("$skip", 0))
            size = self.page_size_default
            body: dict[str, Any] = {"data": items[skip : skip + size]}
            if skip + size < len(items):
                origin = self.next_link_origin or f"{request.url.scheme}://{request.url.netloc.decode()}"
                body["@odata.nextLink"] = f"{origin}/v1/vendors?$skip={skip + size}"
            return _json(200, body)
        if mode in ("offset_has_more", "offset_total"):
            offset = int(params.get("offset", 0))
            limit = int(params.get("limit", self.page_size_default))
            body = {"data": items[offset : offset + limit]}
            if mode == "offset_has_more":
                body["hasMore"] = offset + limit < len(items)
            else:
                body["total"] = len(items)
            return _json(200, body)
        if mode == "page_token":
            if self.token_graph is not None:
                token = params.get("pageToken")
                following = self.token_graph.get(token)
                return _json(
                    200, {"data": [{"id": f"t-{token}", "name": f"node {token}"}], "nextPageToken": following}
                )
            size = int(params.get("pageSize", self.page_size_default))
            offset = 0
            if "pageToken" in params:
                offset = int(base64.b64decode(params["pageToken"]).decode().removeprefix("at:"))
            following = (
                base64.b64encode(f"at:{offset + size}".encode()).decode()
                if offset + size < len(items)
                else None
            )
            return _json(200, {"data": items[offset : offset + size], "nextPageToken": following})
        raise AssertionError(f"unknown paging mode {mode}")

    def _customers(self, request: httpx.Request, rest: list[str]) -> httpx.Response:
        params = request.url.params
        if rest == ["query"]:
            size = int(params["pagesize"])
            items = list(self.customers.values())
            result_id = f"R{len(self.result_sets) + 1}"
            self.result_sets[result_id] = [*items]
            page, remaining = items[:size], items[size:]
            self.result_sets[result_id] = remaining
            self.result_sets[f"{result_id}:size"] = [{"size": size}]
            return _json(200, {"data": page, "resultId": result_id, "numremaining": len(remaining)})
        if rest == ["readMore"]:
            result_id = params["resultId"]
            remaining = self.result_sets.get(result_id)
            if remaining is None:
                return _json(404, {"error": {"code": "no_result", "message": "result set expired"}})
            size = self.result_sets[f"{result_id}:size"][0]["size"]
            page, remaining = remaining[:size], remaining[size:]
            self.result_sets[result_id] = remaining
            return _json(200, {"data": page, "resultId": result_id, "numremaining": len(remaining)})
        if len(rest) == 1 and rest[0] in self.customers:
            return _json(200, self.customers[rest[0]])
        return _json(404, {"error": {"code": "not_found", "message": "no such customer"}})
