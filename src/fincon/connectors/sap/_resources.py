"""SAP's resources, on the shared :class:`~fincon.protocols.odata.ODataResource`.

:class:`SapResource` is an OData V2 resource with what SAP Gateway adds:

- listings in ``$top``/``$skip`` windows ordered by the key, following ``__next`` inside a
  window (the shared ``"auto"`` paging), prefetching the next page while one is mapped;
- writes carry the CSRF token and the session cookies, and a ``403`` with
  ``x-csrf-token: Required`` fetches a new token and sends once more (:meth:`SapResource.send_write`);
- updates are ``MERGE`` tunnelled through ``POST`` + ``X-HTTP-Method`` with ``If-Match: *``;
- creates carry no idempotency key (SAP has none): after an ambiguous failure the record is
  looked up by a unique field and returned if it exists; only when the lookup proves it
  absent is the create sent again.

:class:`JournalEntries` groups ledger line items into one entry per accounting document.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from fincon.connectors.sap._csrf import csrf_required
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
from fincon.core.flow import Flow
from fincon.core.pagination import State
from fincon.core.resources import FetchedPage, ListQuery, PrefetchMode
from fincon.core.responses import parse_json
from fincon.core.transport import AuditInfo, Call
from fincon.errors import Conflict, FinconError, NotFound, PermissionDenied, ValidationError
from fincon.protocols.odata import F, ODataResource, ODataVersion, Query, unwrap_collection
from fincon.protocols.odata.paging import resolve_next_link
from fincon.protocols.odata.query import Expr

if TYPE_CHECKING:
    import httpx

    from fincon.connectors.sap.connector import SapConnector

__all__ = ["RESOURCES", "ROOT", "SapResource"]

ROOT = "/sap/opu/odata/sap"
#: Lines in one SAP accounting document at most (the line item number has three digits).
_LONGEST_DOCUMENT = 999


class SapResource(ODataResource[Any]):
    """A canonical resource read from one entity set of one SAP OData V2 service."""

    version = ODataVersion.V2
    paging = "auto"
    update_method = "MERGE"
    method_tunnel = True
    # MERGE changes only the fields sent: the same fields with the same values change nothing more.
    idempotent_updates = True
    default_page_size = 100
    max_page_size = 1000
    # Listings only read, and Gateway serves a second request of the same user in parallel:
    # once a window keeps the listing waiting, the next one is fetched while this one is
    # mapped (``list(prefetch=True/False)`` decides for one listing).
    prefetch: PrefetchMode = "auto"
    #: ``updated_field`` holds a day (``LastChangeDate``): ``updated_since`` compares with its start.
    updated_field_is_date: ClassVar[bool] = False

    def __init__(self, core: SapConnector) -> None:
        super().__init__(core)
        self.sap = core

    # -- reads ------------------------------------------------------------------------------

    def list_query(self, query: ListQuery) -> Query:
        for name, value in query.filters.items():
            if not isinstance(value, str):
                raise ValidationError(
                    f"filter {name} takes a string", field=f"filters.{name}", system=self.system
                )
        return super().list_query(query).option("$format", "json")

    def read_query(self) -> Query:
        return super().read_query().option("$format", "json")

    def updated_since_value(self, since: datetime) -> Any:
        if self.updated_field_is_date:
            return since.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        return since

    def find_one(self, *terms: Expr) -> Flow[list[dict[str, Any]]]:
        """The entities matching every term (at most two: enough to tell one from several)."""
        built = Query(self.version, entity_set=self.entity_set, system=self.system).filter(*terms).top(2)
        if self.expand:
            built = built.expand(*self.expand)
        response = yield from self.requestor.call(
            Call(
                "GET",
                self._with_query(self.collection_path(), built.option("$format", "json")),
                headers=self.request_headers("list"),
            )
        )
        page = unwrap_collection(parse_json(response, system=self.system), self.version, system=self.system)
        if len(page.items) > 1:
            raise Conflict(
                f"two SAP {self.entity_set} entities match {built.filter_text()}: cannot tell which one "
                "was created",
                system=self.system,
                code="ambiguous_lookup",
            )
        return page.items

    # -- writes -----------------------------------------------------------------------------

    def if_match(self, path: str, id: str) -> Flow[str]:
        # Last write wins, as SAP's own Fiori apps do without a prior read; Gateway wants the
        # header on entities with ETag handling, and ``*`` matches whatever is stored.
        yield from ()
        return "*"

    def send_write(self, call: Call) -> Flow[httpx.Response]:
        """Send a modifying call with the CSRF token, refetching it once if Gateway refuses it."""
        csrf = self.sap.csrf
        yield from csrf.ensure()
        for attempt in (1, 2):
            sent_token = csrf.token
            call.headers = {**(call.headers or {}), **csrf.headers()}
            call.allow_status = (403,)
            response = yield from self.requestor.call(call)
            if not csrf_required(response):
                if response.status_code == 403:
                    error = self.sap.parse_error(response)
                    raise (
                        error
                        if error is not None
                        else PermissionDenied("forbidden", system=self.system, status=403)
                    )
                return response
            if attempt == 1:
                yield from csrf.ensure(stale=sent_token)
        raise PermissionDenied(
            "SAP refused the CSRF token twice", system=self.system, status=403, code="csrf"
        )


class Vendors(SapResource):
    """Suppliers: ``A_BusinessPartner`` in the supplier role, with supplier data, addresses, banks."""

    name = "vendor"
    service_path = f"{ROOT}/API_BUSINESS_PARTNER"
    entity_set = "A_BusinessPartner"
    key_fields = ("BusinessPartner",)
    expand = ("to_Supplier", "to_BusinessPartnerAddress", "to_BusinessPartnerBank")
    default_filters = (F("Supplier") != "",)
    updated_field = "LastChangeDate"
    updated_field_type = "Edm.DateTime"
    updated_field_is_date = True
    filter_fields: ClassVar[Mapping[str, str]] = {
        "name": "OrganizationBPName1",
        "external_id": "BusinessPartnerIDByExtSystem",
    }
    mapper = VendorMapper()

    def can_find_created(self, record: Any) -> bool:
        return bool(record.external_id)

    def find_created_entities(self, record: Any, payload: Mapping[str, Any]) -> Flow[list[dict[str, Any]]]:
        return (yield from self.find_one(F("BusinessPartnerIDByExtSystem") == record.external_id))

    def created_record(self, entity: dict[str, Any]) -> Flow[Any]:
        # The answer to a deep insert need not carry every expansion: read it back whole.
        return (yield from self.get(str(entity["BusinessPartner"])))

    def delete(self, id: str) -> Flow[None]:
        # Business partners are not deleted in S/4HANA; they are blocked (and later archived).
        yield from self.prepare("delete")
        yield from self.send_update(id, {"BusinessPartnerIsBlocked": True}, action="delete")


class Customers(SapResource):
    name = "customer"
    service_path = f"{ROOT}/API_BUSINESS_PARTNER"
    entity_set = "A_Customer"
    key_fields = ("Customer",)
    filter_fields: ClassVar[Mapping[str, str]] = {"name": "CustomerName"}
    mapper = CustomerMapper()
    unsupported = frozenset({"create", "delete"})


class Bills(SapResource):
    """Supplier invoices with their G/L account items and tax."""

    name = "bill"
    service_path = f"{ROOT}/API_SUPPLIERINVOICE_PROCESS_SRV"
    entity_set = "A_SupplierInvoice"
    key_fields = ("SupplierInvoice", "FiscalYear")
    expand = ("to_SupplierInvoiceItemGLAcct", "to_SupplierInvoiceTax")
    filter_fields: ClassVar[Mapping[str, str]] = {
        "vendor": "InvoicingParty",
        "number": "SupplierInvoiceIDByInvcgParty",
        "fiscal_year": "FiscalYear",
    }
    mapper = BillMapper()
    unsupported = frozenset({"update"})

    def key_values(self, id: str) -> dict[str, Any]:
        try:
            invoice, year = split_bill_id(id)
        except ValueError as error:
            raise ValidationError(str(error), field="id", system=self.system) from None
        return {"SupplierInvoice": invoice, "FiscalYear": year}

    def can_find_created(self, record: Any) -> bool:
        return bool(record.number and record.vendor and record.vendor.id)

    def find_created_entities(self, record: Any, payload: Mapping[str, Any]) -> Flow[list[dict[str, Any]]]:
        # SAP's own duplicate check: the supplier's invoice number from the same invoicing party.
        return (
            yield from self.find_one(
                F("InvoicingParty") == record.vendor.id, F("SupplierInvoiceIDByInvcgParty") == record.number
            )
        )

    def created_record(self, entity: dict[str, Any]) -> Flow[Any]:
        return (yield from self.get(f"{entity['SupplierInvoice']}/{entity['FiscalYear']}"))


class PurchaseOrders(SapResource):
    name = "purchase_order"
    service_path = f"{ROOT}/API_PURCHASEORDER_PROCESS_SRV"
    entity_set = "A_PurchaseOrder"
    key_fields = ("PurchaseOrder",)
    expand = ("to_PurchaseOrderItem",)
    updated_field = "LastChangeDateTime"
    updated_field_type = "Edm.DateTimeOffset"
    filter_fields: ClassVar[Mapping[str, str]] = {"vendor": "Supplier"}
    mapper = PurchaseOrderMapper()
    unsupported = frozenset({"create", "update", "delete"})


class Accounts(SapResource):
    name = "account"
    service_path = f"{ROOT}/API_GLACCOUNTINCHARTOFACCOUNTS_SRV"
    entity_set = "A_GLAccountInChartOfAccounts"
    key_fields = ("ChartOfAccounts", "GLAccount")
    expand = ("to_Text",)
    updated_field = "LastChangeDateTime"
    updated_field_type = "Edm.DateTimeOffset"
    filter_fields: ClassVar[Mapping[str, str]] = {"chart_of_accounts": "ChartOfAccounts"}
    mapper = AccountMapper()
    unsupported = frozenset({"create", "update", "delete"})

    def key_values(self, id: str) -> dict[str, Any]:
        chart, slash, number = id.partition("/")
        if not slash or not chart or not number:
            raise ValidationError(
                "an SAP account id is '<ChartOfAccounts>/<GLAccount>'", field="id", system=self.system
            )
        return {"ChartOfAccounts": chart, "GLAccount": number}


class JournalEntries(SapResource):
    """Journal entries assembled from the ledger's line items, one entry per accounting document.

    A page is a window of lines ordered by document. The last document of a full window may
    continue in the next one, so it is held back and the next window starts at its first
    line: the cursor stays a small ``{"skip": n}``.
    """

    name = "journal_entry"
    service_path = f"{ROOT}/API_GLACCOUNTLINEITEM"
    entity_set = "GLAccountLineItem"
    key_fields = ("CompanyCode", "FiscalYear", "AccountingDocument", "LedgerGLLineItem")
    default_filters = (F("Ledger") == "0L",)
    updated_field = "LastChangeDateTime"
    updated_field_type = "Edm.DateTimeOffset"
    filter_fields: ClassVar[Mapping[str, str]] = {"company_code": "CompanyCode", "fiscal_year": "FiscalYear"}
    mapper = JournalEntryMapper()
    unsupported = frozenset({"create", "update", "delete"})

    def fetch_page(self, query: ListQuery, state: State | None) -> Flow[FetchedPage]:
        skip = int(state["skip"]) if state else 0
        top = query.page_size * 4
        while True:
            lines = yield from self._window(query, skip, top)
            groups = _group_lines(lines)
            full = len(lines) >= top
            if not (full and len(groups) == 1 and top <= _LONGEST_DOCUMENT):
                break
            top *= 2  # one document fills the window: widen it rather than cut the document
        if full and len(groups) > 1:
            groups.pop()
        consumed = sum(len(group) for group in groups)
        return FetchedPage(
            [_document(group) for group in groups], {"skip": skip + consumed} if full else None
        )

    def _window(self, query: ListQuery, skip: int, top: int) -> Flow[list[dict[str, Any]]]:
        """The lines ``skip`` to ``skip + top``, following ``__next`` where the server pages less."""
        window = dataclasses.replace(query, page_size=top)
        state: State | None = {"skip": skip, "top": top, "got": 0} if skip else None
        lines: list[dict[str, Any]] = []
        while True:
            entities, state = yield from self.fetch_entities(window, state)
            lines.extend(entities)
            if not (state and state.get("next")):
                return lines

    def get(self, id: str) -> Flow[Any]:
        parts = id.split("/")
        if len(parts) != 3 or not all(parts):
            raise ValidationError(
                "an SAP journal entry id is '<CompanyCode>/<FiscalYear>/<AccountingDocument>'",
                field="id",
                system=self.system,
            )
        built = (
            Query(self.version, entity_set=self.entity_set, system=self.system)
            .filter(*(F(name) == value for name, value in zip(self.key_fields, parts, strict=False)))
            .filter(*self.default_filters)
            .orderby(*self.key_fields)
            .option("$format", "json")
        )
        url: str | None = self._with_query(self.collection_path(), built)
        lines: list[dict[str, Any]] = []
        while url is not None:
            response = yield from self.requestor.call(
                Call(
                    "GET",
                    url,
                    headers=self.request_headers("get"),
                    audit=AuditInfo("read", self.name, record_id=id),
                )
            )
            page = unwrap_collection(
                parse_json(response, system=self.system), self.version, system=self.system
            )
            lines.extend(page.items)
            if len(lines) > _LONGEST_DOCUMENT:
                raise FinconError(
                    f"SAP sent more than {_LONGEST_DOCUMENT} lines for journal entry {id}", system=self.system
                )
            url = (
                resolve_next_link(
                    page.next_link, response.request.url, self.requestor.origin, system=self.system
                )
                if page.next_link
                else None
            )
        if not lines:
            raise NotFound(f"no SAP journal entry {id}", system=self.system)
        return self._map([_document(lines)])[0]


def _group_lines(lines: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: list[list[dict[str, Any]]] = []
    for line in lines:
        if groups and journal_document_key(groups[-1][0]) == journal_document_key(line):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _document(lines: list[dict[str, Any]]) -> dict[str, Any]:
    first = lines[0]
    return {
        "CompanyCode": first["CompanyCode"],
        "FiscalYear": first["FiscalYear"],
        "AccountingDocument": first["AccountingDocument"],
        "lines": lines,
    }


#: Canonical resource name -> handler class.
RESOURCES: Mapping[str, type[SapResource]] = {
    "vendor": Vendors,
    "customer": Customers,
    "bill": Bills,
    "purchase_order": PurchaseOrders,
    "account": Accounts,
    "journal_entry": JournalEntries,
}
