"""The Stripe connector: settings, auth, resources and Stripe's wire rules.

- bearer auth with the secret key, ``Stripe-Version`` pinned, ``Stripe-Account`` for Connect;
- ``Idempotency-Key`` on every POST, fixed before the first attempt (the core's requestor);
- form-encoded bodies with nested keys, ``expand[]``, cursor paging (``starting_after``,
  ``has_more``, ``limit`` up to 100);
- Stripe error objects parsed into fincon errors; ``Stripe-Should-Retry`` and 409
  ``lock_timeout`` decide retries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr, field_validator

from fincon.auth._base import AuthStrategy
from fincon.connectors.stripe._errors import parse_stripe_error
from fincon.connectors.stripe._form import FORM_CONTENT_TYPE, encode_form
from fincon.connectors.stripe.mapping import (
    BalanceMapper,
    BankTransactionMapper,
    CustomerMapper,
    InvoiceMapper,
    PaymentMapper,
    balance_entries,
    customer_create_params,
    invoice_create_params,
    invoice_item_params,
    payment_intent_create_params,
)
from fincon.core.connector import ConnectorCore, ConnectorSettings, Identity
from fincon.core.flow import Flow
from fincon.core.mapping import iter_payloads, map_payloads
from fincon.core.pagination import CursorPagination, State
from fincon.core.ratelimit import RateLimit
from fincon.core.resources import FetchedPage, ListQuery, PrefetchMode, ResourceHandler
from fincon.core.responses import parse_json
from fincon.core.rest import RestResource
from fincon.core.transport import AuditInfo, Call
from fincon.errors import (
    ConfigError,
    Conflict,
    FinconError,
    NotFound,
    PaginationError,
    ServerError,
    ValidationError,
)
from fincon.models import Balance, Customer, Invoice, Money, Payment

__all__ = ["DEFAULT_API_VERSION", "StripeConnector", "StripeSettings"]

DEFAULT_API_VERSION = "2023-08-16"
SYSTEM = "stripe"


class StripeSettings(ConnectorSettings):
    """Settings of ``fincon.connect("stripe", ...)``."""

    api_key: SecretStr | None = Field(None, description="The secret key (sk_live_..., sk_test_..., rk_...).")
    stripe_account: str | None = Field(None, description="A connected account id (acct_...) to act as.")
    api_version: str = Field(DEFAULT_API_VERSION, description="The Stripe-Version every request pins.")

    @field_validator("stripe_account")
    @classmethod
    def _account_shape(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("acct_"):
            raise ValueError("stripe_account must be an account id starting with 'acct_'")
        return value


def _query_value(name: str, value: Any, system: str) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError(
                f"filter {name} needs an aware datetime", field=f"filters.{name}", system=system
            )
        return int(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(
            f"filter {name} takes a string, an integer or an aware datetime",
            field=f"filters.{name}",
            system=system,
        )
    return value


def form_call(
    url: str,
    params: Mapping[str, Any],
    *,
    idempotency_key: str | None,
    audit: AuditInfo | None = None,
) -> Call:
    """A ``POST`` with a Stripe form body (nested keys encoded by us, never by httpx)."""
    try:
        body = encode_form(params)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"the request body cannot be encoded: {exc}", field="data", system=SYSTEM
        ) from None
    return Call(
        "POST",
        url,
        content=body,
        headers={"Content-Type": FORM_CONTENT_TYPE},
        idempotency_key=idempotency_key,
        audit=audit,
    )


class StripeResource(RestResource[Any]):
    """Shared by Stripe's list/get resources: paging, filters, ``expand[]``."""

    strategy = CursorPagination()
    default_page_size = 100
    max_page_size = 100
    # Once a page keeps the listing waiting, the next one is fetched while this one is
    # mapped: a listing then holds two pages, and Stripe's time overlaps ours.
    prefetch: PrefetchMode = "auto"
    #: Objects never change after creation, so ``updated_since`` can mean ``created[gte]``.
    immutable: ClassVar[bool] = False
    list_expand: ClassVar[tuple[str, ...]] = ()
    get_expand: ClassVar[tuple[str, ...]] = ()
    filter_params: ClassVar[Mapping[str, str]] = {
        "created_gte": "created[gte]",
        "created_lte": "created[lte]",
    }

    def list_params(self, query: ListQuery, state: State | None) -> dict[str, Any]:
        """Query parameters for one page."""
        params: dict[str, Any] = dict(self.strategy.params(state, query.page_size))
        if query.updated_since is not None:
            if not self.immutable:
                raise ValidationError(
                    f"Stripe has no 'updated since' filter for {self.name}; use "
                    "filters={'created_gte': datetime} for objects created since",
                    field="updated_since",
                    system=self.system,
                )
            params["created[gte]"] = int(query.updated_since.timestamp())
        for name, value in query.filters.items():
            params[self.filter_params[name]] = _query_value(name, value, self.system)
        if self.list_expand:
            params["expand[]"] = list(self.list_expand)
        return params

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Any], State | None]]:
        page = yield from self.fetch_page(query, state)
        return self.map_page(query, page), page.next_state

    def fetch_page(self, query: ListQuery, state: State | None) -> Flow[FetchedPage]:
        """One page's Stripe objects (completed) and the next state; mapped apart by :meth:`map_page`."""
        params = self.list_params(query, state)
        response = yield from self.requestor.call(
            Call("GET", self.path, params=params, audit=AuditInfo("read", self.name))
        )
        body = parse_json(response, system=self.system)
        payloads = self.items_of(body)
        payloads = yield from self.complete(payloads)
        return FetchedPage(payloads, self.strategy.next_state(state, body, payloads))

    def map_page(self, query: ListQuery, page: FetchedPage) -> list[Any]:
        return map_payloads(self.mapper, page.items, system=self.system, resource=self.name)

    def iter_page(self, query: ListQuery, page: FetchedPage) -> Iterator[Any]:
        return iter_payloads(self.mapper, page.items, system=self.system, resource=self.name, drain=True)

    def complete(self, payloads: list[Any]) -> Flow[list[Any]]:
        """Fetch what a page left out (invoice lines beyond the first ten); none by default."""
        yield from ()  # a flow without effects
        return payloads

    def get(self, id: str) -> Flow[Any]:
        params = {"expand[]": list(self.get_expand)} if self.get_expand else None
        response = yield from self.requestor.call(
            Call("GET", self.item_url(id), params=params, audit=AuditInfo("read", self.name, record_id=id))
        )
        body = parse_json(response, system=self.system)
        completed = yield from self.complete([body])
        return map_payloads(self.mapper, completed, system=self.system, resource=self.name)[0]


