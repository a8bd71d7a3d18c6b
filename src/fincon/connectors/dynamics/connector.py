"""The Dynamics 365 connector: Business Central API v2.0 and Finance and Operations.

``fincon.connect("dynamics", flavor="business_central", tenant_id=..., client_id=...,
client_secret=... or certificate=..., environment="Production", company=<id or name>)``, or
``flavor="finance_operations"`` with ``environment_url="https://contoso.operations.dynamics.com"``
and ``company=<dataAreaId>``. See ``docs/dynamics.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, SecretStr

from fincon.auth._base import AuthStrategy
from fincon.connectors.dynamics._entra import (
    DEFAULT_LOGIN_HOST,
    EntraCertificate,
    entra_client_secret,
    entra_token_url,
)
from fincon.connectors.dynamics._resources import DynamicsResource, GeneralLedgerEntries
from fincon.connectors.dynamics.fo_mapping import FO_ENTITIES, FO_MAPPERS
from fincon.connectors.dynamics.mapping import is_guid, mappers_for
from fincon.core.connector import ConnectorCore, ConnectorSettings, Identity
from fincon.core.flow import Flow
from fincon.core.ratelimit import RateLimit
from fincon.core.resources import ResourceHandler
from fincon.core.responses import parse_json
from fincon.core.transport import Call
from fincon.errors import ConfigError, FinconError, NotFound
from fincon.protocols.odata import F, ODataVersion, Query, parse_odata_error, unwrap_collection, unwrap_entity

__all__ = ["BC_API_HOST", "BC_SCOPE", "DynamicsConnector", "DynamicsSettings"]

BC_API_HOST = "https://api.businesscentral.dynamics.com"
BC_SCOPE = f"{BC_API_HOST}/.default"
Flavor = Literal["business_central", "finance_operations"]


class DynamicsSettings(ConnectorSettings):
    """Settings of ``fincon.connect("dynamics", ...)``."""

    flavor: Flavor = Field("business_central", description="business_central or finance_operations.")
    tenant_id: str | None = Field(None, description="The Entra ID tenant (GUID or domain).")
    client_id: str | None = Field(None, description="The app registration's application (client) id.")
    client_secret: SecretStr | None = Field(None, description="A client secret of the app registration.")
    certificate: SecretStr | None = Field(
        None, description="PEM with the private key (and the certificate, or give certificate_thumbprint)."
    )
    certificate_thumbprint: str | None = Field(None, description="SHA-1 thumbprint (hex) of the certificate.")
    environment: str | None = Field(None, description="BC environment name (Production, Sandbox, ...).")
    environment_url: str | None = Field(
        None, description="F&O environment URL (https://x.operations.dynamics.com)."
    )
    company: str | None = Field(
        None, description="BC company id (GUID) or name; F&O legal entity (dataAreaId)."
    )
    token_url: str | None = Field(None, description="Token endpoint override (sandboxes, sovereign clouds).")
    scope: str | None = Field(None, description="Token scope override.")
    local_currency: str | None = Field(
        None, description="The company's local currency (BC: read from companyInformation when not given)."
    )
    concurrency: Literal["etag", "last_write_wins"] = Field(
        "etag", description="Updates send the record's ETag (etag) or If-Match: * (last_write_wins)."
    )
    ieee754_compatible: bool = Field(
        True, description="Ask for decimals as strings (IEEE754Compatible=true)."
    )


#: Edm types of the BC properties filtered on whose Python value does not say it.
_BC_TYPES = {
    "vendorId": "Edm.Guid",
    "customerId": "Edm.Guid",
    "invoiceDate": "Edm.Date",
    "postingDate": "Edm.Date",
    "amount": "Edm.Decimal",
}
#: The same for F&O data entities.
_FO_TYPES = {"InvoiceDate": "Edm.Date"}


def _entity(
    resource: str,
    entity_set: str,
    *,
    lines: str | None = None,
    expand: str | None = None,
    filters: Mapping[str, str] | None = None,
    match: tuple[str, ...] = (),
    unsupported: frozenset[str] = frozenset(),
    natural_key: str | None = None,
    modified: str | None = "lastModifiedDateTime",
    company_scoped: bool = True,
) -> type[DynamicsResource]:
    """A handler class for one entity set."""
    if natural_key is None:
        keys: tuple[str, ...] = ("id",)
    else:
        keys = ("dataAreaId", natural_key) if company_scoped else (natural_key,)
    return type(
        f"{entity_set[0].upper()}{entity_set[1:]}Resource",
        (DynamicsResource,),
        {
            "name": resource,
            "entity_set": entity_set,
            "lines": lines,
            "expand": (expand,) if expand else (),
            "filter_fields": dict(filters or {}),
            "property_types": _BC_TYPES if natural_key is None else _FO_TYPES,
            "match_fields": match,
            "unsupported": unsupported,
            "natural_key": natural_key,
            "key_fields": keys,
            "updated_field": modified,
            "updated_field_type": "Edm.DateTimeOffset" if modified else None,
            "company_scoped": company_scoped,
            "__module__": __name__,
        },
    )


_READ_ONLY = frozenset({"create", "update", "delete"})
_PARTY_FILTERS = {"number": "number", "name": "displayName", "email": "email", "currency": "currencyCode"}

#: Business Central API v2.0 resources.
BC_RESOURCES: dict[str, type[ResourceHandler[Any]]] = {
    "vendor": _entity("vendor", "vendors", filters=_PARTY_FILTERS, match=("displayName", "email", "number")),
    "customer": _entity(
        "customer", "customers", filters=_PARTY_FILTERS, match=("displayName", "email", "number")
    ),
    "bill": _entity(
        "bill",
        "purchaseInvoices",
        lines="purchaseInvoiceLines",
        expand="purchaseInvoiceLines($expand=dimensionSetLines)",
        filters={
            "vendor_id": "vendorId",
            "vendor_number": "vendorNumber",
            "status": "status",
            "number": "vendorInvoiceNumber",
        },
        match=("vendorInvoiceNumber", "vendorId", "vendorNumber", "invoiceDate"),
    ),
    "invoice": _entity(
        "invoice",
        "salesInvoices",
        lines="salesInvoiceLines",
        expand="salesInvoiceLines($expand=dimensionSetLines)",
        filters={
            "customer_id": "customerId",
            "customer_number": "customerNumber",
            "status": "status",
            "number": "number",
        },
        match=("externalDocumentNumber", "customerId", "customerNumber", "invoiceDate", "number"),
    ),
    "bill_payment": _entity(
        "bill_payment",
        "vendorPayments",
        filters={"vendor_id": "vendorId", "vendor_number": "vendorNumber"},
        match=("externalDocumentNumber", "vendorId", "vendorNumber", "amount", "postingDate"),
    ),
    "payment": _entity(
        "payment",
        "customerPayments",
        filters={"customer_id": "customerId", "customer_number": "customerNumber"},
        match=("externalDocumentNumber", "customerId", "customerNumber", "amount", "postingDate"),
    ),
    "journal_entry": GeneralLedgerEntries,
    "account": _entity("account", "accounts", filters={"number": "number"}, unsupported=_READ_ONLY),
    "purchase_order": _entity(
        "purchase_order",
        "purchaseOrders",
        lines="purchaseOrderLines",
        expand="purchaseOrderLines",
        filters={"vendor_id": "vendorId", "status": "status", "number": "number"},
        unsupported=_READ_ONLY,
    ),
    "receipt": _entity(
        "receipt",
        "purchaseReceipts",
        lines="purchaseReceiptLines",
        expand="purchaseReceiptLines",
        filters={"number": "number", "order_number": "orderNumber"},
        unsupported=_READ_ONLY,
    ),
    "bank_account": _entity(
        "bank_account", "bankAccounts", filters={"number": "number"}, unsupported=_READ_ONLY
    ),
}

_FO = FO_ENTITIES
#: Finance and Operations data entities.
FO_RESOURCES: dict[str, type[ResourceHandler[Any]]] = {
    "vendor": _entity(
        "vendor",
        _FO["vendor"].entity_set,
        natural_key=_FO["vendor"].key,
        modified=None,
        filters={"name": "VendorOrganizationName", "group": "VendorGroupId", "currency": "CurrencyCode"},
        match=("VendorOrganizationName", "PrimaryEmailAddress"),
    ),
    "customer": _entity(
        "customer",
        _FO["customer"].entity_set,
        natural_key=_FO["customer"].key,
        modified=None,
        filters={"name": "OrganizationName", "group": "CustomerGroupId"},
        match=("OrganizationName", "PrimaryContactEmail"),
    ),
    "bill": _entity(
        "bill",
        _FO["bill"].entity_set,
        natural_key=_FO["bill"].key,
        modified=None,
        lines="VendorInvoiceLines",
        expand="VendorInvoiceLines",
        filters={"vendor_id": "InvoiceAccount", "number": "InvoiceNumber"},
        match=("InvoiceNumber", "InvoiceAccount", "InvoiceDate"),
        unsupported=frozenset({"update", "delete"}),
    ),
    "journal_entry": _entity(
        "journal_entry",
        _FO["journal_entry"].entity_set,
        natural_key=_FO["journal_entry"].key,
        modified=None,
        lines="LedgerJournalLines",
        expand="LedgerJournalLines",
        filters={"journal_name": "JournalName"},
        unsupported=_READ_ONLY,
    ),
    "account": _entity(
        "account",
        _FO["account"].entity_set,
        natural_key=_FO["account"].key,
        modified=None,
        filters={"type": "Type"},
        unsupported=_READ_ONLY,
        company_scoped=False,
    ),
}


class DynamicsConnector(ConnectorCore):
    """Microsoft Dynamics 365: Business Central (API v2.0) or Finance and Operations (OData)."""

    system = "dynamics"
    description = "Microsoft Dynamics 365 Business Central (API v2.0) and Finance & Operations (OData)"
    settings_model = DynamicsSettings
    # BC's documented service limits: 6,000 requests per 5 minutes and 5 in flight per user.
    default_rate_limit = RateLimit(requests=6000, per=300.0, burst=100, concurrency=5)
    resources: ClassVar[Mapping[str, type[ResourceHandler[Any]]]] = BC_RESOURCES

    def __init__(self, settings: ConnectorSettings) -> None:
        config: Any = settings
        self.flavor: Flavor = config.flavor
        self.company: str = config.company or ""
        #: ``etag`` or ``last_write_wins`` (``If-Match: *``).
        self.concurrency: str = config.concurrency
        #: The ``Accept`` and JSON ``Content-Type`` of every request.
        self.accept = "application/json;odata.metadata=minimal"
        self.content_type = "application/json"
        if config.ieee754_compatible:
            self.accept += ";IEEE754Compatible=true"
            self.content_type += ";IEEE754Compatible=true"
        if not config.company:
            raise ConfigError(
                "dynamics needs company (a BC company id or name, or an F&O dataAreaId)", system="dynamics"
            )
        if self.flavor == "finance_operations" and not config.environment_url and not config.base_url:
            raise ConfigError("finance_operations needs environment_url", system="dynamics")
        base_url = config.base_url or self._default_base_url(config)
        self._company_id: str | None = config.company if is_guid(config.company) else None
        self._local_currency: str | None = config.local_currency
        super().__init__(settings.model_copy(update={"base_url": base_url}))

    @staticmethod
    def _default_base_url(config: Any) -> str:
        if config.flavor == "finance_operations":
            return f"{str(config.environment_url).rstrip('/')}/data"
        if not config.tenant_id or not config.environment:
            raise ConfigError(
                "business_central needs tenant_id and environment (or base_url)", system="dynamics"
            )
        return f"{BC_API_HOST}/v2.0/{config.tenant_id}/{config.environment}/api/v2.0"

    # -- auth -----------------------------------------------------------------------------

    def build_auth(self) -> AuthStrategy | None:
        config: Any = self.settings
        if config.auth is not None:
            return config.auth  # type: ignore[no-any-return]
        if not config.client_id or not (config.client_secret or config.certificate):
            raise ConfigError(
                "dynamics needs client_id and client_secret or certificate (or an auth strategy)",
                system=self.system,
            )
        if config.token_url:
            token_url = config.token_url
        elif config.tenant_id:
            token_url = entra_token_url(config.tenant_id, DEFAULT_LOGIN_HOST)
        else:
            raise ConfigError("dynamics needs tenant_id for Entra ID tokens", system=self.system)
        scope = config.scope or self._scope(config)
        if config.certificate is not None:
            return EntraCertificate(
                config.client_id,
                config.certificate,
                token_url,
                scope,
                thumbprint=config.certificate_thumbprint,
            )
        return entra_client_secret(config.client_id, config.client_secret, token_url, scope)

    @staticmethod
    def _scope(config: Any) -> str:
        if config.flavor == "finance_operations":
            return f"{str(config.environment_url).rstrip('/')}/.default"
        return BC_SCOPE

    # -- vendor hooks -------------------------------------------------------------------------

    def build_handlers(self) -> Mapping[str, ResourceHandler[Any]]:
        table = BC_RESOURCES if self.flavor == "business_central" else FO_RESOURCES
        return {name: handler(self) for name, handler in table.items()}  # type: ignore[call-arg]

    def mapper_for(self, resource: str) -> Any:
        """The mapper of ``resource`` for this flavour (BC with the company's local currency)."""
        if self.flavor == "finance_operations":
            return FO_MAPPERS[resource]
        return _LazyCurrencyMapper(self, resource)

    def parse_error(self, response: httpx.Response) -> FinconError | None:
        return parse_odata_error(response, system=self.system, version=ODataVersion.V4)

    def decorate(self, request: httpx.Request) -> None:
        # Every call (resources, company lookups, native queries, $batch) speaks the same V4.
        request.headers["Accept"] = self.accept
        request.headers["OData-Version"] = "4.0"
        request.headers["OData-MaxVersion"] = "4.0"
        if request.headers.get("content-type", "").startswith("application/json"):
            request.headers["Content-Type"] = self.content_type

    def account_key(self, base_url: str) -> str:
        config: Any = self.settings
        if config.flavor == "finance_operations":
            return f"fo:{config.environment_url or base_url}"
        return f"bc:{config.tenant_id or ''}/{config.environment or base_url}"

    # -- company and currency -----------------------------------------------------------------

    @property
    def company_id(self) -> str:
        """The BC company id, once known (after :meth:`company_id_flow`)."""
        if self._company_id is None:
            raise ConfigError("the Business Central company id is not resolved yet", system=self.system)
        return self._company_id

    def company_id_flow(self) -> Flow[str]:
        """The BC company id (a name is looked up once, then cached)."""
        if self._company_id is not None:
            yield from ()
            return self._company_id
        query = Query(ODataVersion.V4, system=self.system).filter(F("name") == self.company)
        response = yield from self.requestor.call(Call("GET", f"/companies?{query.to_query_string()}"))
        found = unwrap_collection(
            parse_json(response, system=self.system), ODataVersion.V4, system=self.system
        )
        if len(found.items) != 1:
            raise NotFound(f"no Business Central company named {self.company!r}", system=self.system)
        self._company_id = str(found.items[0]["id"])
        return self._company_id

    def local_currency_flow(self) -> Flow[str]:
        """The company's local currency (from companyInformation, once)."""
        if self._local_currency is not None:
            yield from ()
            return self._local_currency
        company = yield from self.company_id_flow()
        response = yield from self.requestor.call(Call("GET", f"/companies({company})/companyInformation"))
        rows = unwrap_collection(
            parse_json(response, system=self.system), ODataVersion.V4, system=self.system
        )
        code = rows.items[0].get("currencyCode") if rows.items else None
        if not code:
            raise ConfigError("the company has no currency code; pass local_currency", system=self.system)
        self._local_currency = str(code).upper()
        return self._local_currency

    def check_flow(self) -> Flow[Identity]:
        if self.flavor == "finance_operations":
            response = yield from self.requestor.call(Call("GET", "/MainAccounts", params={"$top": "1"}))
            parse_json(response, system=self.system)
            return Identity(system=self.system, account=self.company, details={"flavor": self.flavor})
        company = yield from self.company_id_flow()
        response = yield from self.requestor.call(Call("GET", f"/companies({company})"))
        body = unwrap_entity(parse_json(response, system=self.system), ODataVersion.V4, system=self.system)
        return Identity(
            system=self.system,
            account=str(body.get("id")),
            user=body.get("displayName") or body.get("name"),
            details={"flavor": self.flavor, "company_name": body.get("name")},
        )

    def make_native(self, run: Callable[[Flow[Any]], Any]) -> Any:
        from fincon.connectors.dynamics.native import DynamicsNative

        return DynamicsNative(self, run)


class _LazyCurrencyMapper:
    """A BC mapper that learns the local currency before the first record needing it."""

    def __init__(self, core: DynamicsConnector, resource: str) -> None:
        self.core = core
        self.resource = resource

    @property
    def _mapper(self) -> Any:
        return mappers_for(self.core._local_currency)[self.resource]

    def to_record(self, payload: Any) -> Any:
        return self._mapper.to_record(payload)

    def to_payload(self, record: Any) -> Any:
        return self._mapper.to_payload(record)

    def changes_payload(self, changes: Mapping[str, Any]) -> Any:
        return self._mapper.changes_payload(changes)
