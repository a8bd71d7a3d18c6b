"""The SAP S/4HANA connector: OData V2 APIs with SAP Gateway's rules.

- HTTP Basic (communication user) or OAuth2 client credentials; ``sap-client`` and
  ``sap-language`` on every request;
- CSRF: a token fetched with ``x-csrf-token: Fetch`` on a safe request, kept with the session
  cookies, refetched once when a write gets ``403`` with ``x-csrf-token: Required``;
- ``sap-message`` headers parsed: ``error`` severity on a success is raised, warnings are kept
  on the connector (``connector.native.warnings``) and logged;
- listings page with ``$top``/``$skip`` windows ordered by key (and follow ``__next`` inside a
  window); creates are never blindly retried (SAP has no idempotency keys): after an ambiguous
  failure the connector looks the record up by a unique field and returns it if it was created.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import Field, SecretStr

from fincon.auth._base import AuthStrategy
from fincon.connectors.sap._csrf import CsrfSession, csrf_required
from fincon.connectors.sap.mapping import (
    AccountMapper,
    BillMapper,
    CustomerMapper,
    JournalEntryMapper,
    PurchaseOrderMapper,
    VendorMapper,
    journal_document_key,
    split_bill_id,
)
from fincon.core.connector import ConnectorCore, ConnectorSettings, Identity
from fincon.core.flow import Flow
from fincon.core.mapping import map_payloads
from fincon.core.pagination import State
from fincon.core.ratelimit import RateLimit
from fincon.core.resources import ListQuery, ResourceHandler
from fincon.core.responses import parse_json
from fincon.core.transport import AuditInfo, Call
from fincon.errors import ConfigError, FinconError, NotFound, TransportError, ValidationError
from fincon.protocols.odata import ODataVersion
from fincon.protocols.odata.envelope import unwrap_collection, unwrap_entity
from fincon.protocols.odata.errors import parse_odata_error
from fincon.protocols.odata.paging import ODataPaging, resolve_next_link

__all__ = ["SapConnector", "SapSettings"]

SYSTEM = "sap"
ROOT = "/sap/opu/odata/sap"
logger = logging.getLogger("fincon.sap")
_V2 = ODataVersion.V2


class SapSettings(ConnectorSettings):
    """Settings of ``fincon.connect("sap", ...)``."""

    user: str | None = Field(None, description="Communication user for HTTP Basic.")
    password: SecretStr | None = Field(None, description="The communication user's password.")
    client_id: str | None = Field(None, description="OAuth2 client id (instead of user/password).")
    client_secret: SecretStr | None = Field(None, description="OAuth2 client secret.")
    token_url: str | None = Field(
        None, description="OAuth2 token endpoint (default: <base_url>/oauth/token)."
    )
    sap_client: str = Field("100", description="The SAP client (Mandant) sent as sap-client.")
    language: str = Field("EN", description="Logon language sent as sap-language.")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _datetime_literal(value: datetime) -> str:
    return "datetime'" + value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + "'"


def _offset_literal(value: datetime) -> str:
    return "datetimeoffset'" + value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") + "'"


def parse_sap_messages(response: httpx.Response) -> list[dict[str, Any]]:
    """The ``sap-message`` header as a list of messages (the main one and its ``details``)."""
    raw = response.headers.get("sap-message")
    if not raw:
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        return [{"severity": "info", "message": raw}]
    if not isinstance(parsed, dict):
        return []
    messages = [parsed] + [item for item in parsed.get("details") or [] if isinstance(item, dict)]
    return messages


class SapResource(ResourceHandler[Any]):
    """A canonical resource read from one entity set of one SAP service."""

    service: ClassVar[str] = ""
    entity_set: ClassVar[str] = ""
    keys: ClassVar[tuple[str, ...]] = ()
    expand: ClassVar[tuple[str, ...]] = ()
    base_filter: ClassVar[str | None] = None
    #: ``(property, kind)``: the change timestamp for ``updated_since`` (kind ``datetime``/``offset``).
    changed_field: ClassVar[tuple[str, str] | None] = None
    filter_fields: ClassVar[Mapping[str, str]] = {}
    mapper: ClassVar[Any]
    mechanism = "odata"
    default_page_size = 100
    max_page_size = 1000
    paging = ODataPaging("auto")

    def __init__(self, core: SapConnector) -> None:
        self.core = core
        self.requestor = core.requestor
        self.system = core.system

    @property
    def filter_names(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset(self.filter_fields)

    @property
    def path(self) -> str:
        return f"{ROOT}/{self.service}/{self.entity_set}"

    def key_path(self, values: tuple[str, ...]) -> str:
        if len(values) != len(self.keys):
            raise ValidationError(
                f"a {self.name} id has {len(self.keys)} parts", field="id", system=self.system
            )
        if len(self.keys) == 1:
            predicate = _literal(values[0])
        else:
            predicate = ",".join(
                f"{name}={_literal(value)}" for name, value in zip(self.keys, values, strict=True)
            )
        return f"{self.path}({quote(predicate, safe=chr(39) + '=,')})"

    def split_id(self, id: str) -> tuple[str, ...]:
        return (id,)

    def filters(self, query: ListQuery) -> list[str]:
        clauses = [self.base_filter] if self.base_filter else []
        if query.updated_since is not None:
            if self.changed_field is None:
                raise ValidationError(
                    f"SAP's {self.entity_set} has no change timestamp, so {self.name} cannot be read "
                    "incrementally (updated_since)",
                    field="updated_since",
                    system=self.system,
                )
            name, kind = self.changed_field
            literal = (
                _offset_literal(query.updated_since)
                if kind == "offset"
                else _datetime_literal(
                    query.updated_since.astimezone(timezone.utc).replace(
                        hour=0, minute=0, second=0, microsecond=0
                    )
                )
            )
            clauses.append(f"{name} ge {literal}")
        for name, value in query.filters.items():
            if not isinstance(value, str):
                raise ValidationError(
                    f"filter {name} takes a string", field=f"filters.{name}", system=self.system
                )
            clauses.append(f"{self.filter_fields[name]} eq {_literal(value)}")
        return clauses

    def list_params(self, query: ListQuery, state: State | None, top: int) -> dict[str, str]:
        params: dict[str, str] = {"$format": "json", "$orderby": ",".join(self.keys)}
        params.update({k: str(v) for k, v in self.paging.params(state, top).items()})
        clauses = self.filters(query)
        if clauses:
            params["$filter"] = " and ".join(
                f"({clause})" if " or " in clause else clause for clause in clauses
            )
        if self.expand:
            params["$expand"] = ",".join(self.expand)
        return params

    def fetch_window(
        self, query: ListQuery, state: State | None, top: int
    ) -> Flow[tuple[list[Any], State | None]]:
        """One page of raw entities and the paging state after it."""
        if self.paging.follows_link(state):
            assert state is not None
            url, params = str(state["next"]), None
        else:
            url, params = self.path, self.list_params(query, state, top)
        response = yield from self.requestor.call(
            Call("GET", url, params=params, audit=AuditInfo("read", self.name))
        )
        page = unwrap_collection(parse_json(response, system=self.system), _V2, system=self.system)
        next_link = None
        if page.next_link:
            next_link = resolve_next_link(
                page.next_link, response.request.url, self.requestor.origin, system=self.system
            )
        return page.items, self.paging.after(
            state, page, page_size=top, absolute_next=next_link, system=self.system
        )

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Any], State | None]]:
        items, next_state = yield from self.fetch_window(query, state, query.page_size)
        return map_payloads(self.mapper, items, system=self.system, resource=self.name), next_state

    def get(self, id: str) -> Flow[Any]:
        params = {"$format": "json", **({"$expand": ",".join(self.expand)} if self.expand else {})}
        response = yield from self.requestor.call(
            Call(
                "GET",
                self.key_path(self.split_id(id)),
                params=params,
                audit=AuditInfo("read", self.name, record_id=id),
            )
        )
        entity = unwrap_entity(parse_json(response, system=self.system), _V2, system=self.system)
        return map_payloads(self.mapper, [entity], system=self.system, resource=self.name)[0]

    # -- writes -------------------------------------------------------------------------------------

    def write(self, call: Call) -> Flow[httpx.Response]:
        """Send a modifying call with the CSRF token, refetching it once if Gateway refuses it."""
        csrf = self.core.csrf
        yield from csrf.ensure()
        for attempt in (1, 2):
            sent_token = csrf.token
            call.headers = {**(call.headers or {}), **csrf.headers()}
            call.allow_status = (403,)
            response = yield from self.requestor.call(call)
            if not csrf_required(response):
                if response.status_code == 403:
                    error = self.core.parse_error(response)
                    raise (
                        error
                        if error is not None
                        else FinconError("forbidden", system=self.system, status=403)
                    )
                return response
            if attempt == 2:
                break
            yield from csrf.ensure(stale=sent_token)
        from fincon.errors import PermissionDenied

        raise PermissionDenied(
            "SAP refused the CSRF token twice", system=self.system, status=403, code="csrf"
        )

    def lookup(self, record: Any) -> Flow[Any | None]:
        """The record created from ``record``, found by a unique field (None: not created, or no
        unique field to tell)."""
        yield from ()
        return None

    def create(self, record: Any, idempotency_key: str | None) -> Flow[Any]:
        payload = self.mapper.to_payload(record)
        for attempt in range(3):
            try:
                response = yield from self.write(
                    Call(
                        "POST",
                        self.path,
                        json=payload,
                        idempotent=False,
                        audit=AuditInfo("create", self.name),
                    )
                )
            except FinconError as error:
                ambiguous = (isinstance(error, TransportError) and error.maybe_sent) or (
                    error.status or 0
                ) >= 500
                if not ambiguous:
                    raise
                # SAP has no idempotency key: only a lookup can tell whether the create happened.
                found = yield from self.lookup(record)
                if found is not None:
                    return found
                if attempt == 2 or not self.can_prove(record):
                    raise
                continue
            entity = unwrap_entity(parse_json(response, system=self.system), _V2, system=self.system)
            return (yield from self.after_create(entity))
        raise AssertionError("unreachable")

    def can_prove(self, record: Any) -> bool:
        """Whether :meth:`lookup` can prove a create did not happen (a unique field is set)."""
        return False

    def after_create(self, entity: Mapping[str, Any]) -> Flow[Any]:
        yield from ()
        return map_payloads(self.mapper, [entity], system=self.system, resource=self.name)[0]

    def find_one(self, clause: str) -> Flow[Any | None]:
        params = {"$format": "json", "$filter": clause, "$top": "2"}
        if self.expand:
            params["$expand"] = ",".join(self.expand)
        response = yield from self.requestor.call(Call("GET", self.path, params=params))
        page = unwrap_collection(parse_json(response, system=self.system), _V2, system=self.system)
        if len(page.items) > 1:
            raise FinconError(
                f"two SAP {self.entity_set} entities match {clause}: cannot tell which one was created",
                system=self.system,
                code="ambiguous_lookup",
            )
        if not page.items:
            return None
        return map_payloads(self.mapper, page.items, system=self.system, resource=self.name)[0]

    def update(self, id: str, changes: Mapping[str, Any], idempotency_key: str | None) -> Flow[Any]:
        try:
            body = self.mapper.changes_payload(changes)
        except ValueError as error:
            raise ValidationError(str(error), field=self.name, system=self.system) from None
        path = self.key_path(self.split_id(id))
        # MERGE changes only the fields sent; it is idempotent (the same fields, the same values).
        yield from self.write(
            Call(
                "POST",
                path,
                json=body,
                headers={"X-HTTP-Method": "MERGE"},
                idempotent=True,
                audit=AuditInfo("update", self.name, record_id=id),
            )
        )
        return (yield from self.get(id))

    def delete(self, id: str) -> Flow[None]:
        yield from self.write(
            Call(
                "DELETE", self.key_path(self.split_id(id)), audit=AuditInfo("delete", self.name, record_id=id)
            )
        )


class Vendors(SapResource):
    """Suppliers: ``A_BusinessPartner`` in the supplier role, with supplier data, addresses, banks."""

    name = "vendor"
    service = "API_BUSINESS_PARTNER"
    entity_set = "A_BusinessPartner"
    keys = ("BusinessPartner",)
    expand = ("to_Supplier", "to_BusinessPartnerAddress", "to_BusinessPartnerBank")
    base_filter = "Supplier ne ''"
    changed_field = ("LastChangeDate", "datetime")
    filter_fields: ClassVar[Mapping[str, str]] = {
        "name": "OrganizationBPName1",
        "external_id": "BusinessPartnerIDByExtSystem",
    }
    mapper = VendorMapper()

    def can_prove(self, record: Any) -> bool:
        return bool(record.external_id)

    def lookup(self, record: Any) -> Flow[Any | None]:
        if not record.external_id:
            return None
        return (yield from self.find_one(f"BusinessPartnerIDByExtSystem eq {_literal(record.external_id)}"))

    def after_create(self, entity: Mapping[str, Any]) -> Flow[Any]:
        return (yield from self.get(str(entity["BusinessPartner"])))

    def delete(self, id: str) -> Flow[None]:
        # Business partners are not deleted in S/4HANA; they are blocked (and later archived).
        yield from self.write(
            Call(
                "POST",
                self.key_path((id,)),
                json={"BusinessPartnerIsBlocked": True},
                headers={"X-HTTP-Method": "MERGE"},
                idempotent=True,
                audit=AuditInfo("delete", self.name, record_id=id),
            )
        )


class Customers(SapResource):
    name = "customer"
    service = "API_BUSINESS_PARTNER"
    entity_set = "A_Customer"
    keys = ("Customer",)
    filter_fields: ClassVar[Mapping[str, str]] = {"name": "CustomerName"}
    mapper = CustomerMapper()
    unsupported = frozenset({"create", "delete"})


class Bills(SapResource):
    """Supplier invoices with their G/L account items and tax."""

    name = "bill"
    service = "API_SUPPLIERINVOICE_PROCESS_SRV"
    entity_set = "A_SupplierInvoice"
    keys = ("SupplierInvoice", "FiscalYear")
    expand = ("to_SupplierInvoiceItemGLAcct", "to_SupplierInvoiceTax")
    filter_fields: ClassVar[Mapping[str, str]] = {
        "vendor": "InvoicingParty",
        "number": "SupplierInvoiceIDByInvcgParty",
        "fiscal_year": "FiscalYear",
    }
    mapper = BillMapper()
    unsupported = frozenset({"update"})

    def split_id(self, id: str) -> tuple[str, ...]:
        try:
            return split_bill_id(id)
        except ValueError as error:
            raise ValidationError(str(error), field="id", system=self.system) from None

    def create(self, record: Any, idempotency_key: str | None) -> Flow[Any]:
        try:
            self.mapper.to_payload(record)
        except ValueError as error:
            raise ValidationError(str(error), field="bill", system=self.system) from None
        return (yield from super().create(record, idempotency_key))

    def can_prove(self, record: Any) -> bool:
        return bool(record.number and record.vendor and record.vendor.id)

    def lookup(self, record: Any) -> Flow[Any | None]:
        # SAP's own duplicate check: the supplier's invoice number from the same invoicing party.
        if not self.can_prove(record):
            return None
        clause = (
            f"InvoicingParty eq {_literal(record.vendor.id)} and "
            f"SupplierInvoiceIDByInvcgParty eq {_literal(record.number)}"
        )
        return (yield from self.find_one(clause))

    def after_create(self, entity: Mapping[str, Any]) -> Flow[Any]:
        return (yield from self.get(f"{entity['SupplierInvoice']}/{entity['FiscalYear']}"))


class PurchaseOrders(SapResource):
    name = "purchase_order"
    service = "API_PURCHASEORDER_PROCESS_SRV"
    entity_set = "A_PurchaseOrder"
    keys = ("PurchaseOrder",)
    expand = ("to_PurchaseOrderItem",)
    changed_field = ("LastChangeDateTime", "offset")
    filter_fields: ClassVar[Mapping[str, str]] = {"vendor": "Supplier"}
    mapper = PurchaseOrderMapper()
    unsupported = frozenset({"create", "update", "delete"})


class Accounts(SapResource):
    name = "account"
    service = "API_GLACCOUNTINCHARTOFACCOUNTS_SRV"
    entity_set = "A_GLAccountInChartOfAccounts"
    keys = ("ChartOfAccounts", "GLAccount")
    expand = ("to_Text",)
    changed_field = ("LastChangeDateTime", "offset")
    filter_fields: ClassVar[Mapping[str, str]] = {"chart_of_accounts": "ChartOfAccounts"}
    mapper = AccountMapper()
    unsupported = frozenset({"create", "update", "delete"})

    def split_id(self, id: str) -> tuple[str, ...]:
        chart, slash, number = id.partition("/")
        if not slash or not chart or not number:
            raise ValidationError(
                "an SAP account id is '<ChartOfAccounts>/<GLAccount>'", field="id", system=self.system
            )
        return chart, number


class JournalEntries(SapResource):
    """Journal entries assembled from the ledger's line items, one entry per accounting document."""

    name = "journal_entry"
    service = "API_GLACCOUNTLINEITEM"
    entity_set = "GLAccountLineItem"
    keys = ("CompanyCode", "FiscalYear", "AccountingDocument", "LedgerGLLineItem")
    base_filter = "Ledger eq '0L'"
    changed_field = ("LastChangeDateTime", "offset")
    filter_fields: ClassVar[Mapping[str, str]] = {"company_code": "CompanyCode", "fiscal_year": "FiscalYear"}
    mapper = JournalEntryMapper()
    paging = ODataPaging("auto")
    unsupported = frozenset({"create", "update", "delete"})

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Any], State | None]]:
        # Windows of lines; the last document of a full window may continue in the next one,
        # so it is held back and the next window starts at its first line.
        skip = int(state["skip"]) if state else 0
        top = query.page_size * 4
        lines, _ = yield from self.fetch_window(
            query, {"skip": skip, "top": top, "got": 0} if skip else None, top
        )
        groups: list[list[Any]] = []
        for line in lines:
            if groups and journal_document_key(groups[-1][0]) == journal_document_key(line):
                groups[-1].append(line)
            else:
                groups.append([line])
        full = len(lines) >= top
        if full and len(groups) > 1:
            groups.pop()
        consumed = sum(len(group) for group in groups)
        payloads = [
            {
                "CompanyCode": g[0]["CompanyCode"],
                "FiscalYear": g[0]["FiscalYear"],
                "AccountingDocument": g[0]["AccountingDocument"],
                "lines": g,
            }
            for g in groups
        ]
        records = map_payloads(self.mapper, payloads, system=self.system, resource=self.name)
        return records, ({"skip": skip + consumed} if full else None)

    def get(self, id: str) -> Flow[Any]:
        parts = id.split("/")
        if len(parts) != 3:
            raise ValidationError(
                "an SAP journal entry id is '<CompanyCode>/<FiscalYear>/<AccountingDocument>'",
                field="id",
                system=self.system,
            )
        clause = " and ".join(
            f"{name} eq {_literal(value)}" for name, value in zip(self.keys, parts, strict=False)
        )
        params = {
            "$format": "json",
            "$filter": f"{clause} and Ledger eq '0L'",
            "$orderby": ",".join(self.keys),
        }
        response = yield from self.requestor.call(
            Call("GET", self.path, params=params, audit=AuditInfo("read", self.name, record_id=id))
        )
        page = unwrap_collection(parse_json(response, system=self.system), _V2, system=self.system)
        if not page.items:
            raise NotFound(f"no SAP journal entry {id}", system=self.system)
        payload = {
            "CompanyCode": parts[0],
            "FiscalYear": parts[1],
            "AccountingDocument": parts[2],
            "lines": page.items,
        }
        return map_payloads(self.mapper, [payload], system=self.system, resource=self.name)[0]


