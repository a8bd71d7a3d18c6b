"""``SapEmulator``: SAP S/4HANA's OData V2 APIs in memory, driven by SAP's own EDMX files.

Services (under ``/sap/opu/odata/sap/``): ``API_BUSINESS_PARTNER``, ``API_SUPPLIERINVOICE_PROCESS_SRV``,
``API_PURCHASEORDER_PROCESS_SRV``, ``API_GLACCOUNTINCHARTOFACCOUNTS_SRV``, ``API_GLACCOUNTLINEITEM``,
``API_OPLACCTGDOCITEMCUBE_SRV``, ``API_JOURNALENTRYITEMBASIC_SRV``. Entity sets, keys and types come
from the EDMX files in the vendor specs folder (``$FINCON_SPECS``, else ``../shared/specs``, or
``metadata_dir=``); they are SAP's, so they are not shipped with fincon.

What SAP Gateway does and the emulator therefore does too:

- HTTP Basic (``user``/``password``) or an OAuth2 client-credentials token from ``/oauth/token``;
- ``sap-client`` on every request (another client is refused with SAP's logon error, and so
  is a request without one: SAP would log it on to its default client, rarely the one meant);
- CSRF: ``x-csrf-token: Fetch`` on a safe request returns a token bound to a session cookie;
  modifying requests without a valid token and cookie get ``403`` and ``x-csrf-token: Required``;
- ``sap-message`` headers (JSON, with ``severity``) queued by tests with :meth:`queue_message`;
- SAP's V2 error body, with ``innererror`` (``transactionid``, ``errordetails``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from fincon.connectors.sap._seed import SapSeed
from fincon.core.clock import Clock
from fincon.sandbox import (
    AccountRateLimiter,
    ClientCredentialsIssuer,
    FaultPlan,
    IdScheme,
    ResponseFault,
    SeedRandom,
    basic_credentials,
    bearer_token,
)
from fincon.sandbox.odata import EntityStore, ODataEmulator, ODataError, ODataService, standard_error_body

__all__ = ["SANDBOX_CLIENT_ID", "SANDBOX_CLIENT_SECRET", "SERVICES", "SapEmulator"]

SERVICE_ROOT = "/sap/opu/odata/sap"
SERVICES = (
    "API_BUSINESS_PARTNER",
    "API_SUPPLIERINVOICE_PROCESS_SRV",
    "API_PURCHASEORDER_PROCESS_SRV",
    "API_GLACCOUNTINCHARTOFACCOUNTS_SRV",
    "API_GLACCOUNTLINEITEM",
    "API_OPLACCTGDOCITEMCUBE_SRV",
    "API_JOURNALENTRYITEMBASIC_SRV",
)
SANDBOX_CLIENT_ID = "fincon-sap-sandbox"
SANDBOX_CLIENT_SECRET = "fincon-sap-sandbox-oauth-secret"  # noqa: S105 - the sandbox's own, public
_MODIFYING = frozenset({"POST", "PUT", "PATCH", "MERGE", "DELETE"})
_SESSION_COOKIE = "SAP_SESSIONID_FIN_{client}"


def _metadata_path(name: str, metadata_dir: str | Path | None) -> Path:
    if metadata_dir is not None:
        path = Path(metadata_dir) / f"{name}.edmx"
    else:
        from fincon.testing.specs import SpecNotFound, spec_path

        try:
            path = spec_path(f"sap-s4hana/{name}.edmx")
        except SpecNotFound as error:
            raise FileNotFoundError(
                f"the SAP sandbox needs SAP's EDMX files (not shipped with fincon): {error}; "
                "pass metadata_dir= or set FINCON_SPECS"
            ) from None
    if not path.is_file():
        raise FileNotFoundError(f"the SAP sandbox needs {path}")
    return path


class SapEmulator(ODataEmulator):
    """SAP S/4HANA Cloud for fincon's sandbox (see the module doc).

    :param size: records per canonical resource (suppliers, customers, invoices, orders,
        journal entries, open items; G/L accounts are capped at 500).
    :param sap_client: the client (``Mandant``) every request must name in ``sap-client``
        (a request with another client or none is refused with 401); ``None`` accepts any.
    :param max_page_size: server-driven paging: the most entities in one response.
    :param token_ttl: lifetime of OAuth2 tokens in seconds.
    :param metadata_dir: a folder with the EDMX files (default: the vendor specs folder).
    :param fragment_cache: serialised entities kept for fast re-reads (benchmarks).
    """

    system = "sap"

    def __init__(
        self,
        *,
        seed: int = 0,
        size: int = 100,
        clock: Clock | None = None,
        faults: FaultPlan | None = None,
        cycle_after_pages: int | None = None,
        sap_client: str | None = "100",
        max_page_size: int = 5000,
        token_ttl: float = 3600.0,
        metadata_dir: str | Path | None = None,
        fragment_cache: int = 0,
        rate_limit: float | None = None,
    ) -> None:
        super().__init__(
            seed=seed, size=size, clock=clock, faults=faults, cycle_after_pages=cycle_after_pages
        )
        self.base_url = "https://my300000-api.s4hana.sandbox.fincon.invalid"
        self.sap_client = sap_client
        secrets = SeedRandom(seed, "sap-credentials")
        self.user = "FINCON_COMM_USER"
        self.password = f"Sbx-{secrets.next64():016x}{secrets.next64():08x}"
        self.issuer = ClientCredentialsIssuer(
            {SANDBOX_CLIENT_ID: (SANDBOX_CLIENT_SECRET, "300000")},
            ttl=token_ttl,
            clock=self.clock,
            seed=seed,
            token_prefix="sap_",  # noqa: S106 - a prefix, not a secret
        )
        self.limiter = (
            AccountRateLimiter(rate_limit, burst=int(rate_limit * 2), clock=self.clock)
            if rate_limit
            else None
        )
        #: session id -> CSRF token; cleared by :meth:`expire_csrf_tokens`.
        self.csrf_sessions: dict[str, str] = {}
        self.csrf_issued = 0
        self._secrets = SeedRandom(seed, "sap-csrf")
        self._messages: list[dict[str, Any]] = []
        self.data = SapSeed(seed, size)
        for name in SERVICES:
            self.add_service(
                f"{SERVICE_ROOT}/{name}",
                _metadata_path(name, metadata_dir),
                max_page_size=max_page_size,
                fragment_cache=fragment_cache,
            )
        self._seed_all()

    # -- data ----------------------------------------------------------------------------------------

    def service(self, name: str) -> ODataService:
        """The mounted service ``name`` (``"API_BUSINESS_PARTNER"``)."""
        return self.services[f"{SERVICE_ROOT}/{name}"]

    def store(self, service: str, entity_set: str) -> EntityStore:
        """The entities of ``entity_set`` in ``service`` (tests inspect and change them)."""
        return self.service(service).store(entity_set)

    def _seed_all(self) -> None:
        data, size, seed, clock = self.data, self.size, self.seed, self.clock

        def by_index(ids: IdScheme, count: int) -> Any:
            def seeded_id(key: tuple[Any, ...]) -> str | None:
                index = ids.parse(str(key[0]))
                return ids.format(index) if index is not None and index < count else None

            return seeded_id

        def related(ids: IdScheme, parent: IdScheme, field: str, per_parent: int, count: int) -> Any:
            def children(values: Mapping[str, Any]) -> Iterable[str] | None:
                index = parent.parse(str(values.get(field, "")))
                if index is None or index * per_parent >= count:
                    return [] if field in values else None
                return [ids.format(index * per_parent + offset) for offset in range(per_parent)]

            return children

        def position(ids: IdScheme, parent: IdScheme, field: str, per_parent: int, item: Any) -> Any:
            def seeded_id(key: tuple[Any, ...]) -> str | None:
                index = parent.parse(str(key[0]))
                offset = item(key)
                if index is None or offset is None or not 0 <= offset < per_parent:
                    return None
                return ids.format(index * per_parent + offset)

            return seeded_id

        bp = self.service("API_BUSINESS_PARTNER")
        common = {"seed": seed, "clock": clock, "key_ordered": True}
        bp_store = bp.seed(
            "A_BusinessPartner", factory=data.business_partner, size=2 * size, ids=data.bp_ids, **common
        )
        bp.seed("A_Supplier", factory=data.supplier, size=size, ids=data.supplier_ids, **common)
        bp.seed("A_Customer", factory=data.customer, size=size, ids=data.customer_ids, **common)
        address_ids = IdScheme("ADR", 9)
        bp.seed(
            "A_BusinessPartnerAddress",
            factory=data.address,
            size=2 * size,
            ids=address_ids,
            seeded_id=position(
                address_ids,
                data.bp_ids,
                "BusinessPartner",
                1,
                lambda key: (
                    int(key[1]) - 20_000_000 - (int(key[0]) - data.bp_ids.start)
                    if str(key[1]).isdigit() and str(key[0]).isdigit()
                    else None
                ),
            ),
            children=related(address_ids, data.bp_ids, "BusinessPartner", 1, 2 * size),
            assign_keys=_assign_address_id,
            **common,
        )
        bank_ids = IdScheme("BNK", 9)
        bp.seed(
            "A_BusinessPartnerBank",
            factory=data.bank,
            size=2 * size,
            ids=bank_ids,
            seeded_id=position(
                bank_ids, data.bp_ids, "BusinessPartner", 1, lambda key: 0 if key[1] == "0001" else None
            ),
            children=related(bank_ids, data.bp_ids, "BusinessPartner", 1, 2 * size),
            **common,
        )
        _ = bp_store
        invoices = self.service("API_SUPPLIERINVOICE_PROCESS_SRV")
        invoice_store = invoices.seed(
            "A_SupplierInvoice",
            factory=data.supplier_invoice,
            size=size,
            ids=data.invoice_ids,
            seeded_id=by_index(data.invoice_ids, size),
            assign_keys=self._assign_invoice_keys,
            **common,
        )
        data.timelines["invoice"] = invoice_store.collection.seeded_created_at
        gl_item_ids = IdScheme("GLI", 10)
        invoices.seed(
            "A_SupplierInvoiceItemGLAcct",
            factory=data.invoice_gl_item,
            size=2 * size,
            ids=gl_item_ids,
            seeded_id=position(
                gl_item_ids,
                data.invoice_ids,
                "SupplierInvoice",
                2,
                lambda key: int(key[2]) - 1 if str(key[2]).isdigit() else None,
            ),
            children=related(gl_item_ids, data.invoice_ids, "SupplierInvoice", 2, 2 * size),
            **common,
        )
        tax_ids = IdScheme("TAX", 10)
        invoices.seed(
            "A_SupplierInvoiceTax",
            factory=data.invoice_tax,
            size=size,
            ids=tax_ids,
            seeded_id=position(
                tax_ids, data.invoice_ids, "SupplierInvoice", 1, lambda key: 0 if key[3] == "1" else None
            ),
            children=related(tax_ids, data.invoice_ids, "SupplierInvoice", 1, size),
            **common,
        )
        orders = self.service("API_PURCHASEORDER_PROCESS_SRV")
        orders.seed("A_PurchaseOrder", factory=data.purchase_order, size=size, ids=data.po_ids, **common)
        po_item_ids = IdScheme("POI", 10)
        orders.seed(
            "A_PurchaseOrderItem",
            factory=data.purchase_order_item,
            size=2 * size,
            ids=po_item_ids,
            seeded_id=position(
                po_item_ids,
                data.po_ids,
                "PurchaseOrder",
                2,
                lambda key: int(key[1]) // 10 - 1 if str(key[1]).isdigit() else None,
            ),
            children=related(po_item_ids, data.po_ids, "PurchaseOrder", 2, 2 * size),
            **common,
        )
        accounts = self.service("API_GLACCOUNTINCHARTOFACCOUNTS_SRV")
        count = data.account_count
        accounts.seed(
            "A_GLAccountInChartOfAccounts",
            factory=data.gl_account,
            size=count,
            ids=data.gl_ids,
            seeded_id=lambda key: str(key[1]) if key[0] == "YCOA" else None,
            **common,
        )
        text_ids = IdScheme("TXT", 9)
        accounts.seed(
            "A_GLAccountText",
            factory=data.gl_account_text,
            size=count,
            ids=text_ids,
            seeded_id=lambda key: (
                text_ids.format(data.gl_ids.parse(str(key[1])) or 0)
                if key[0] == "YCOA" and key[2] == "EN" and data.gl_ids.parse(str(key[1])) is not None
                else None
            ),
            children=related(text_ids, data.gl_ids, "GLAccount", 1, count),
            **common,
        )
        journal = self.service("API_GLACCOUNTLINEITEM")
        line_store = journal.seed(
            "GLAccountLineItem", factory=data.gl_line_item, size=2 * size, ids=IdScheme("JE", 12), **common
        )
        data.timelines["journal"] = lambda index: line_store.collection.seeded_created_at(2 * index)
        open_items = self.service("API_OPLACCTGDOCITEMCUBE_SRV")
        open_ids = IdScheme("", 10, start=1_900_000_001)
        open_items.seed(
            "A_OperationalAcctgDocItemCube",
            factory=data.open_item,
            size=size,
            ids=open_ids,
            seeded_id=lambda key: str(key[2]) if key[0] == "1010" and key[3] == "1" else None,
            **common,
        )

    def _assign_invoice_keys(self, entity: dict[str, Any], internal_id: str) -> None:
        # SAP numbers a posted invoice itself and files it in the posting date's fiscal year.
        entity["SupplierInvoice"] = internal_id
        posted = entity.get("PostingDate") or entity.get("DocumentDate") or self.clock.now()
        entity["FiscalYear"] = f"{posted.year}"
        entity.setdefault("SupplierInvoiceStatus", "5")

    # -- credentials -----------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        client = {"sap_client": self.sap_client} if self.sap_client is not None else {}
        return {"user": self.user, "password": self.password, **client}

    def expire_tokens(self) -> int:
        """End every OAuth2 token (the next call with one gets 401)."""
        return self.issuer.expire_tokens()

    def expire_csrf_tokens(self) -> int:
        """Forget every CSRF token, as a Gateway does when sessions time out."""
        count = len(self.csrf_sessions)
        self.csrf_sessions.clear()
        return count

    def new_csrf_token(self) -> str:
        """A fresh CSRF token (tests replace this to plant a recognisable one)."""
        return f"{self._secrets.next64():016x}{self._secrets.next64():08x}=="

    def queue_message(
        self, severity: str, message: str, *, code: str = "FINCON/001", target: str = ""
    ) -> None:
        """Put a ``sap-message`` header on the next answer (``severity``: success, info, warning, error)."""
        self._messages.append({"code": code, "message": message, "severity": severity, "target": target})

    # -- hooks -----------------------------------------------------------------------------------

    def before(self, request: httpx.Request, service: ODataService | None) -> httpx.Response | None:
        if request.url.path == "/oauth/token" and request.method == "POST":
            return self.issuer.token_endpoint(request)
        if service is None:
            raise ODataError(
                404, "/IWFND/MED/170", f"No service found for namespace '', name '{request.url.path}'"
            )
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        if self.limiter is not None:
            wait = self.limiter.acquire(self.user)
            if wait:
                response = self.error_response(
                    request, service, ODataError(429, "/IWFND/CM_CONSUMER/429", "Too many requests")
                )
                response.headers["Retry-After"] = str(int(wait))
                return response
        refused = self._check_client(request)
        if refused is not None:
            return refused
        return self._csrf(request, service)

    def _check_client(self, request: httpx.Request) -> httpx.Response | None:
        # SAP logs a request without sap-client on to the system's default client, which is
        # rarely the one meant; the sandbox refuses it, so a client that forgets it is caught.
        if self.sap_client is None:
            return None
        client = request.url.params.get("sap-client")
        if client == self.sap_client:
            return None
        reason = "client does not exist" if client is not None else "no sap-client given"
        return httpx.Response(
            401,
            headers={"Content-Type": "text/plain"},
            content=f"Logon failed: {reason} (this system serves client {self.sap_client})".encode(),
        )

    def _authenticate(self, request: httpx.Request) -> httpx.Response | None:
        if bearer_token(request) is not None:
            result = self.issuer.authenticate(request)
            if result.ok:
                return None
            return httpx.Response(
                401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"', "Content-Type": "text/plain"},
                content=b"Token expired or invalid",
            )
        basic = basic_credentials(request)
        if (
            basic is not None
            and basic[0] == self.user
            and hashlib.sha256(basic[1].encode()).digest() == hashlib.sha256(self.password.encode()).digest()
        ):
            return None
        return httpx.Response(
            401,
            headers={
                "WWW-Authenticate": 'Basic realm="SAP NetWeaver Application Server [300/100]"',
                "Content-Type": "text/html",
            },
            content=b"<html><body>Logon failed</body></html>",
        )

    def _cookie_name(self) -> str:
        return _SESSION_COOKIE.format(client=self.sap_client or "000")

    def _session(self, request: httpx.Request) -> str | None:
        cookie_name = self._cookie_name()
        cookies: str = request.headers.get("Cookie", "")
        for part in cookies.split(";"):
            name, _, value = part.strip().partition("=")
            if name == cookie_name:
                return value
        return None

    def _csrf(self, request: httpx.Request, service: ODataService) -> httpx.Response | None:
        asked = request.headers.get("x-csrf-token", "")
        if request.method not in _MODIFYING:
            if asked.lower() == "fetch":
                request.extensions["fincon_csrf_fetch"] = True
            return None
        session = self._session(request)
        expected = self.csrf_sessions.get(session or "")
        if expected is None or asked != expected:
            return httpx.Response(
                403,
                headers={"x-csrf-token": "Required", "Content-Type": "text/plain"},
                content=b"CSRF token validation failed",
            )
        return None

    def after(
        self, request: httpx.Request, service: ODataService | None, response: httpx.Response
    ) -> httpx.Response:
        if request.extensions.get("fincon_csrf_fetch") and response.status_code < 400:
            session = self._session(request)
            if session is None or session not in self.csrf_sessions:
                session = f"{self._secrets.next64():016x}"
                response.headers["Set-Cookie"] = f"{self._cookie_name()}={session}; path=/; HttpOnly"
            token = self.csrf_sessions.get(session)
            if token is None:
                token = self.new_csrf_token()
                self.csrf_sessions[session] = token
                self.csrf_issued += 1
            response.headers["x-csrf-token"] = token
        if self._messages and service is not None:
            message = self._messages.pop(0)
            response.headers["sap-message"] = json.dumps({**message, "longtext_url": "", "details": []})
        return response

    def error_body(
        self, request: httpx.Request, service: ODataService | None, error: ODataError
    ) -> dict[str, Any]:
        body = standard_error_body(error, v4=False)
        name = service.root.rsplit("/", 1)[-1] if service is not None else ""
        body["error"]["innererror"] = {
            "application": {
                "component_id": "",
                "service_namespace": "/SAP/",
                "service_id": name,
                "service_version": "0001",
            },
            "transactionid": f"{self._secrets.next64():032X}"[:32],
            "timestamp": self.clock.now().strftime("%Y%m%d%H%M%S.%f")[:21],
            "Error_Resolution": {
                "SAP_Transaction": "",
                "SAP_Note": "See SAP Note 1797736 for error analysis",
            },
            "errordetails": [
                {
                    "code": error.code,
                    "message": error.message,
                    "propertyref": error.target or "",
                    "severity": "error",
                    "target": error.target or "",
                }
            ],
        }
        return body

    def fault_response(self, fault: ResponseFault, request: httpx.Request) -> httpx.Response:
        return fault.respond(request, self.clock)


def _assign_address_id(entity: dict[str, Any], internal_id: str) -> None:
    entity.setdefault("AddressID", f"{30_000_000 + int(internal_id[3:])}")
