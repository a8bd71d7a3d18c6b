"""``StripeEmulator``: Stripe's API in memory, on fincon's sandbox framework.

Stripe's own paths, form-encoded request bodies (nested keys), ``{"object": "list", ...}``
envelopes with ``starting_after``/``has_more``, Stripe error objects, ``Request-Id`` on every
answer, idempotency keys replayed for 24 hours (``Idempotent-Replayed: true``), and the
secret key as ``Authorization: Bearer sk_test_...`` or as the HTTP Basic user name.
Records are seeded from Stripe's example objects (see :mod:`fincon.connectors.stripe._seed`)
and built on demand, so ``size=1_000_000`` costs nothing up front.

Endpoints: ``/v1/account``, ``/v1/balance``, ``/v1/customers`` (+ ``/{id}``, ``/search``),
``/v1/invoices`` (+ ``/{id}``, ``/{id}/lines``, ``/{id}/finalize``, ``/{id}/void``),
``/v1/invoiceitems``, ``/v1/payment_intents`` (+ ``/{id}``), ``/v1/balance_transactions``
(+ ``/{id}``), ``/v1/payouts`` (+ ``/{id}``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx

from fincon.connectors.stripe._form import decode_form
from fincon.connectors.stripe._seed import ObjectFactory, load_templates
from fincon.core.clock import Clock
from fincon.sandbox import (
    Abort,
    APIKeyAuth,
    Emulator,
    FaultPlan,
    IdScheme,
    Record,
    ResponseFault,
    Router,
    SeededCollection,
    SeedRandom,
    basic_credentials,
    json_response,
    response_body,
)

__all__ = ["StripeEmulator"]

JSON = dict[str, Any]
IDEMPOTENCY_LIFETIME = timedelta(hours=24)
LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "expand", "created"})
_CLAUSE = re.compile(
    r"""^\s*(?P<field>[a-z_]+(?:\['[^']+'\])?)\s*(?P<op>[:~])\s*['"](?P<value>[^'"]*)['"]\s*$"""
)
_CUSTOMER_FIELDS = frozenset(
    {
        "name",
        "email",
        "phone",
        "description",
        "address",
        "shipping",
        "metadata",
        "expand",
        "preferred_locales",
        "invoice_prefix",
        "tax_exempt",
    }
)
_ADDRESS_FIELDS = frozenset({"line1", "line2", "city", "state", "postal_code", "country"})