class Customers(StripeResource):
    """``/v1/customers``: list, get, create, update (POST), delete."""

    name = "customer"
    path = "/v1/customers"
    mapper = CustomerMapper()
    filter_params: ClassVar[Mapping[str, str]] = {**StripeResource.filter_params, "email": "email"}

    def create(self, record: Customer, idempotency_key: str | None) -> Flow[Customer]:
        response = yield from self.requestor.call(
            form_call(
                self.path,
                customer_create_params(record),
                idempotency_key=idempotency_key,
                audit=AuditInfo("create", self.name),
            )
        )
        return self._one(response)  # type: ignore[no-any-return]

    def update(self, id: str, changes: Mapping[str, Any], idempotency_key: str | None) -> Flow[Customer]:
        response = yield from self.requestor.call(
            form_call(
                self.item_url(id),
                self.mapper.changes_payload(changes),
                idempotency_key=idempotency_key,
                audit=AuditInfo("update", self.name, record_id=id),
            )
        )
        return self._one(response)  # type: ignore[no-any-return]


class Invoices(StripeResource):
    """``/v1/invoices``: list, get, create as a draft (lines become invoice items); update and
    delete drafts."""

    name = "invoice"
    path = "/v1/invoices"
    mapper = InvoiceMapper()
    filter_params: ClassVar[Mapping[str, str]] = {
        **StripeResource.filter_params,
        "customer": "customer",
        "status": "status",
        "subscription": "subscription",
    }

    def complete(self, payloads: list[Any]) -> Flow[list[Any]]:
        """Follow ``lines.has_more``: an invoice record always carries all its lines."""
        completed = []
        for payload in payloads:
            lines = payload.get("lines") if isinstance(payload, Mapping) else None
            if isinstance(lines, Mapping) and lines.get("has_more"):
                payload = yield from self._all_lines(payload)
            completed.append(payload)
        return completed

    def _all_lines(self, payload: Mapping[str, Any]) -> Flow[dict[str, Any]]:
        # An invoice is never handed out with lines missing or repeated: a page that stops
        # short of what ``has_more`` promised, or that goes round, is an error, not the end.
        invoice_id = str(payload["id"])
        data = list(payload["lines"].get("data") or [])
        seen = {str(line.get("id")) for line in data}
        url = f"{self.item_url(invoice_id)}/lines"
        more = True
        while more:
            params: dict[str, Any] = {"limit": 100}
            if data:  # no embedded lines at all: read them from the first
                params["starting_after"] = data[-1]["id"]
            response = yield from self.requestor.call(
                Call("GET", url, params=params, audit=AuditInfo("read", self.name, record_id=invoice_id))
            )
            page = parse_json(response, system=self.system)
            items = self.items_of(page)
            if not items:
                raise ServerError(
                    f"stripe said invoice {invoice_id} has more lines but sent none; "
                    "refusing an invoice with lines missing",
                    system=self.system,
                    code="incomplete_lines",
                    retryable=False,
                )
            for item in items:
                line_id = str(item.get("id"))
                if line_id in seen:
                    raise PaginationError(
                        f"stripe sent line {line_id} of invoice {invoice_id} twice; "
                        "refusing an invoice with repeated lines",
                        system=self.system,
                    )
                seen.add(line_id)
            data.extend(items)
            more = bool(page.get("has_more"))
        return {**payload, "lines": {**payload["lines"], "data": data, "has_more": False}}

    def create(self, record: Invoice, idempotency_key: str | None) -> Flow[Invoice]:
        # Several writes make one invoice; each step's key derives from one fixed key, so a
        # retried create (ours or the caller's, with the same key) replays instead of duplicating.
        key = idempotency_key or str(uuid.uuid4())
        try:
            params = invoice_create_params(record)
            currency = params["currency"]
            customer = params["customer"]
            for index, line in enumerate(record.lines):
                invoice_item_params(line, index, "in_check", customer, currency)
            self._check_totals(record)
        except ValueError as exc:
            raise ValidationError(str(exc), field="invoice", system=self.system) from None
        total = record.total
        audit = AuditInfo(
            "create",
            self.name,
            amount=None if total is None else total.amount,
            currency=None if total is None else total.currency,
        )
        response = yield from self.requestor.call(
            form_call(self.path, params, idempotency_key=key, audit=audit)
        )
        invoice = parse_json(response, system=self.system)
        invoice_id = str(invoice["id"])
        for index, line in enumerate(record.lines):
            yield from self.requestor.call(
                form_call(
                    "/v1/invoiceitems",
                    invoice_item_params(line, index, invoice_id, customer, currency),
                    idempotency_key=f"{key}:line:{index}",
                )
            )
        created = yield from self.get(invoice_id)
        if record.total is not None and created.total != record.total:
            raise ValidationError(
                f"Stripe computed a total of {created.total} for draft invoice {invoice_id}, "
                f"not the {record.total} given; the draft was left for review",
                field="invoice.total",
                system=self.system,
            )
        return created  # type: ignore[no-any-return]

    def update(self, id: str, changes: Mapping[str, Any], idempotency_key: str | None) -> Flow[Invoice]:
        """Change a draft invoice; a finalized one is refused (:class:`~fincon.errors.Conflict`)."""
        params = self.mapper.changes_payload(changes)  # Unsupported fields fail before anything is sent
        yield from self._require_draft(id, "update")
        response = yield from self.requestor.call(
            form_call(
                self.item_url(id),
                params,
                idempotency_key=idempotency_key,
                audit=AuditInfo("update", self.name, record_id=id),
            )
        )
        body = parse_json(response, system=self.system)
        completed = yield from self.complete([body])
        updated: Invoice = map_payloads(self.mapper, completed, system=self.system, resource=self.name)[0]
        return updated

    def delete(self, id: str) -> Flow[None]:
        """Delete a draft invoice; a finalized one is refused (void it through ``native``)."""
        yield from self._require_draft(id, "delete")
        yield from self.requestor.call(
            Call("DELETE", self.item_url(id), audit=AuditInfo("delete", self.name, record_id=id))
        )

    def _require_draft(self, id: str, operation: str) -> Flow[None]:
        # Stripe itself still lets a finalized invoice's description and metadata change;
        # fincon changes only drafts, so a sent invoice never differs from what was sent.
        response = yield from self.requestor.call(
            Call("GET", self.item_url(id), audit=AuditInfo("read", self.name, record_id=id))
        )
        status = parse_json(response, system=self.system).get("status")
        if status != "draft":
            hint = "; void it with native.void_invoice" if operation == "delete" else ""
            raise Conflict(
                f"stripe invoice {id} is {status}, not a draft: only draft invoices can be "
                f"{operation}d{hint}",
                system=self.system,
                code="invoice_not_draft",
                details={"id": id, "status": status, "operation": operation},
            )

    @staticmethod
    def _check_totals(record: Invoice) -> None:
        if record.total is None or not record.lines or record.tax is not None:
            return
        amounts: list[Money] = []
        for line in record.lines:
            if line.amount is not None:
                amounts.append(line.amount)
            elif line.unit_price is not None:
                amounts.append(line.unit_price * (line.quantity or 1))
            else:
                return
        added = sum(amounts[1:], amounts[0])
        if added != record.total:
            raise ValueError(f"the lines add up to {added}, not the total {record.total}")