class SapConnector(ConnectorCore):
    """SAP S/4HANA (OData V2): vendors, customers, bills, purchase orders, accounts, journal entries."""

    system = SYSTEM
    description = "SAP S/4HANA Cloud and on-premise OData V2 APIs (business partners, invoices, ledger)"
    settings_model = SapSettings
    default_rate_limit = RateLimit(requests=20, per=1.0, burst=40, concurrency=8)
    resources: ClassVar[Mapping[str, type[ResourceHandler[Any]]]] = {
        "vendor": Vendors,
        "customer": Customers,
        "bill": Bills,
        "purchase_order": PurchaseOrders,
        "account": Accounts,
        "journal_entry": JournalEntries,
    }

    def __init__(self, settings: ConnectorSettings) -> None:
        super().__init__(settings)
        self.csrf = CsrfSession(self.requestor, lambda: f"{ROOT}/API_BUSINESS_PARTNER/")
        #: ``sap-message`` warnings and infos seen on successful answers (the latest 100).
        self.warnings: list[dict[str, Any]] = []

    def build_auth(self) -> AuthStrategy | None:
        from fincon.auth import Basic, OAuth2ClientCredentials

        settings: Any = self.settings
        if settings.auth is not None:
            return settings.auth  # type: ignore[no-any-return]
        if settings.client_id and settings.client_secret is not None:
            return OAuth2ClientCredentials(
                settings.client_id, settings.client_secret, settings.token_url or "/oauth/token"
            )
        if settings.user and settings.password is not None:
            return Basic(settings.user, settings.password)
        raise ConfigError(
            "sap needs user and password, client_id and client_secret, or auth=", system=self.system
        )

    def decorate(self, request: httpx.Request) -> None:
        settings: Any = self.settings
        if request.url.path.startswith(ROOT) and "sap-client" not in request.url.params:
            request.url = request.url.copy_merge_params({"sap-client": settings.sap_client})
        request.headers.setdefault("sap-language", settings.language)

    def parse_error(self, response: httpx.Response) -> FinconError | None:
        error = parse_odata_error(response, system=self.system, version=_V2)
        if error is not None:
            return error
        messages = parse_sap_messages(response)
        for message in messages:
            severity = str(message.get("severity", "")).lower()
            if severity in ("error", "abort"):
                from fincon.errors import RemoteValidationError

                return RemoteValidationError(
                    f"SAP reported an error on a {response.status_code}: {message.get('message')}",
                    system=self.system,
                    status=response.status_code,
                    code=str(message.get("code") or "sap-message"),
                    details={"sap-message": messages},
                )
        for message in messages:
            logger.warning(
                "SAP %s: %s (%s)", message.get("severity"), message.get("message"), message.get("code")
            )
            self.warnings = [*self.warnings[-99:], message]
        return None

    def account_key(self, base_url: str) -> str:
        settings: Any = self.settings
        return f"{base_url}#{settings.sap_client}"

    def check_flow(self) -> Flow[Identity]:
        settings: Any = self.settings
        yield from self.requestor.call(
            Call("GET", f"{ROOT}/API_BUSINESS_PARTNER/", params={"$format": "json"})
        )
        return Identity(
            system=self.system, account=settings.sap_client, user=settings.user or settings.client_id
        )

    def make_native(self, run: Callable[[Flow[Any]], Any]) -> Any:
        from fincon.connectors.sap.native import SapNative

        return SapNative(self, run)
