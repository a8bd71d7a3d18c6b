"""The Dynamics 365 emulator: Business Central API v2.0 or Finance and Operations, in memory.

``DynamicsEmulator(flavor="business_central")`` (the default, what ``fincon.connect("dynamics",
sandbox=True)`` uses) or ``flavor="finance_operations"``.

Business Central is served by the metadata-driven OData engine (:mod:`fincon.sandbox.odata`)
from BC's own v2.0 ``$metadata`` (in the vendor specs folder: ``$FINCON_SPECS``, else
``../shared/specs``, or ``metadata=``; it is Microsoft's, so it is not shipped with fincon):
entity sets, keys, property types, enum members, navigation (containment under
``companies({id})``, lines joined by ``documentId``) and what each entity set allows come from
it. What is BC's own lives in this folder: the seed (:mod:`._bc_seed`), the server-side logic
of writes and ``Microsoft.NAV.post`` (:mod:`._bc_hooks`), and, here, company scoping, the
Entra ID token endpoint, BC's error codes and service protection (429 with ``Retry-After``).

- an Entra ID token endpoint at ``/{tenant}/oauth2/v2.0/token`` (client credentials, a secret
  or a certificate assertion; ``scope`` ending in ``/.default``) issuing tokens that expire;
- BC at ``/v2.0/{tenant}/{environment}/api/v2.0/companies({id})/{entitySet}``, F&O at
  ``/data/{Entity}`` with natural keys (see :mod:`._fo_emulator`);
- OData V4 JSON: server-driven paging (``Prefer: odata.maxpagesize``), ``$filter`` /
  ``$select`` / ``$expand`` (nested options) / ``$orderby`` / ``$top`` / ``$skip`` /
  ``$count``, ``@odata.etag`` with ``If-Match`` required on PATCH and DELETE (428 without it,
  412 when stale), ``Prefer: return=representation``, decimals as strings under
  ``IEEE754Compatible=true`` (unless ``honour_ieee754=False``), and JSON ``$batch``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import httpx

from fincon.connectors.dynamics._assertions import ASSERTION_TYPE, AssertionRefused, AssertionVerifier
from fincon.connectors.dynamics._bc_documents import DOCUMENTS
from fincon.connectors.dynamics._bc_hooks import BusinessCentralHooks
from fincon.connectors.dynamics._bc_seed import COMPANY_ID, COMPANY_NAME, LOCAL_CURRENCY, BusinessCentralSeed
from fincon.connectors.dynamics._fo_emulator import FinanceOperationsData, odata_error
from fincon.connectors.dynamics._fo_seed import DATA_AREA
from fincon.core.clock import Clock
from fincon.sandbox import (
    AccountRateLimiter,
    ClientCredentialsIssuer,
    FaultPlan,
    json_response,
    retry_after_value,
)
from fincon.sandbox._faults import ResponseFault, ServerErrorFault, ThrottleFault
from fincon.sandbox.odata import ODataEmulator, ODataError, ODataService, ServiceSchema, read_schema

__all__ = ["BC_METADATA", "BC_SCOPE", "DynamicsEmulator"]

BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"
#: BC's v2.0 ``$metadata``, relative to the vendor specs folder.
BC_METADATA = "dynamics365-bc/api-v2.0/metadata.xml"
Flavor = Literal["business_central", "finance_operations"]
_MAX_PAGE = 1000
#: The engine's error codes as Business Central names them.
_BC_CODES = {
    "RESOURCE_NOT_FOUND": "BadRequest_NotFound",
    "INVALID_PROPERTY": "BadRequest_PropertyNotFound",
    "INVALID_BODY": "BadRequest_InvalidRequestBody",
    "PRECONDITION_FAILED": "Request_EntityChanged",
    "METHOD_NOT_ALLOWED": "BadRequest_MethodNotAllowed",
    "ALREADY_EXISTS": "Internal_EntityWithSameKeyExists",
    "ALREADY_POSTED": "Application_DialogException",
    "NOTHING_TO_POST": "Application_DialogException",
    "NOT_IMPLEMENTED": "BadRequest_NotSupported",
    "INTERNAL_ERROR": "Internal_ServerError",
}
#: Paths under the BC service root served without a company (everything else is company data).
_UNSCOPED = ("", "$metadata", "$batch")


@functools.lru_cache(maxsize=4)
def _bc_schema(path: str, stamp: tuple[int, int]) -> ServiceSchema:
    # Parsed once per file version: every emulator shares it (the engine never changes it).
    del stamp
    return read_schema(Path(path))


def _bc_metadata(metadata: str | Path | None) -> ServiceSchema:
    if metadata is None:
        from fincon.testing.specs import SpecNotFound, spec_path

        try:
            path = spec_path(BC_METADATA)
        except SpecNotFound as error:
            raise FileNotFoundError(
                f"the Business Central sandbox needs BC's v2.0 $metadata (not shipped with fincon): "
                f"{error}; pass metadata= or set FINCON_SPECS"
            ) from None
    else:
        path = Path(metadata)
    status = path.stat()
    return _bc_schema(str(path.resolve()), (status.st_mtime_ns, status.st_size))


class DynamicsEmulator(ODataEmulator):
    """Dynamics 365 Business Central (API v2.0) or Finance and Operations, in memory.

    :param metadata: BC's v2.0 ``$metadata`` file (default: found in the vendor specs folder).
    :param honour_ieee754: whether ``IEEE754Compatible=true`` turns decimals into strings (a
        server that ignores it sends exact JSON numbers).
    :param rate_limit: requests per second before BC's service protection answers 429.
    """

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
        metadata: str | Path | None = None,
    ) -> None:
        if flavor not in ("business_central", "finance_operations"):
            raise ValueError("flavor must be 'business_central' or 'finance_operations'")
        self.flavor: Flavor = flavor
        super().__init__(
            seed=seed, size=size, clock=clock, faults=faults, cycle_after_pages=cycle_after_pages
        )
        self.tenant_id = "7e57a1d0-0000-4000-8000-00000000f1c0"
        self.environment = "sandbox"
        self.company_id = COMPANY_ID
        self.company_name = COMPANY_NAME
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
        #: ``(entity set, id)`` of every document posted with ``Microsoft.NAV.post``.
        self.posted: list[tuple[str, str]] = []
        self.fo: FinanceOperationsData | None = None
        self.bc: ODataService | None = None
        if flavor == "business_central":
            self.bc = self._business_central(_bc_metadata(metadata))
        else:
            self.fo = FinanceOperationsData(self)

    def _business_central(self, schema: ServiceSchema) -> ODataService:
        service = self.add_service(self.service_path, schema, max_page_size=_MAX_PAGE)
        BusinessCentralSeed(service, seed=self.seed, size=self.size, clock=self.clock).seed_all()
        hooks = BusinessCentralHooks(self.clock, self.posted)
        service.hooks = hooks
        service.require_if_match = True
        service.honour_ieee754 = self.honour_ieee754
        service.extra_options = frozenset({"$schemaversion"})
        service.max_batch_requests = 100
        for kind in DOCUMENTS.values():
            if kind.postable is not None:
                service.bind_action(kind.postable, "post", hooks.post_action())
        return service

    # -- where it lives ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The service root the connector uses (the loopback server sets the origin)."""
        return self._origin + self.service_path

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._origin = str(httpx.URL(value).copy_with(path="/", query=None)).rstrip("/")
        if self._origin.startswith(("http://127.", "http://[::1]", "http://localhost")):
            self.serving()

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
        if self.bc is not None:
            return self.bc.store(entity_set).collection
        assert self.fo is not None
        return self.fo.sets[entity_set].collection

    # -- faults and errors shaped like Dynamics ------------------------------------------------

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

    def error_body(
        self, request: httpx.Request, service: ODataService | None, error: ODataError
    ) -> dict[str, Any]:
        # BC's error body: a code of its own, a message, nothing else.
        return {"error": {"code": _BC_CODES.get(error.code, "BadRequest"), "message": error.message}}

    # -- requests ---------------------------------------------------------------------------

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        if self.fo is None:
            return super().dispatch(request)  # before() below, then the engine
        early = self._gate(request)
        if early is not None:
            return early
        rest = request.url.path[len(self.service_path) :].lstrip("/")
        return self.fo.handle(request, rest)

    def before(self, request: httpx.Request, service: ODataService | None) -> httpx.Response | None:
        early = self._gate(request)
        if early is not None:
            return early
        rest = request.url.path[len(self.service_path) :].strip("/")
        if rest not in _UNSCOPED and not rest.startswith("companies"):
            # BC's data lives in companies: the entity sets are not served at the root.
            return odata_error(404, "BadRequest_NotFound", "Only companies(...) is served here.")
        return None

    def _gate(self, request: httpx.Request) -> httpx.Response | None:
        """The token endpoint, the service root, authentication and service protection."""
        path = request.url.path
        if path == f"/{self.tenant_id}/oauth2/v2.0/token":
            return self._token(request)
        root = self.service_path
        if not path.startswith(root + "/") and path != root:
            return odata_error(404, "BadRequest_NotFound", f"No resource at {path}.")
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        if self.limiter is not None:
            wait = self.limiter.acquire(self.tenant_id)
            if wait > 0:
                return odata_error(
                    429,
                    "Application_TooManyRequests",
                    "Too many requests reached.",
                    {"Retry-After": retry_after_value(wait)},
                )
        return None

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

    def _authenticate(self, request: httpx.Request) -> httpx.Response | None:
        result = self.tokens.authenticate(request)
        if result.ok:
            return None
        description = "The token is expired" if result.problem == "expired" else "The token is invalid"
        return odata_error(
            401,
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.",
            {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
        )