def stripe_error(
    status: int,
    message: str,
    *,
    kind: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Abort:
    """An ``Abort`` with Stripe's error object."""
    error: JSON = {"message": message, "type": kind}
    if code is not None:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param is not None:
        error["param"] = param
    return Abort(json_response({"error": error}, status=status, headers=headers))


def _missing(name: str, ident: str, param: str = "id") -> Abort:
    return stripe_error(404, f"No such {name}: '{ident}'", code="resource_missing", param=param)


def _unknown(param: str) -> Abort:
    return stripe_error(400, f"Received unknown parameter: {param}", param=param)


def _integer(value: Any, param: str, *, low: int | None = None, high: int | None = None) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?[0-9]{1,15}", value):
        raise stripe_error(400, f"Invalid integer: {value}", param=param)
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise stripe_error(400, f"Invalid {param}: must be between {low} and {high}", param=param)
    return number


@dataclass(frozen=True)
class _Stored:
    fingerprint: str
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    expires_at: datetime


@dataclass(frozen=True)
class _Listable:
    path: str
    object_name: str
    records: SeededCollection[JSON]
    filters: frozenset[str]
    expand: Callable[[JSON, str], JSON] | None = None


class StripeEmulator(Emulator):
    """Stripe's API for fincon's sandbox (see the module doc).

    Options beyond :class:`~fincon.sandbox.Emulator`'s: ``cycle_after_pages`` (after that
    many pages of one listing, ``starting_after`` is ignored: a cursor cycle), and
    ``fixtures`` (a path to Stripe's ``fixtures3.json``; found in the specs folder by default).
    """

    system = "stripe"

    def __init__(
        self,
        *,
        seed: int = 0,
        size: int = 100,
        clock: Clock | None = None,
        faults: FaultPlan | None = None,
        cycle_after_pages: int | None = None,
        fixtures: str | None = None,
    ) -> None:
        super().__init__(
            seed=seed, size=size, clock=clock, faults=faults, cycle_after_pages=cycle_after_pages
        )
        self.templates = load_templates(fixtures)
        #: Where the seed shapes came from: ``"fixtures3.json"`` or ``"builtin"``.
        self.seed_source = self.templates.source
        secrets = SeedRandom(seed, "stripe-credentials")
        self.api_key = f"sk_test_fincon{secrets.next64():016x}{secrets.next64():016x}"
        self.account_id = "acct_1FinconSandbox01"
        self.keys = APIKeyAuth({self.api_key: self.account_id})
        make = ObjectFactory(self.templates, customers=size)
        self.factory = make

        def collection(
            name: str, prefix: str, factory: Callable[..., JSON], count: int
        ) -> SeededCollection[JSON]:
            return SeededCollection(
                name, factory, seed=seed, size=count, ids=IdScheme(prefix, 10), clock=self.clock
            )

        self.customers = collection("customers", "cus_", make.customer, size)
        self.invoices = collection("invoices", "in_", make.invoice, size)
        self.invoice_items = collection("invoiceitems", "ii_", make.customer, 0)
        self.payment_intents = collection("payment_intents", "pi_", make.payment_intent, size)
        self.balance_transactions = collection("balance_transactions", "txn_", make.balance_transaction, size)
        self.payouts = collection("payouts", "po_", make.payout, size)
        self._balance = make.balance(seed)
        self._idempotency: dict[tuple[str, str], _Stored] = {}
        self._requests = 0
        self._listables = {
            "customers": _Listable(
                "/v1/customers", "customer", self.customers, frozenset({"email", "created"})
            ),
            "invoices": _Listable(
                "/v1/invoices",
                "invoice",
                self.invoices,
                frozenset({"customer", "status", "created", "collection_method", "subscription"}),
            ),
            "payment_intents": _Listable(
                "/v1/payment_intents",
                "payment_intent",
                self.payment_intents,
                frozenset({"customer", "created"}),
                self._expand_intent,
            ),
            "balance_transactions": _Listable(
                "/v1/balance_transactions",
                "balance_transaction",
                self.balance_transactions,
                frozenset({"created", "currency", "payout", "source", "type"}),
            ),
            "payouts": _Listable(
                "/v1/payouts",
                "payout",
                self.payouts,
                frozenset({"created", "status", "arrival_date", "destination"}),
            ),
        }
        router = Router(not_found=self._not_found, method_not_allowed=self._not_allowed)
        router.add("GET", "/v1/account", self._account)
        router.add("GET", "/v1/balance", lambda request, _: json_response(self._balance))
        router.add("GET", "/v1/customers/search", self._search_customers)
        router.add("POST", "/v1/customers", self._create_customer)
        router.add("POST", "/v1/customers/{id}", self._update_customer)
        router.add("DELETE", "/v1/customers/{id}", self._delete_customer)
        router.add("POST", "/v1/invoices", self._create_invoice)
        router.add("GET", "/v1/invoices/{id}/lines", self._invoice_lines)
        router.add("POST", "/v1/invoices/{id}/finalize", self._finalize)
        router.add("POST", "/v1/invoices/{id}/void", self._void)
        router.add("POST", "/v1/invoiceitems", self._create_invoice_item)
        for name, listable in self._listables.items():
            router.add("GET", listable.path, self._lister(name))
            router.add("GET", listable.path + "/{id}", self._getter(name))
        self.router = router

    # -- framework hooks -------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        """The settings the sandbox accepts: ``{"api_key": "sk_test_..."}``."""
        return {"api_key": self.api_key}

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        self._requests += 1
        request_id = f"req_fincon{self.seed % 1000:03d}{self._requests:010d}"
        try:
            account = self._authenticate(request)
            if request.method == "POST":
                response = self._idempotent(request, account)
            else:
                response = self.router.dispatch(request)
        except Abort as abort:
            response = abort.response
        response.headers["Request-Id"] = request_id
        response.headers["Stripe-Version"] = request.headers.get("Stripe-Version", "2023-08-16")
        return response

    def fault_response(self, fault: ResponseFault, request: httpx.Request) -> httpx.Response:
        response = super().fault_response(fault, request)
        response.headers["Request-Id"] = f"req_fault{self._requests:010d}"
        return response

    @staticmethod
    def _not_found(request: httpx.Request) -> httpx.Response:
        return stripe_error(404, f"Unrecognized request URL ({request.method}: {request.url.path}).").response

    @staticmethod
    def _not_allowed(request: httpx.Request, allowed: list[str]) -> httpx.Response:
        return stripe_error(
            405,
            f"Unrecognized request URL ({request.method}: {request.url.path}).",
        ).response

    # -- auth and idempotency --------------------------------------------------------------

    def _authenticate(self, request: httpx.Request) -> str:
        result = self.keys.authenticate(request)
        if not result.ok:
            basic = basic_credentials(request)
            if basic is not None and basic[0] in self.keys.keys and not basic[1]:
                result = self.keys.authenticate(
                    httpx.Request("GET", request.url, headers={"Authorization": f"Bearer {basic[0]}"})
                )
        if not result.ok or result.account is None:
            if result.problem == "missing":
                message = "You did not provide an API key. Provide it as 'Authorization: Bearer <key>'."
            else:
                message = "Invalid API Key provided."  # never echo the key
            raise stripe_error(401, message, headers={"WWW-Authenticate": 'Basic realm="Stripe"'})
        connected = request.headers.get("Stripe-Account")
        if connected is not None and not connected.startswith("acct_"):
            raise stripe_error(400, "The Stripe-Account header must be an account id (acct_...).")
        return connected or result.account

    def _idempotent(self, request: httpx.Request, account: str) -> httpx.Response:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return self._run(request)
        if not key or len(key) > 255:
            raise stripe_error(400, "Idempotency-Key must be 1 to 255 characters.")
        fingerprint = self._fingerprint(request)
        now = self.clock.now()
        stored = self._idempotency.get((account, key))
        if stored is not None and stored.expires_at > now:
            if stored.fingerprint != fingerprint:
                raise stripe_error(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters they were "
                    f"first used with. Try using a key other than '{key}' if you meant to execute a "
                    "different request.",
                    kind="idempotency_error",
                )
            replay = httpx.Response(stored.status, headers=stored.headers, content=stored.body)
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        response = self._run(request)
        # Stripe saves a result once the endpoint ran: not for 4xx validation failures or 5xx.
        if response.status_code < 400 or response.status_code == 402:
            body = response_body(response)
            self._idempotency[(account, key)] = _Stored(
                fingerprint,
                response.status_code,
                [(k, v) for k, v in response.headers.raw if k.lower() != b"content-length"],
                body,
                now + IDEMPOTENCY_LIFETIME,
            )
            response = httpx.Response(response.status_code, headers=response.headers, content=body)
        return response

    def _run(self, request: httpx.Request) -> httpx.Response:
        try:
            return self.router.dispatch(request)
        except Abort as abort:
            return abort.response

    @staticmethod
    def _fingerprint(request: httpx.Request) -> str:
        try:
            canonical = json.dumps(decode_form(request.content.decode()), sort_keys=True).encode()
        except (ValueError, UnicodeDecodeError):
            canonical = request.content
        return hashlib.sha256(
            request.method.encode() + request.url.path.encode() + b"\n" + canonical
        ).hexdigest()

    # -- reading requests ------------------------------------------------------------------

    @staticmethod
    def _query(request: httpx.Request) -> JSON:
        try:
            return decode_form(request.url.query.decode("ascii"))
        except ValueError as exc:
            raise stripe_error(400, f"Invalid query string: {exc}") from None

    @staticmethod
    def _form(request: httpx.Request, allowed: frozenset[str]) -> JSON:
        content_type = request.headers.get("content-type", "")
        if request.content and "application/x-www-form-urlencoded" not in content_type:
            raise stripe_error(400, "Stripe takes application/x-www-form-urlencoded request bodies.")
        try:
            form = decode_form(request.content.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise stripe_error(400, f"Invalid request body: {exc}") from None
        for name in form:
            if name not in allowed:
                raise _unknown(name)
        return form

    # -- listing ---------------------------------------------------------------------------

    def _lister(self, name: str) -> Callable[[httpx.Request, Mapping[str, str]], httpx.Response]:
        listable = self._listables[name]

        def handle(request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
            return self._list(listable, request)

        return handle

    def _getter(self, name: str) -> Callable[[httpx.Request, Mapping[str, str]], httpx.Response]:
        listable = self._listables[name]

        def handle(request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
            query = self._query(request)
            for key in query:
                if key != "expand":
                    raise _unknown(key)
            record = listable.records.get(parameters["id"])
            if record is None:
                if name == "customers" and listable.records.index_of(parameters["id"]) is not None:
                    return json_response({"id": parameters["id"], "object": "customer", "deleted": True})
                raise _missing(listable.object_name, parameters["id"])
            data = _embedded(record.data)
            expand = self._expand_list(query)
            if listable.expand is not None:
                for path in expand:
                    data = listable.expand(data, path)
            return json_response(data)

        return handle

    @staticmethod
    def _expand_list(query: JSON) -> list[str]:
        expand = query.get("expand", [])
        if isinstance(expand, str):
            expand = [expand]
        if not isinstance(expand, list) or not all(isinstance(item, str) for item in expand):
            raise stripe_error(400, "Invalid expand: must be an array of strings.", param="expand")
        return expand

    def _predicate(self, listable: _Listable, query: JSON) -> Callable[[Record[JSON]], bool] | None:
        # (key, "range" | "equal" | "id", wanted)
        checks: list[tuple[str, str, Any]] = []
        for key, value in query.items():
            if key in LIST_PARAMS and key != "created":
                continue
            if key not in listable.filters:
                raise _unknown(key)
            if isinstance(value, dict):
                bounds = {op: _integer(bound, f"{key}[{op}]") for op, bound in value.items()}
                for op in bounds:
                    if op not in ("gt", "gte", "lt", "lte"):
                        raise _unknown(f"{key}[{op}]")
                checks.append((key, "range", bounds))
            elif key in ("created", "arrival_date"):
                checks.append((key, "equal", _integer(value, key)))
            else:
                checks.append((key, "id", value))

        def matches(record: Record[JSON]) -> bool:
            data = record.data
            for key, kind, wanted in checks:
                found = data.get(key)
                if kind == "range":
                    if not _within(found, wanted):
                        return False
                elif (found if kind == "equal" else _id_of(found)) != wanted:
                    return False
            return True

        return matches if checks else None

    def _list(self, listable: _Listable, request: httpx.Request) -> httpx.Response:
        query = self._query(request)
        limit = _integer(query.get("limit", "10"), "limit", low=1, high=100)
        expand = self._expand_list(query)
        where = self._predicate(listable, query)
        after = query.get("starting_after") or None
        if query.get("ending_before"):
            raise stripe_error(
                400, "ending_before is not supported by the fincon sandbox.", param="ending_before"
            )
        if after is not None and (not isinstance(after, str) or listable.records.index_of(after) is None):
            raise _missing(listable.object_name, str(after), "starting_after")
        after = self.paging_cursor((request.headers.get("authorization", ""), listable.path), after)
        page = listable.records.page(limit, after=after, where=where)
        data = [_embedded(record.data) for record in page.items]
        for path in expand:
            if not path.startswith("data.") or listable.expand is None:
                raise stripe_error(400, f"This property cannot be expanded ({path}).", param="expand")
            data = [listable.expand(item, path[5:]) for item in data]
        return json_response(
            {"object": "list", "data": data, "has_more": page.has_more, "url": listable.path}
        )

    def _expand_intent(self, intent: JSON, path: str) -> JSON:
        if path != "latest_charge":
            raise stripe_error(400, f"This property cannot be expanded ({path}).", param="expand")
        if not isinstance(intent.get("latest_charge"), str):
            return intent
        index = self.payment_intents.index_of(str(intent["id"])) or 0
        charge = self.factory.charge(intent, SeedRandom(self.seed, "refunds", index))
        return {**intent, "latest_charge": charge}

    # -- account and customers -------------------------------------------------------------

    def _account(self, request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
        template = self.templates["account"]
        profile = {**(template.get("business_profile") or {}), "name": "Fincon Sandbox Ltd"}
        return json_response(
            {
                **template,
                "id": self.account_id,
                "email": "finance@sandbox.fincon.invalid",
                "business_profile": profile,
            }
        )

    def _customer_fields(self, form: JSON, current: JSON) -> JSON:
        data = dict(current)
        for key in ("name", "email", "phone", "description", "invoice_prefix"):
            if key in form:
                value = form[key]
                if not isinstance(value, str) or len(value) > 512:
                    raise stripe_error(
                        400, f"Invalid {key}: must be a string of at most 512 characters.", param=key
                    )
                data[key] = value or None
        for key in ("address", "shipping"):
            if key in form:
                data[key] = self._address_param(form[key], key)
        if "metadata" in form:
            data["metadata"] = _metadata(form["metadata"], current.get("metadata") or {})
        if "tax_exempt" in form:
            if form["tax_exempt"] not in ("none", "exempt", "reverse", ""):
                raise stripe_error(400, "Invalid tax_exempt.", param="tax_exempt")
            data["tax_exempt"] = form["tax_exempt"] or "none"
        return data

    def _address_param(self, value: Any, key: str) -> JSON | None:
        if value == "":
            return None
        if not isinstance(value, dict):
            raise stripe_error(400, f"Invalid {key}: must be an object.", param=key)
        if key == "shipping":
            unknown = set(value) - {"name", "address", "phone"}
            if unknown or not isinstance(value.get("name"), str) or "address" not in value:
                raise stripe_error(400, "Invalid shipping: needs name and address.", param="shipping")
            return {
                "name": value["name"],
                "phone": value.get("phone"),
                "address": self._address_param(value["address"], "shipping[address]"),
            }
        for field in value:
            if field not in _ADDRESS_FIELDS:
                raise _unknown(f"{key}[{field}]")
        return {field: (value.get(field) or None) for field in sorted(_ADDRESS_FIELDS)}

    def _create_customer(self, request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
        form = self._form(request, _CUSTOMER_FIELDS)
        now = int(self.clock.now().timestamp())
        base = {
            **self.templates["customer"],
            "address": None,
            "currency": None,
            "description": None,
            "email": None,
            "name": None,
            "phone": None,
            "shipping": None,
            "metadata": {},
            "created": now,
            "invoice_prefix": None,
            "test_clock": None,
        }
        record = self.customers.create({**self._customer_fields(form, base), "id": self.customers.next_id})
        return json_response(record.data)

    def _update_customer(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        record = self.customers.get(parameters["id"])
        if record is None:
            raise _missing("customer", parameters["id"])
        form = self._form(request, _CUSTOMER_FIELDS)
        return json_response(self.customers.update(record.id, self._customer_fields(form, record.data)).data)

    def _delete_customer(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        if self.customers.get(parameters["id"]) is None:
            raise _missing("customer", parameters["id"])
        self.customers.delete(parameters["id"])
        return json_response({"id": parameters["id"], "object": "customer", "deleted": True})

    def _search_customers(self, request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
        query = self._query(request)
        for key in query:
            if key not in ("query", "limit", "page", "expand"):
                raise _unknown(key)
        text = query.get("query")
        if not isinstance(text, str) or not text.strip():
            raise stripe_error(400, "Missing required param: query.", param="query")
        clauses = [_CLAUSE.match(part) for part in re.split(r"\s+AND\s+", text)]
        if not all(clauses):
            raise stripe_error(400, f"Invalid search query: {text}", param="query")
        limit = _integer(query.get("limit", "10"), "limit", low=1, high=100)
        start = 0
        if query.get("page"):
            try:
                start = int(base64.urlsafe_b64decode(str(query["page"]).encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise stripe_error(400, "Invalid page token.", param="page") from None

        def matches(data: JSON) -> bool:
            for clause in clauses:
                assert clause is not None
                field, op, wanted = clause["field"], clause["op"], clause["value"].lower()
                if field.startswith("metadata["):
                    found = (data.get("metadata") or {}).get(field[10:-2])
                else:
                    found = data.get(field)
                found = "" if found is None else str(found).lower()
                if (op == ":" and found != wanted) or (op == "~" and wanted not in found):
                    return False
            return True

        hits: list[JSON] = []
        following = None
        for index in self.customers.indexes(start=start):
            record = self.customers._at(index)  # positions are what search pages by
            if record is None or not matches(record.data):
                continue
            if len(hits) == limit:
                following = base64.urlsafe_b64encode(str(index).encode()).decode()
                break
            hits.append(record.data)
        return json_response(
            {
                "object": "search_result",
                "data": hits,
                "has_more": following is not None,
                "next_page": following,
                "url": "/v1/customers/search",
            }
        )

    # -- invoices --------------------------------------------------------------------------

    def _create_invoice(self, request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
        form = self._form(
            request,
            frozenset(
                {
                    "customer",
                    "currency",
                    "auto_advance",
                    "collection_method",
                    "due_date",
                    "days_until_due",
                    "description",
                    "metadata",
                    "pending_invoice_items_behavior",
                    "expand",
                }
            ),
        )
        customer = form.get("customer")
        if not isinstance(customer, str) or not customer:
            raise stripe_error(400, "Missing required param: customer.", param="customer")
        found = self.customers.get(customer)
        if found is None:
            raise _missing("customer", customer, "customer")
        currency = str(form.get("currency") or found.data.get("currency") or "usd").lower()
        if currency.upper() not in _KNOWN_CURRENCIES:
            raise stripe_error(400, f"Invalid currency: {currency}.", param="currency")
        method = form.get("collection_method", "charge_automatically")
        due = None
        if method == "send_invoice":
            if "due_date" in form:
                due = _integer(form["due_date"], "due_date")
            elif "days_until_due" in form:
                due = int(self.clock.now().timestamp()) + 86_400 * _integer(
                    form["days_until_due"], "days_until_due"
                )
            else:
                raise stripe_error(
                    400, "Invoices sent by e-mail need due_date or days_until_due.", param="due_date"
                )
        elif method != "charge_automatically":
            raise stripe_error(400, "Invalid collection_method.", param="collection_method")
        now = int(self.clock.now().timestamp())
        ident = self.invoices.next_id
        invoice = {
            **self.templates["invoice"],
            "id": ident,
            "created": now,
            "currency": currency,
            "customer": customer,
            "customer_name": found.data.get("name"),
            "customer_email": found.data.get("email"),
            "collection_method": method,
            "due_date": due,
            "description": form.get("description") or None,
            "auto_advance": form.get("auto_advance", "false") == "true",
            "metadata": _metadata(form.get("metadata", {}), {}),
            "period_start": now,
            "period_end": now,
            "next_payment_attempt": None,
            "webhooks_delivered_at": None,
            "test_clock": None,
            "lines": {"object": "list", "data": [], "has_more": False, "url": f"/v1/invoices/{ident}/lines"},
        }
        record = self.invoices.create(ObjectFactory.with_totals(invoice, "draft", now))
        return json_response(record.data)

    def _create_invoice_item(self, request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
        form = self._form(
            request,
            frozenset(
                {
                    "customer",
                    "invoice",
                    "currency",
                    "amount",
                    "quantity",
                    "unit_amount_decimal",
                    "description",
                    "metadata",
                    "expand",
                }
            ),
        )
        invoice_id = form.get("invoice")
        if not isinstance(invoice_id, str):
            raise stripe_error(
                400, "The fincon sandbox adds invoice items to a given draft invoice.", param="invoice"
            )
        record = self.invoices.get(invoice_id)
        if record is None:
            raise _missing("invoice", invoice_id, "invoice")
        invoice = record.data
        if invoice["status"] != "draft":
            raise stripe_error(400, f"Invoice {invoice_id} is no longer a draft.", param="invoice")
        if form.get("customer") != invoice["customer"]:
            raise stripe_error(400, "The invoice item's customer must be the invoice's.", param="customer")
        currency = str(form.get("currency") or invoice["currency"]).lower()
        if currency != invoice["currency"]:
            raise stripe_error(400, "The invoice item's currency must be the invoice's.", param="currency")
        quantity = _integer(form.get("quantity", "1"), "quantity", low=1, high=10**9)
        if "unit_amount_decimal" in form:
            try:
                unit = Decimal(str(form["unit_amount_decimal"]))
            except InvalidOperation:
                raise stripe_error(
                    400, "Invalid decimal: unit_amount_decimal.", param="unit_amount_decimal"
                ) from None
            if not unit.is_finite() or unit < 0:
                raise stripe_error(400, "Invalid unit_amount_decimal.", param="unit_amount_decimal")
            amount = int((unit * quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            unit_text = format(unit, "f")
        elif "amount" in form:
            amount = _integer(form["amount"], "amount")
            unit_text = str(amount)
        else:
            raise stripe_error(400, "Missing required param: amount.", param="amount")
        now = int(self.clock.now().timestamp())
        lines = invoice["lines"]["data"]
        item_id = self.invoice_items.next_id
        line = self.factory.line(
            invoice_id, len(lines) + 1, currency, quantity, 0, str(form.get("description") or ""), None, now
        )
        line = {
            **line,
            "id": f"il_{item_id[3:]}",
            "invoice_item": item_id,
            "amount": amount,
            "amount_excluding_tax": amount,
            "description": form.get("description") or None,
            "unit_amount_excluding_tax": unit_text,
            "price": {
                **line["price"],
                "unit_amount": int(Decimal(unit_text))
                if Decimal(unit_text) == int(Decimal(unit_text))
                else None,
                "unit_amount_decimal": unit_text,
            },
        }
        updated = {**invoice, "lines": {**invoice["lines"], "data": [*lines, line]}}
        self.invoices.update(invoice_id, ObjectFactory.with_totals(updated, "draft", now))
        item = {
            **self.templates["invoiceitem"],
            "id": item_id,
            "amount": amount,
            "currency": currency,
            "customer": invoice["customer"],
            "date": now,
            "description": line["description"],
            "invoice": invoice_id,
            "quantity": quantity,
            "price": line["price"],
            "unit_amount": line["price"]["unit_amount"],
            "unit_amount_decimal": unit_text,
            "metadata": _metadata(form.get("metadata", {}), {}),
            "period": {"end": now, "start": now},
            "test_clock": None,
        }
        self.invoice_items.create(item)
        return json_response(item)

    def _invoice_lines(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        record = self.invoices.get(parameters["id"])
        if record is None:
            raise _missing("invoice", parameters["id"])
        query = self._query(request)
        for key in query:
            if key not in ("limit", "starting_after", "expand"):
                raise _unknown(key)
        limit = _integer(query.get("limit", "10"), "limit", low=1, high=100)
        lines = record.data["lines"]["data"]
        start = 0
        if query.get("starting_after"):
            ids = [line["id"] for line in lines]
            if query["starting_after"] not in ids:
                raise _missing("line item", str(query["starting_after"]), "starting_after")
            start = ids.index(query["starting_after"]) + 1
        chunk = lines[start : start + limit]
        return json_response(
            {
                "object": "list",
                "data": chunk,
                "has_more": start + limit < len(lines),
                "url": f"/v1/invoices/{record.id}/lines",
            }
        )

    def _transition(
        self, request: httpx.Request, invoice_id: str, allowed: tuple[str, ...], status: str
    ) -> JSON:
        self._form(request, frozenset({"expand", "auto_advance"}))
        record = self.invoices.get(invoice_id)
        if record is None:
            raise _missing("invoice", invoice_id)
        current = record.data["status"]
        if current not in allowed:
            raise stripe_error(
                400,
                f"You can only do this to invoices in status {' or '.join(allowed)}; this one is {current}.",
                code="invoice_not_editable",
            )
        now = int(self.clock.now().timestamp())
        if status == "open" and record.data["total"] == 0:
            status = "paid"
        number = record.data.get("number") or f"FINCON-{record.index + 1:06d}"
        updated = ObjectFactory.with_totals(record.data, status, now, number=number)
        if status == "void":
            updated["status_transitions"] = {**record.data["status_transitions"], "voided_at": now}
            updated["effective_at"] = record.data.get("effective_at")
        return self.invoices.update(invoice_id, updated).data

    def _finalize(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        return json_response(_embedded(self._transition(request, parameters["id"], ("draft",), "open")))

    def _void(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        return json_response(
            _embedded(self._transition(request, parameters["id"], ("open", "uncollectible"), "void"))
        )


EMBEDDED_LINES = 10


def _embedded(data: JSON) -> JSON:
    """An invoice as Stripe shows it: at most ten lines inline, the rest at ``/lines``."""
    lines = data.get("lines") if data.get("object") == "invoice" else None
    if not isinstance(lines, dict) or len(lines.get("data") or ()) <= EMBEDDED_LINES:
        return data
    return {**data, "lines": {**lines, "data": lines["data"][:EMBEDDED_LINES], "has_more": True}}


def _within(value: Any, bounds: Mapping[str, int]) -> bool:
    if not isinstance(value, int):
        return False
    checks = {
        "gt": value > bounds.get("gt", value - 1),
        "gte": value >= bounds.get("gte", value),
        "lt": value < bounds.get("lt", value + 1),
        "lte": value <= bounds.get("lte", value),
    }
    return all(checks.values())


def _id_of(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def _metadata(value: Any, current: Mapping[str, Any]) -> JSON:
    if value == "":
        return {}
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise stripe_error(400, "Invalid metadata: must be an object of strings.", param="metadata")
    merged = dict(current)
    for key, item in value.items():
        if item == "":
            merged.pop(key, None)  # an empty value unsets the key, as in Stripe
        else:
            merged[key] = item
    return merged


_KNOWN_CURRENCIES = frozenset(
    {
        "USD",
        "EUR",
        "GBP",
        "JPY",
        "KWD",
        "BHD",
        "CHF",
        "CAD",
        "AUD",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "MXN",
        "INR",
        "SGD",
        "KRW",
        "OMR",
        "JOD",
        "TND",
    }
)
