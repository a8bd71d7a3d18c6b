"""The Dynamics 365 emulator: Business Central API v2.0 or Finance and Operations, in memory.

``DynamicsEmulator(flavor="business_central")`` (the default, what ``fincon.connect("dynamics",
sandbox=True)`` uses) or ``flavor="finance_operations"``. It speaks the wire protocol the
connector relies on:

- an Entra ID token endpoint at ``/{tenant}/oauth2/v2.0/token`` (client credentials,
  ``scope`` ending in ``/.default``) issuing tokens that expire (``token_ttl``);
- BC at ``/v2.0/{tenant}/{environment}/api/v2.0/companies({id})/{entitySet}``, F&O at
  ``/data/{Entity}`` with natural keys (``dataAreaId='usmf',VendorAccountNumber='V000001'``);
- OData V4 JSON: ``value``, ``@odata.nextLink`` (``$skiptoken`` = the last key, stable
  under writes), ``Prefer: odata.maxpagesize``, ``$filter`` / ``$top`` / ``$select`` /
  ``$expand``, ``@odata.etag`` with ``If-Match`` required on PATCH and DELETE (412 on a
  stale ETag), decimals as strings when the request says ``IEEE754Compatible=true``
  (unless ``honour_ieee754=False``, like a server that ignores it), bound actions
  (``Microsoft.NAV.post``), and JSON ``$batch``;
- OData error bodies ``{"error": {"code", "message"}}`` for every refusal, injected faults
  included; optional throttling like BC's (``rate_limit`` requests per second).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import unquote

import httpx

from fincon.connectors.dynamics._assertions import ASSERTION_TYPE, AssertionRefused, AssertionVerifier
from fincon.connectors.dynamics._bc_seed import LOCAL_CURRENCY, bc_entity_sets
from fincon.connectors.dynamics._entity_store import EntitySet, FilterError, WriteError, etag_of
from fincon.connectors.dynamics._fo_seed import DATA_AREA, fo_entity_sets
from fincon.core.clock import Clock
from fincon.sandbox import (
    Abort,
    AccountRateLimiter,
    ClientCredentialsIssuer,
    Emulator,
    FaultPlan,
    json_response,
    read_json,
    retry_after_value,
)
from fincon.sandbox._faults import ResponseFault, ServerErrorFault, ThrottleFault

__all__ = ["BC_SCOPE", "DynamicsEmulator"]

BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"
Flavor = Literal["business_central", "finance_operations"]
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


def _split_segments(path: str) -> list[str]:
    # Keys may hold '/' inside quotes: split only outside parentheses.
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


class DynamicsEmulator(Emulator):
    """Dynamics 365 Business Central (API v2.0) or Finance and Operations, in memory."""

    system = "dynamics"

    def __init__(
        self,
        *,
        flavor: Flavor = "business_central",
        seed: int = 0,
        size: int = 100,
        clock: Clock | None = None,
        faults: FaultPlan | None = None,
        cycle_after_pages: int | None = None,
        token_ttl: float = 3600.0,
        honour_ieee754: bool = True,
        rate_limit: float | None = None,
    ) -> None:
        if flavor not in ("business_central", "finance_operations"):
            raise ValueError("flavor must be 'business_central' or 'finance_operations'")
        super().__init__(
            seed=seed, size=size, clock=clock, faults=faults, cycle_after_pages=cycle_after_pages
        )
        self.flavor: Flavor = flavor
        self.tenant_id = "7e57a1d0-0000-4000-8000-00000000f1c0"
        self.environment = "sandbox"
        self.company_id = "c0c0a000-0000-4000-8000-000000000001"
        self.company_name = "CRONUS USA, Inc."
        self.data_area = DATA_AREA
        self.local_currency = LOCAL_CURRENCY
        self.client_id = "fincon-sandbox-app"
        self.client_secret = f"dyn-sandbox-secret-{seed:04d}"
        self.tokens = ClientCredentialsIssuer(
            {self.client_id: (self.client_secret, self.tenant_id)},
            ttl=token_ttl,
            clock=self.clock,
            seed=seed,
            token_prefix="eyJ0eXAiOiJKV1Qi.",  # noqa: S106 - a prefix, not a secret
        )
        #: Certificates of the app registration: see :meth:`register_certificate`.
        self.assertions = AssertionVerifier(self.clock)
        self.honour_ieee754 = honour_ieee754
        self.limiter = AccountRateLimiter(rate_limit, clock=self.clock) if rate_limit else None
        self.sets: dict[str, EntitySet] = (
            bc_entity_sets(seed) if flavor == "business_central" else fo_entity_sets(seed)
        )
        for entity_set in self.sets.values():
            entity_set.seed(seed=seed, size=size, clock=self.clock)
        self.posted: list[tuple[str, str]] = []

    # -- where it lives ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The service root the connector uses (the loopback server sets the origin)."""
        return self._origin + self.service_path

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._origin = str(httpx.URL(value).copy_with(path="/", query=None)).rstrip("/")

    @property
    def origin(self) -> str:
        """Scheme, host and port the emulator answers on."""
        return self._origin

    @property
    def service_path(self) -> str:
        if self.flavor == "business_central":
            return f"/v2.0/{self.tenant_id}/{self.environment}/api/v2.0"
        return "/data"

    @property
    def token_url(self) -> str:
        return f"{self._origin}/{self.tenant_id}/oauth2/v2.0/token"

    def credentials(self) -> dict[str, str]:
        settings = {
            "flavor": self.flavor,
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "token_url": self.token_url,
        }
        if self.flavor == "business_central":
            settings.update({"environment": self.environment, "company": self.company_id})
        else:
            settings.update({"environment_url": self._origin, "company": self.data_area})
        return settings

    def register_certificate(self, certificate_pem: str | bytes) -> None:
        """Upload a certificate to the sandbox app registration: the token endpoint then accepts
        client assertions signed by its private key (``certificate=`` credentials)."""
        self.assertions.register(self.client_id, certificate_pem)

    def expire_tokens(self) -> int:
        """End every live token now."""
        return self.tokens.expire_tokens()

    def collection(self, entity_set: str) -> Any:
        """The seeded collection behind an entity set (tests read what is stored)."""
        return self.sets[entity_set].collection

    # -- faults shaped like Dynamics ----------------------------------------------------------

    def fault_response(self, fault: ResponseFault, request: httpx.Request) -> httpx.Response:
        if isinstance(fault, ThrottleFault):
            return odata_error(
                fault.status,
                "Application_TooManyRequests",
                "Too many requests reached. Actual (6001). Maximum (6000).",
                {"Retry-After": fault.retry_after_header(self.clock)},
            )
        if isinstance(fault, ServerErrorFault):
            return odata_error(fault.status, "Internal_ServerError", "Something went wrong.")
        return fault.respond(request, self.clock)

    def internal_error(self, request: httpx.Request) -> httpx.Response:
        return odata_error(500, "Internal_ServerError", "An unexpected error occurred.")

    # -- dispatch -------------------------------------------------------------------------

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == f"/{self.tenant_id}/oauth2/v2.0/token":
            return self._token(request)
        root = self.service_path
        if not path.startswith(root + "/") and path != root:
            raise Abort(odata_error(404, "BadRequest_NotFound", f"No resource at {path}."))
        self._authenticate(request)
        if self.limiter is not None:
            wait = self.limiter.acquire(self.tenant_id)
            if wait > 0:
                raise Abort(
                    odata_error(
                        429,
                        "Application_TooManyRequests",
                        "Too many requests reached.",
                        {"Retry-After": retry_after_value(wait)},
                    )
                )
        rest = unquote(path[len(root) :].lstrip("/"))
        if rest == "$batch" and request.method == "POST":
            return self._batch(request)
        return self._resource(request, _split_segments(rest))

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode("utf-8", "replace")))
        scope = form.get("scope", "")
        expected = BC_SCOPE if self.flavor == "business_central" else f"{self._origin}/.default"
        if request.method == "POST" and form.get("grant_type") == "client_credentials" and scope != expected:
            return json_response(
                {
                    "error": "invalid_scope",
                    "error_description": f"AADSTS70011: The provided value for scope {scope!r} is not valid.",
                },
                status=400,
            )
        if form.get("client_assertion_type") == ASSERTION_TYPE:
            return self._token_for_assertion(form)
        return self.tokens.token_endpoint(request)

    def _token_for_assertion(self, form: Mapping[str, str]) -> httpx.Response:
        client_id = form.get("client_id", "")
        if form.get("grant_type") != "client_credentials" or client_id not in self.tokens.clients:
            return json_response(
                {"error": "invalid_client", "error_description": "AADSTS700016: Unknown application."},
                status=400,
            )
        try:
            self.assertions.verify(
                form.get("client_assertion", ""), client_id=client_id, audience=self.token_url
            )
        except AssertionRefused as refused:
            return json_response({"error": "invalid_client", "error_description": str(refused)}, status=401)
        issued = self.tokens.issue(client_id, scope=form.get("scope"))
        return json_response(
            {"access_token": issued.token, "token_type": "Bearer", "expires_in": int(self.tokens.ttl)},
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _authenticate(self, request: httpx.Request) -> None:
        result = self.tokens.authenticate(request)
        if result.ok:
            return
        description = "The token is expired" if result.problem == "expired" else "The token is invalid"
        raise Abort(
            odata_error(
                401,
                "Authentication_InvalidCredentials",
                "The server has rejected the client credentials.",
                {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
            )
        )

    def _resource(self, request: httpx.Request, segments: list[str]) -> httpx.Response:
        if self.flavor == "business_central":
            if not segments or not segments[0].startswith("companies"):
                raise Abort(odata_error(404, "BadRequest_NotFound", "Only companies(...) is served here."))
            head = _SEGMENT.match(segments[0])
            if head is None or head.group("name") != "companies":
                raise Abort(odata_error(400, "BadRequest", "Cannot read the URL."))
            if head.group("key") is None:
                return self._companies(request)
            if head.group("key").lower() != self.company_id:
                raise Abort(odata_error(404, "Internal_CompanyNotFound", "The company does not exist."))
            segments = segments[1:]
            if not segments:
                return self._companies(request, one=True)
            if segments == ["companyInformation"] and request.method == "GET":
                info = {
                    "id": self.company_id,
                    "displayName": self.company_name,
                    "currencyCode": self.local_currency,
                }
                return self._json(
                    request, {"@odata.context": self._context("companyInformation"), "value": [info]}
                )
        return self._entity_path(request, segments)

    def _companies(self, request: httpx.Request, *, one: bool = False) -> httpx.Response:
        company = {
            "id": self.company_id,
            "systemVersion": "24.0.16410.0",
            "name": self.company_name[:30],
            "displayName": self.company_name,
            "businessProfileId": "",
        }
        if one:
            return self._json(request, {"@odata.context": self._context("companies/$entity"), **company})
        return self._json(request, {"@odata.context": self._context("companies"), "value": [company]})

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
            return self._action(request, entity_set, record, segments[1])
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

    def _action(
        self, request: httpx.Request, entity_set: EntitySet, record: Any, name: str
    ) -> httpx.Response:
        if (
            request.method != "POST"
            or name != "Microsoft.NAV.post"
            or entity_set.name
            not in (
                "purchaseInvoices",
                "salesInvoices",
            )
        ):
            raise Abort(odata_error(404, "BadRequest_NotFound", f"No action {name} on {entity_set.name}."))
        if record.data.get("status") != "Draft":
            raise Abort(odata_error(400, "Application_DialogException", "The document is already posted."))
        entity_set.collection.update(record.id, {**record.data, "status": "Open"})
        self.posted.append((entity_set.name, record.id))
        return httpx.Response(204, headers={"OData-Version": "4.0"})

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
        from fincon.core.jsonenc import dumps

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
                answer = self.dispatch(inner)
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
                import json
                from decimal import Decimal

                entry["body"] = json.loads(answer.content, parse_float=Decimal)
            responses.append(entry)
        return self._json(request, {"responses": responses})


def _select(params: httpx.QueryParams) -> list[str] | None:
    value = params.get("$select")
    return [name.strip() for name in value.split(",") if name.strip()] if value else None