class Payments(StripeResource):
    """``/v1/payment_intents`` with ``latest_charge`` expanded, so refunds are reflected."""

    name = "payment"
    path = "/v1/payment_intents"
    mapper = PaymentMapper()
    list_expand = ("data.latest_charge",)
    get_expand = ("latest_charge",)
    unsupported = frozenset({"update", "delete"})
    filter_params: ClassVar[Mapping[str, str]] = {**StripeResource.filter_params, "customer": "customer"}

    def create(self, record: Payment, idempotency_key: str | None) -> Flow[Payment]:
        """Create a PaymentIntent asking the customer to pay (a ``pending`` payment).

        One ``Idempotency-Key`` (yours, or one fixed before the first attempt) covers every
        retry, so a lost answer never creates a second PaymentIntent.
        """
        try:
            params = payment_intent_create_params(record)
        except ValueError as exc:
            raise ValidationError(f"payment.{exc}", field="payment", system=self.system) from None
        response = yield from self.requestor.call(
            form_call(
                self.path,
                {**params, "expand": list(self.get_expand)},
                idempotency_key=idempotency_key,
                audit=AuditInfo(
                    "create", self.name, amount=record.amount.amount, currency=record.amount.currency
                ),
            )
        )
        return self._one(response)  # type: ignore[no-any-return]


