"""``StripeEmulator``: Stripe's API in memory, on fincon's sandbox framework.

Stripe's own paths, form-encoded request bodies (nested keys), ``{"object": "list", ...}``
envelopes with ``starting_after``/``has_more``, Stripe error objects, ``Request-Id`` on every
answer, idempotency keys replayed for 24 hours (``Idempotent-Replayed: true``), and the
secret key as ``Authorization: Bearer sk_test_...`` or as the HTTP Basic user name.
Records are seeded from Stripe's example objects (see :mod:`fincon.connectors.stripe._seed`)
and built on demand, so ``size=1_000_000`` costs nothing up front.

Endpoints: ``/v1/account``, ``/v1/balance``, ``/v1/customers`` (+ ``/{id}``, ``/search``),
``/v1/invoices`` (+ ``/{id}`` read, update and delete, ``/search``, ``/{id}/lines``,
``/{id}/finalize``, ``/{id}/void``), ``/v1/invoiceitems``, ``/v1/payment_intents`` (+ create,
``/{id}``, ``/{id}/confirm``, ``/search``), ``/v1/balance_transactions`` (+ ``/{id}``),
``/v1/payouts`` (+ ``/{id}``). Lists page with ``starting_after`` or ``ending_before``.
Each ``Stripe-Account`` has its own objects (:mod:`fincon.connectors.stripe._books`); search
takes a subset of Stripe's query language (:mod:`fincon.connectors.stripe._search`).
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

from fincon.connectors.stripe._books import LISTABLES, Books, Listable, connected_seed
from fincon.connectors.stripe._form import decode_form
from fincon.connectors.stripe._search import SearchQuery, SearchSyntaxError
from fincon.connectors.stripe._seed import ObjectFactory, load_templates
from fincon.core.clock import Clock
from fincon.sandbox import (
    Abort,
    APIKeyAuth,
    Emulator,
    FaultPlan,
    PageCache,
    Record,
    ResponseFault,
    Router,
    SeedRandom,
    basic_credentials,
    encoded_json_response,
    json_response,
    response_body,
)

__all__ = ["StripeEmulator"]

JSON = dict[str, Any]
IDEMPOTENCY_LIFETIME = timedelta(hours=24)
LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "expand", "created"})
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
_INVOICE_UPDATE_FIELDS = frozenset(
    {"description", "metadata", "due_date", "days_until_due", "collection_method", "auto_advance", "expand"}
)
#: What Stripe still lets change once an invoice is finalized.
_FINALIZED_UPDATE_FIELDS = frozenset({"description", "metadata", "auto_advance", "expand"})
_PAYMENT_INTENT_FIELDS = frozenset(
    {
        "amount",
        "currency",
        "customer",
        "description",
        "metadata",
        "payment_method_types",
        "payment_method",
        "confirm",
        "capture_method",
        "receipt_email",
        "statement_descriptor",
        "expand",
    }
)
_METHOD_TYPES = frozenset({"card", "us_bank_account", "sepa_debit", "bacs_debit", "customer_balance"})
_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


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
        platform = Books.build(
            self.account_id, seed=seed, size=size, templates=self.templates, clock=self.clock
        )
        #: Each account's objects: the platform's, and connected accounts' (built on first use).
        self.books: dict[str, Books] = {self.account_id: platform}
        # The platform's objects, by name (what tests and the conformance suite inspect).
        self.factory = platform.factory
        self.customers = platform.customers
        self.invoices = platform.invoices
        self.invoice_items = platform.invoice_items
        self.payment_intents = platform.payment_intents
        #: Rendered pages of unfiltered listings of unchanged collections, served again as they are.
        self.page_cache: PageCache[bytes] = PageCache(limit=512 * 1024 * 1024)  # 100,000 invoices
        self.balance_transactions = platform.balance_transactions
        self.payouts = platform.payouts
        self._idempotency: dict[tuple[str, str], _Stored] = {}
        self._requests = 0
        router = Router(not_found=self._not_found, method_not_allowed=self._not_allowed)
        router.add("GET", "/v1/account", self._account)
        router.add("GET", "/v1/balance", lambda request, _: json_response(self._books_for(request).balance))
        for searchable in ("customers", "invoices", "payment_intents"):
            router.add("GET", f"/v1/{searchable}/search", self._searcher(searchable))
        router.add("POST", "/v1/customers", self._create_customer)
        router.add("POST", "/v1/customers/{id}", self._update_customer)
        router.add("DELETE", "/v1/customers/{id}", self._delete_customer)
        router.add("POST", "/v1/invoices", self._create_invoice)
        router.add("POST", "/v1/invoices/{id}", self._update_invoice)
        router.add("DELETE", "/v1/invoices/{id}", self._delete_invoice)
        router.add("POST", "/v1/payment_intents", self._create_payment_intent)
        router.add("POST", "/v1/payment_intents/{id}/confirm", self._confirm_payment_intent)
        router.add("GET", "/v1/invoices/{id}/lines", self._invoice_lines)
        router.add("POST", "/v1/invoices/{id}/finalize", self._finalize)
        router.add("POST", "/v1/invoices/{id}/void", self._void)
        router.add("POST", "/v1/invoiceitems", self._create_invoice_item)
        for name, listable in LISTABLES.items():
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

    # -- accounts --------------------------------------------------------------------------

    def _books_for(self, request: httpx.Request) -> Books:
        """The books of the account a request acts for (``Stripe-Account``, else the platform)."""
        account = request.headers.get("Stripe-Account") or self.account_id
        books = self.books.get(account)
        if books is None:
            books = Books.build(
                account,
                seed=connected_seed(self.seed, account),
                size=self.size,
                templates=self.templates,
                clock=self.clock,
            )
            self.books[account] = books
        return books

    # -- listing ---------------------------------------------------------------------------

    def _lister(self, name: str) -> Callable[[httpx.Request, Mapping[str, str]], httpx.Response]:
        listable = LISTABLES[name]

        def handle(request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
            return self._list(listable, request)

        return handle

    def _getter(self, name: str) -> Callable[[httpx.Request, Mapping[str, str]], httpx.Response]:
        listable = LISTABLES[name]

        def handle(request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
            query = self._query(request)
            for key in query:
                if key != "expand":
                    raise _unknown(key)
            books = self._books_for(request)
            records = books.records(listable)
            record = records.get(parameters["id"])
            if record is None:
                if name == "customers" and records.index_of(parameters["id"]) is not None:
                    return json_response({"id": parameters["id"], "object": "customer", "deleted": True})
                raise _missing(listable.object_name, parameters["id"])
            data = _embedded(record.data)
            for path in self._expand_list(query):
                data = self._expand(books, listable, data, path)
            return json_response(data)

        return handle

    def _expand(self, books: Books, listable: Listable, data: JSON, path: str) -> JSON:
        if listable.collection != "payment_intents":
            raise stripe_error(400, f"This property cannot be expanded ({path}).", param="expand")
        return self._expand_intent(books, data, path)

    @staticmethod
    def _expand_list(query: JSON) -> list[str]:
        expand = query.get("expand", [])
        if isinstance(expand, str):
            expand = [expand]
        if not isinstance(expand, list) or not all(isinstance(item, str) for item in expand):
            raise stripe_error(400, "Invalid expand: must be an array of strings.", param="expand")
        return expand

    def _predicate(self, listable: Listable, query: JSON) -> Callable[[Record[JSON]], bool] | None:
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

    def _list(self, listable: Listable, request: httpx.Request) -> httpx.Response:
        query = self._query(request)
        limit = _integer(query.get("limit", "10"), "limit", low=1, high=100)
        expand = self._expand_list(query)
        where = self._predicate(listable, query)
        books = self._books_for(request)
        records = books.records(listable)
        after = query.get("starting_after") or None
        before = query.get("ending_before") or None
        if after is not None and before is not None:
            raise stripe_error(
                400, "You may only specify one of these parameters: ending_before, starting_after.",
                param="ending_before",
            )  # fmt: skip
        for name, cursor in (("starting_after", after), ("ending_before", before)):
            if cursor is not None and (not isinstance(cursor, str) or records.index_of(cursor) is None):
                raise _missing(listable.object_name, str(cursor), name)
        pristine = False
        if before is not None:
            items, has_more = self._page_before(records, str(before), limit, where)
        else:
            after = self.paging_cursor(
                (request.headers.get("authorization", ""), books.account, listable.path), after
            )
            # An unfiltered page of a collection nobody changed is the same every time: it is
            # rendered once (benchmarks then measure the clients, not this emulator's encoding).
            key = (books.account, listable.path, limit, after)
            pristine = where is None and not expand and records.changes == 0
            cached = self.page_cache.get(key) if pristine else None
            if cached is not None:
                return encoded_json_response(cached)
            page = records.page(limit, after=after, where=where)
            items, has_more = page.items, page.has_more
        data = [_embedded(record.data) for record in items]
        for path in expand:
            if not path.startswith("data."):
                raise stripe_error(400, f"This property cannot be expanded ({path}).", param="expand")
            data = [self._expand(books, listable, item, path[5:]) for item in data]
        response = json_response({"object": "list", "data": data, "has_more": has_more, "url": listable.path})
        if not pristine:
            return response
        body = response_body(response)
        self.page_cache.put(key, body, len(body))
        return encoded_json_response(body)

    @staticmethod
    def _page_before(
        records: Any, before: str, limit: int, where: Callable[[Record[JSON]], bool] | None
    ) -> tuple[list[Record[JSON]], bool]:
        """The ``limit`` objects just before ``before`` in list order, in list order, and
        whether more come before them (Stripe's ``ending_before``)."""
        found: list[Record[JSON]] = []
        index = records.index_of(before) - 1
        while index >= 0:
            record = records._at(index)  # walking back by position, as the cursor is one
            index -= 1
            if record is None or (where is not None and not where(record)):
                continue
            if len(found) == limit:
                return found[::-1], True
            found.append(record)
        return found[::-1], False

    def _expand_intent(self, books: Books, intent: JSON, path: str) -> JSON:
        if path != "latest_charge":
            raise stripe_error(400, f"This property cannot be expanded ({path}).", param="expand")
        charge_id = intent.get("latest_charge")
        if not isinstance(charge_id, str):
            return intent
        charge = books.charges.get(charge_id)
        if charge is None:
            index = books.payment_intents.index_of(str(intent["id"])) or 0
            charge = books.factory.charge(intent, SeedRandom(books.seed, "refunds", index))
        return {**intent, "latest_charge": charge}

    # -- account and customers -------------------------------------------------------------

    def _account(self, request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
        template = self.templates["account"]
        profile = {**(template.get("business_profile") or {}), "name": "Fincon Sandbox Ltd"}
        return json_response(
            {
                **template,
                "id": self._books_for(request).account,
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
        books = self._books_for(request)
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
        record = books.customers.create({**self._customer_fields(form, base), "id": books.customers.next_id})
        return json_response(record.data)

    def _update_customer(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        books = self._books_for(request)
        record = books.customers.get(parameters["id"])
        if record is None:
            raise _missing("customer", parameters["id"])
        form = self._form(request, _CUSTOMER_FIELDS)
        return json_response(books.customers.update(record.id, self._customer_fields(form, record.data)).data)

    def _delete_customer(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        books = self._books_for(request)
        if books.customers.get(parameters["id"]) is None:
            raise _missing("customer", parameters["id"])
        books.customers.delete(parameters["id"])
        return json_response({"id": parameters["id"], "object": "customer", "deleted": True})

    def _searcher(self, objects: str) -> Callable[[httpx.Request, Mapping[str, str]], httpx.Response]:
        def handle(request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
            return self._search(objects, request)

        return handle

    def _search(self, objects: str, request: httpx.Request) -> httpx.Response:
        query = self._query(request)
        for key in query:
            if key not in ("query", "limit", "page", "expand"):
                raise _unknown(key)
        text = query.get("query")
        if not isinstance(text, str) or not text.strip():
            raise stripe_error(400, "Missing required param: query.", param="query")
        try:
            search = SearchQuery(text, objects)
        except SearchSyntaxError as exc:
            raise stripe_error(400, str(exc), param="query") from None
        limit = _integer(query.get("limit", "10"), "limit", low=1, high=100)
        start = 0
        if query.get("page"):
            try:
                start = int(base64.urlsafe_b64decode(str(query["page"]).encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise stripe_error(400, "Invalid page token.", param="page") from None
        books = self._books_for(request)
        listable = LISTABLES[objects]
        records = books.records(listable)
        expand = self._expand_list(query)
        hits: list[JSON] = []
        following = None
        for index in records.indexes(start=start):
            record = records._at(index)  # positions are what search pages by
            if record is None or not search.matches(record.data):
                continue
            if len(hits) == limit:
                following = base64.urlsafe_b64encode(str(index).encode()).decode()
                break
            hits.append(_embedded(record.data))
        for path in expand:
            if not path.startswith("data."):
                raise stripe_error(400, f"This property cannot be expanded ({path}).", param="expand")
            hits = [self._expand(books, listable, item, path[5:]) for item in hits]
        return json_response(
            {
                "object": "search_result",
                "data": hits,
                "has_more": following is not None,
                "next_page": following,
                "url": f"/v1/{objects}/search",
            }
        )

    # -- invoices --------------------------------------------------------------------------

    def _create_invoice(self, request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
        books = self._books_for(request)
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
        found = books.customers.get(customer)
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
        ident = books.invoices.next_id
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
        record = books.invoices.create(ObjectFactory.with_totals(invoice, "draft", now))
        return json_response(record.data)

    def _create_invoice_item(self, request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
        books = self._books_for(request)
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
        record = books.invoices.get(invoice_id)
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
        item_id = books.invoice_items.next_id
        line = books.factory.line(
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
        books.invoices.update(invoice_id, ObjectFactory.with_totals(updated, "draft", now))
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
        books.invoice_items.create(item)
        return json_response(item)

    def _invoice_lines(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        books = self._books_for(request)
        record = books.invoices.get(parameters["id"])
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
        books = self._books_for(request)
        self._form(request, frozenset({"expand", "auto_advance"}))
        record = books.invoices.get(invoice_id)
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
        return books.invoices.update(invoice_id, updated).data

    def _update_invoice(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        books = self._books_for(request)
        record = books.invoices.get(parameters["id"])
        if record is None:
            raise _missing("invoice", parameters["id"])
        form = self._form(request, _INVOICE_UPDATE_FIELDS)
        invoice = dict(record.data)
        if invoice["status"] != "draft":
            # As in Stripe: a finalized invoice keeps its amounts, dates and collection method.
            locked = sorted(set(form) - _FINALIZED_UPDATE_FIELDS)
            if locked:
                raise stripe_error(
                    400,
                    f"You can only update {locked[0]} on draft invoices; invoice {record.id} is "
                    f"{invoice['status']}.",
                    param=locked[0],
                    code="invoice_not_editable",
                )
        if "description" in form:
            invoice["description"] = form["description"] or None
        if "metadata" in form:
            invoice["metadata"] = _metadata(form["metadata"], invoice.get("metadata") or {})
        if "auto_advance" in form:
            invoice["auto_advance"] = form["auto_advance"] == "true"
        method = form.get("collection_method", invoice["collection_method"])
        if method not in ("charge_automatically", "send_invoice"):
            raise stripe_error(400, "Invalid collection_method.", param="collection_method")
        due = invoice.get("due_date")
        if "due_date" in form:
            due = None if form["due_date"] == "" else _integer(form["due_date"], "due_date")
        elif "days_until_due" in form:
            days = _integer(form["days_until_due"], "days_until_due", low=0, high=3650)
            due = int(self.clock.now().timestamp()) + 86_400 * days
        if method == "send_invoice" and due is None:
            raise stripe_error(
                400, "Invoices sent by e-mail need due_date or days_until_due.", param="due_date"
            )
        invoice["collection_method"] = method
        invoice["due_date"] = due if method == "send_invoice" else None
        return json_response(_embedded(books.invoices.update(record.id, invoice).data))

    def _delete_invoice(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        books = self._books_for(request)
        record = books.invoices.get(parameters["id"])
        if record is None:
            raise _missing("invoice", parameters["id"])
        if record.data["status"] != "draft":
            raise stripe_error(
                400,
                f"You can only delete draft invoices; invoice {record.id} is {record.data['status']}.",
                code="invoice_not_editable",
            )
        books.invoices.delete(record.id)
        return json_response({"id": record.id, "object": "invoice", "deleted": True})

    # -- payment intents -------------------------------------------------------------------

    def _create_payment_intent(self, request: httpx.Request, _: Mapping[str, str]) -> httpx.Response:
        books = self._books_for(request)
        form = self._form(request, _PAYMENT_INTENT_FIELDS)
        if "amount" not in form:
            raise stripe_error(400, "Missing required param: amount.", param="amount")
        amount = _integer(form["amount"], "amount", low=1, high=99_999_999)
        currency = form.get("currency")
        if not isinstance(currency, str) or not currency:
            raise stripe_error(400, "Missing required param: currency.", param="currency")
        currency = currency.lower()
        if currency.upper() not in _KNOWN_CURRENCIES:
            raise stripe_error(400, f"Invalid currency: {currency}.", param="currency")
        if currency.upper() in _THREE_DECIMAL and amount % 10:
            raise stripe_error(
                400,
                f"Amounts in {currency.upper()} must end in 0 (Stripe charges whole tens of the minor unit).",
                param="amount",
                code="amount_too_precise",
            )
        customer = form.get("customer")
        if customer is not None and (not isinstance(customer, str) or books.customers.get(customer) is None):
            raise _missing("customer", str(customer), "customer")
        types = form.get("payment_method_types", ["card"])
        if isinstance(types, str):
            types = [types]
        if not isinstance(types, list) or not types or not all(item in _METHOD_TYPES for item in types):
            raise stripe_error(400, "Invalid payment_method_types.", param="payment_method_types")
        capture = form.get("capture_method", "automatic")
        if capture not in ("automatic", "manual"):
            raise stripe_error(400, "Invalid capture_method.", param="capture_method")
        now = int(self.clock.now().timestamp())
        ident = books.payment_intents.next_id
        intent: JSON = {
            **self.templates["payment_intent"],
            "id": ident,
            "object": "payment_intent",
            "created": now,
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "currency": currency,
            "customer": customer,
            "description": form.get("description") or None,
            "metadata": _metadata(form.get("metadata", {}), {}),
            "payment_method_types": types,
            "payment_method": None,
            "capture_method": capture,
            "status": "requires_payment_method",
            "latest_charge": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "client_secret": f"{ident}_secret_fincon{books.payment_intents.changes:06d}",
            "invoice": None,
            "receipt_email": form.get("receipt_email") or None,
            "statement_descriptor": form.get("statement_descriptor") or None,
        }
        if form.get("payment_method"):
            intent["payment_method"] = str(form["payment_method"])
            intent["status"] = "requires_confirmation"
        if form.get("confirm") == "true":
            intent = self._confirmed(books, intent, now)
        data = books.payment_intents.create(intent).data
        for path in self._expand_list(form):
            data = self._expand_intent(books, data, path)
        return json_response(data)

    def _confirm_payment_intent(
        self, request: httpx.Request, parameters: Mapping[str, str]
    ) -> httpx.Response:
        books = self._books_for(request)
        record = books.payment_intents.get(parameters["id"])
        if record is None:
            raise _missing("payment_intent", parameters["id"])
        form = self._form(request, frozenset({"payment_method", "expand"}))
        intent = dict(record.data)
        if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
            raise stripe_error(
                400,
                f"This PaymentIntent's status is {intent['status']}; it cannot be confirmed.",
                code="payment_intent_unexpected_state",
            )
        if form.get("payment_method"):
            intent["payment_method"] = str(form["payment_method"])
        confirmed = self._confirmed(books, intent, int(self.clock.now().timestamp()))
        data = books.payment_intents.update(record.id, confirmed).data
        for path in self._expand_list(form):
            data = self._expand_intent(books, data, path)
        return json_response(data)

    @staticmethod
    def _confirmed(books: Books, intent: JSON, now: int) -> JSON:
        """``intent`` after confirmation with its payment method: charged (or authorised)."""
        method = intent.get("payment_method")
        if not method:
            raise stripe_error(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
                param="payment_method",
            )
        if method == "pm_card_chargeDeclined":  # Stripe's test method for a declined card
            raise stripe_error(
                402,
                "Your card was declined.",
                kind="card_error",
                code="card_declined",
                param="payment_method",
            )
        manual = intent.get("capture_method") == "manual"
        charge_id = f"ch_{intent['id'].split('_', 1)[1]}"
        books.charges[charge_id] = {
            **books.factory.charge(
                {**intent, "status": "succeeded", "latest_charge": charge_id}, SeedRandom(0)
            ),
            "amount_captured": 0 if manual else intent["amount"],
            "amount_refunded": 0,
            "refunded": False,
            "captured": not manual,
            "created": now,
        }
        return {
            **intent,
            "status": "requires_capture" if manual else "succeeded",
            "amount_received": 0 if manual else intent["amount"],
            "amount_capturable": intent["amount"] if manual else 0,
            "latest_charge": charge_id,
        }

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