class BankTransactions(StripeResource):
    """``/v1/balance_transactions``: movements of the Stripe balance (immutable)."""

    name = "bank_transaction"
    path = "/v1/balance_transactions"
    mapper = BankTransactionMapper()
    immutable = True
    unsupported = frozenset({"create", "update", "delete"})
    filter_params: ClassVar[Mapping[str, str]] = {
        **StripeResource.filter_params,
        "type": "type",
        "payout": "payout",
        "currency": "currency",
        "source": "source",
    }


class Balances(ResourceHandler[Balance]):
    """``/v1/balance``: one record per balance entry (available, pending, ...) and currency."""

    name = "balance"
    mechanism = "stripe_balance"
    mapper = BalanceMapper()

    def __init__(self, core: ConnectorCore) -> None:
        self.core = core
        self.requestor = core.requestor
        self.system = core.system

    def _fetch(self) -> Flow[list[Balance]]:
        response = yield from self.requestor.call(
            Call("GET", "/v1/balance", audit=AuditInfo("read", self.name))
        )
        body = parse_json(response, system=self.system)
        return map_payloads(self.mapper, balance_entries(body), system=self.system, resource=self.name)

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Balance], State | None]]:
        if query.updated_since is not None or query.filters:
            raise ValidationError(
                "the Stripe balance takes no filters", field="updated_since", system=self.system
            )
        records = yield from self._fetch()
        return records, None

    def get(self, id: str) -> Flow[Balance]:
        for record in (yield from self._fetch()):
            if record.id == id:
                return record
        raise NotFound(f"no Stripe balance entry {id!r} (ids look like 'available_usd')", system=self.system)


class StripeConnector(ConnectorCore):
    """Stripe: customers, invoices (AR), payments, balance transactions and balances."""

    system = SYSTEM
    description = "Stripe payments and receivables (customers, invoices, payments, balance, webhooks)"
    settings_model = StripeSettings
    default_base_url = "https://api.stripe.com"
    # Stripe's documented live-mode allowance (test mode allows 25/s: pass rate_limit= for it).
    default_rate_limit = RateLimit(requests=100, per=1.0, burst=100, concurrency=16)
    idempotency_header = "Idempotency-Key"
    resources: ClassVar[Mapping[str, type[ResourceHandler[Any]]]] = {
        "customer": Customers,
        "invoice": Invoices,
        "payment": Payments,
        "bank_transaction": BankTransactions,
        "balance": Balances,
    }

    def build_auth(self) -> AuthStrategy | None:
        from fincon.auth import APIKey

        settings: Any = self.settings
        if settings.auth is not None:
            return settings.auth  # type: ignore[no-any-return]
        if settings.api_key is None or not settings.api_key.get_secret_value():
            raise ConfigError("stripe needs api_key (or FINCON_STRIPE_API_KEY)", system=self.system)
        return APIKey(settings.api_key)

    def decorate(self, request: httpx.Request) -> None:
        settings: Any = self.settings
        request.headers["Stripe-Version"] = settings.api_version
        if settings.stripe_account:
            request.headers["Stripe-Account"] = settings.stripe_account

    def parse_error(self, response: httpx.Response) -> FinconError | None:
        return parse_stripe_error(response)

    def account_key(self, base_url: str) -> str:
        settings: Any = self.settings
        return f"{base_url}#{settings.stripe_account or 'platform'}"

    def check_flow(self) -> Flow[Identity]:
        response = yield from self.requestor.call(Call("GET", "/v1/account"))
        body = parse_json(response, system=self.system)
        profile = body.get("business_profile") or {}
        return Identity(
            system=self.system,
            account=body.get("id"),
            user=profile.get("name") or body.get("email"),
            details={"country": body.get("country"), "default_currency": body.get("default_currency")},
        )

    def make_native(self, run: Callable[[Flow[Any]], Any]) -> Any:
        from fincon.connectors.stripe.native import StripeNative

        return StripeNative(self, run)
