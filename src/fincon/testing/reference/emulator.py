"""The reference emulator: a small JSON REST system that proves the sandbox framework.

It behaves like a careful modern API (Stripe is the model): bearer auth with an API key
or an OAuth2 client-credentials token, cursor paging with ``starting_after`` and
``has_more``, idempotency keys on writes, JSON error objects, 429 with ``Retry-After``.
Amounts are JSON strings with exact decimals (``"1234.50"``).

Endpoints::

    POST   /oauth/token            grant_type=client_credentials, client_id, client_secret
    GET    /v1/me                  who the credentials belong to
    GET    /v1/vendors | /v1/bills             ?limit=1..100&starting_after=ID&updated_since=ISO
    POST   /v1/vendors | /v1/bills             create (Idempotency-Key honoured)
    GET    /v1/vendors/{id} | /v1/bills/{id}
    PATCH  /v1/vendors/{id} | /v1/bills/{id}   update (Idempotency-Key honoured)
    DELETE /v1/vendors/{id} | /v1/bills/{id}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

import httpx

from fincon.core.clock import Clock
from fincon.sandbox import (
    CURRENCY_EXPONENTS,
    Abort,
    AccountRateLimiter,
    APIKeyAuth,
    AuthResult,
    ClientCredentialsIssuer,
    Emulator,
    FaultPlan,
    IdScheme,
    Record,
    RecordSeed,
    Router,
    SeededCollection,
    SeedRandom,
    bearer_token,
    currency_exponent,
    format_datetime,
    json_response,
    parse_datetime,
    read_json,
    response_body,
    retry_after_value,
)

__all__ = ["ReferenceEmulator"]

ACCOUNT_ID = "acct_reference"
IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)
LIST_PARAMETERS = frozenset({"limit", "starting_after", "updated_since"})
VENDOR_STATUSES = ("active", "inactive")
BILL_STATUSES = ("draft", "open", "paid", "void")
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_EXPENSE_ACCOUNTS = ("5000", "6000", "6100", "6200", "6400", "6800")
_LINE_DESCRIPTIONS = (
    "Consulting services", "Office supplies", "Freight and delivery", "Software subscription",
    "Equipment rental", "Cleaning services", "Printing", "Catering", "Maintenance", "Travel",
)  # fmt: skip
_PAYMENT_TERMS = {"due_on_receipt": 0, "net_15": 15, "net_30": 30, "net_45": 45, "net_60": 60}
_TERMS_NAMES = tuple(_PAYMENT_TERMS)
_TAX_RATES = (Decimal(0), Decimal("0.05"), Decimal("0.2"))
_LINE_COUNTS = (1,) * 30 + (2,) * 30 + (3,) * 20 + (4,) * 12 + (5,) * 8  # by percent
_BILL_STATUS_BY_PERCENT = ("draft",) * 5 + ("open",) * 45 + ("paid",) * 45 + ("void",) * 5
_IBAN_COUNTRIES = frozenset({"DE", "GB", "FR", "NL"})
VENDOR_PROFILES = 1024

JSON = dict[str, Any]


def _error(
    status: int,
    error_type: str,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Abort:
    """An ``Abort`` carrying the reference API's error object."""
    error: JSON = {"type": error_type}
    if code is not None:
        error["code"] = code
    if param is not None:
        error["param"] = param
    error["message"] = message
    return Abort(json_response({"error": error}, status=status, headers=headers))


def _invalid(param: str | None, message: str, *, code: str | None = None) -> Abort:
    return _error(400, "invalid_request_error", message, param=param, code=code)


def _missing(object_name: str, record_id: str, param: str = "id") -> Abort:
    return _error(
        404,
        "invalid_request_error",
        f"No such {object_name}: '{record_id}'",
        code="resource_missing",
        param=param,
    )


# Input checking ---------------------------------------------------------------------------


def _text(body: JSON, field: str, *, required: bool = False, max_length: int = 500) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise _invalid(field, f"Missing required param: {field}.")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise _invalid(field, f"Invalid {field}: must be a non-empty string.")
    if len(value) > max_length:
        raise _invalid(field, f"Invalid {field}: longer than {max_length} characters.")
    return value


def _choice(body: JSON, field: str, options: tuple[str, ...], default: str) -> str:
    value = body.get(field, default)
    if value not in options:
        raise _invalid(field, f"Invalid {field}: must be one of {', '.join(options)}.")
    return str(value)


def _currency(body: JSON, default: str) -> str:
    value = body.get("currency", default)
    if not isinstance(value, str) or value.upper() not in CURRENCY_EXPONENTS:
        raise _invalid("currency", f"Invalid currency: {value!r}. Use an ISO 4217 code this sandbox knows.")
    return value.upper()


def _decimal(value: Any, param: str, *, decimals: int | None = None, positive: bool = False) -> Decimal:
    """An exact amount from a JSON string or number; floats never get here (``read_json``)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise _invalid(param, f'Invalid {param}: must be a decimal string such as "12.50".')
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value):
        raise _invalid(param, f"Invalid {param}: {value!r} is not a decimal number.")
    amount = Decimal(value)
    if not amount.is_finite():
        raise _invalid(param, f"Invalid {param}: must be finite.")
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    if decimals is not None and -exponent > decimals:
        raise _invalid(param, f"Invalid {param}: at most {decimals} decimal places for this currency.")
    if positive and amount <= 0:
        raise _invalid(param, f"Invalid {param}: must be greater than zero.")
    return amount


def _date(body: JSON, field: str, default: date | None) -> date:
    value = body.get(field)
    if value is None:
        if default is None:
            raise _invalid(field, f"Missing required param: {field}.")
        return default
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise _invalid(field, f"Invalid {field}: use YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _invalid(field, f"Invalid {field}: use YYYY-MM-DD.") from None


def _only(body: JSON, allowed: frozenset[str]) -> None:
    for field in body:
        if field not in allowed:
            raise _invalid(field, f"Received unknown parameter: {field}")


def _object(value: Any, param: str) -> JSON | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(item, (str, type(None))) for item in value.values()):
        raise _invalid(param, f"Invalid {param}: must be an object of strings.")
    return dict(value)


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


# Resources --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resource:
    """One REST collection: how its records are stored, checked and shown."""

    path: str
    object_name: str
    records: SeededCollection[JSON]
    check_create: Callable[[JSON], JSON]
    check_update: Callable[[Record[JSON], JSON], JSON]
    render: Callable[[Record[JSON]], JSON]


@dataclass(frozen=True)
class _StoredResponse:
    fingerprint: str
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    expires_at: datetime


VENDOR_FIELDS = frozenset(
    {"name", "legal_name", "email", "phone", "tax_id", "currency", "status", "address", "bank_account",
     "payment_terms", "metadata"}
)  # fmt: skip
BILL_FIELDS = frozenset(
    {"vendor_id", "number", "currency", "issue_date", "due_date", "status", "lines", "tax", "total", "memo",
     "payment_terms"}
)  # fmt: skip
LINE_FIELDS = frozenset({"description", "quantity", "unit_price", "amount", "account"})


class ReferenceEmulator(Emulator):
    """The reference system: vendors and bills over a JSON REST API (see the module doc).

    Options beyond :class:`~fincon.sandbox.Emulator`'s:

    - ``token_ttl``: lifetime of OAuth2 access tokens in seconds (emulator clock);
    - ``rate_limit``: requests per second allowed per account (``None``: unlimited), with
      bursts up to ``rate_limit_burst``; excess calls get 429 with ``Retry-After``;
    - ``cycle_after_pages``: after that many pages of one listing, ``starting_after`` is
      ignored and the first page comes back: a server feeding its client a cursor cycle.
    """

    system = "reference"

    def __init__(
        self,
        *,
        seed: int = 0,
        size: int = 100,
        clock: Clock | None = None,
        faults: FaultPlan | None = None,
        token_ttl: float = 3600.0,
        rate_limit: float | None = None,
        rate_limit_burst: float | None = None,
        cycle_after_pages: int | None = None,
    ) -> None:
        super().__init__(
            seed=seed, size=size, clock=clock, faults=faults, cycle_after_pages=cycle_after_pages
        )
        secrets = SeedRandom(seed, "reference-credentials")
        self.api_key = f"sk_test_ref_{secrets.next64():016x}"
        self.client_id = f"ref_client_{secrets.next64() % 10**8:08d}"
        self.client_secret = f"ref_secret_{secrets.next64():016x}{secrets.next64():016x}"
        self._profile_random = SeedRandom(seed, "vendor-profiles")
        self._profiles: dict[int, JSON] = {}
        self.api_keys = APIKeyAuth({self.api_key: ACCOUNT_ID})
        self.tokens = ClientCredentialsIssuer(
            {self.client_id: (self.client_secret, ACCOUNT_ID)}, ttl=token_ttl, clock=self.clock, seed=seed
        )
        self.rate_limiter = (
            AccountRateLimiter(rate_limit, burst=rate_limit_burst, clock=self.clock) if rate_limit else None
        )
        self.vendors: SeededCollection[JSON] = SeededCollection(
            "vendors", self._seed_vendor, seed=seed, size=size, ids=IdScheme("ven_", 8), clock=self.clock
        )
        self.bills: SeededCollection[JSON] = SeededCollection(
            "bills", self._seed_bill, seed=seed, size=size, ids=IdScheme("bill_", 8), clock=self.clock
        )
        self._resources = {
            "vendors": _Resource(
                "/v1/vendors", "vendor", self.vendors, self._check_vendor,
                lambda record, changes: self._check_vendor({**record.data, **changes}), self._render_vendor,
            ),
            "bills": _Resource(
                "/v1/bills", "bill", self.bills, self._check_bill, self._check_bill_update, self._render_bill,
            ),
        }  # fmt: skip
        self._idempotency: dict[tuple[str, str], _StoredResponse] = {}
        self._request_number = 0
        self.router = self._build_router()

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key, "client_id": self.client_id, "client_secret": self.client_secret}

    def expire_tokens(self) -> int:
        """Expire every OAuth2 token now (the next call with one gets 401 ``token_expired``)."""
        return self.tokens.expire_tokens()

    # Seeded data ------------------------------------------------------------------------

    def _vendor_profile(self, index: int) -> JSON:
        """The company behind seeded vendor ``index``: one of ``VENDOR_PROFILES`` built
        lazily from the seed. Sharing profiles keeps a page of seeded vendors cheap to
        build (the sandbox server's time per request matters in benchmarks) while each
        vendor still gets its own id, tax id, bank account and status."""
        slot = self._profile_random.derive(index).below(VENDOR_PROFILES)
        profile = self._profiles.get(slot)
        if profile is None:
            random = SeedRandom(self.seed, "vendor-profile", slot)
            country = random.country()
            name = random.company_name()
            profile = {
                "name": name,
                "email": random.email(name),
                "phone": random.phone(),
                "country": country,
                "currency": random.currency_for(country),
                "address": random.address(country),
                "bic": random.bic(country) if country in _IBAN_COUNTRIES else None,
                "payment_terms": random.choice(tuple(_PAYMENT_TERMS)),
            }
            self._profiles[slot] = profile
        return profile

    def _seed_vendor(self, seed: RecordSeed) -> JSON:
        random = seed.random
        profile = self._vendor_profile(seed.index)
        country = profile["country"]
        if profile["bic"] is not None:
            bank: JSON = {"iban": random.iban(country), "bic": profile["bic"]}
        else:
            account, routing = random.indexes(10**10, 10**9)
            bank = {"account_number": f"{account:010d}", "routing_number": f"{routing:09d}"}
        return {
            "name": profile["name"],
            "legal_name": profile["name"],
            "email": profile["email"],
            "phone": profile["phone"],
            "tax_id": random.tax_id(country),
            "currency": profile["currency"],
            "status": VENDOR_STATUSES[random.below(10) // 9],  # one in ten inactive
            "address": profile["address"],  # shared: record data is never mutated
            "bank_account": bank,
            "payment_terms": profile["payment_terms"],
            "metadata": {},
        }

    def _seed_bill(self, seed: RecordSeed) -> JSON:
        random = seed.random
        # Few wide draws instead of many small ones: bills are built on every listing.
        vendor_index, terms, days_before, status, tax_rate, line_count = random.indexes(
            max(self.size, 1), len(_PAYMENT_TERMS), 10, 100, len(_TAX_RATES), len(_LINE_COUNTS)
        )
        currency = self._vendor_profile(vendor_index)["currency"]
        exponent = currency_exponent(currency)
        quantum = _quantum(currency)
        lowest_price, price_choices = 5 * 10**exponent, 2495 * 10**exponent + 1  # 5.00 .. 2500.00
        lines = []
        for _ in range(_LINE_COUNTS[line_count]):
            whole, halves, in_halves, price, description, account = random.indexes(
                20, 40, 5, price_choices, len(_LINE_DESCRIPTIONS), len(_EXPENSE_ACCOUNTS)
            )
            # One line in five bills half units (hours), so quantities are not always whole.
            quantity = Decimal(halves + 1) / 2 if in_halves == 0 else Decimal(whole + 1)
            unit_price = Decimal(lowest_price + price).scaleb(-exponent)
            lines.append(
                {
                    "description": _LINE_DESCRIPTIONS[description],
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "amount": (quantity * unit_price).quantize(quantum, ROUND_HALF_UP),
                    "account": _EXPENSE_ACCOUNTS[account],
                }
            )
        terms_name = _TERMS_NAMES[terms]
        issue_date = seed.created_at.date() - timedelta(days=days_before)
        return self._bill_data(
            vendor_id=self.vendors.ids.format(vendor_index),
            number=f"INV-{seed.index + 1:08d}",
            currency=currency,
            issue_date=issue_date,
            due_date=issue_date + timedelta(days=_PAYMENT_TERMS[terms_name]),
            status=_BILL_STATUS_BY_PERCENT[status],
            lines=lines,
            tax_rate=_TAX_RATES[tax_rate],
            payment_terms=terms_name,
            memo=None,
        )

    @staticmethod
    def _bill_data(
        *,
        vendor_id: str,
        number: str,
        currency: str,
        issue_date: date,
        due_date: date,
        status: str,
        lines: list[JSON],
        payment_terms: str | None,
        memo: str | None,
        tax_rate: Decimal | None = None,
        tax: Decimal | None = None,
    ) -> JSON:
        quantum = _quantum(currency)
        subtotal = sum((line["amount"] for line in lines), Decimal(0)).quantize(quantum)
        if tax is None:
            tax = (subtotal * (tax_rate or Decimal(0))).quantize(quantum, ROUND_HALF_UP)
        total = subtotal + tax
        return {
            "number": number,
            "vendor_id": vendor_id,
            "currency": currency,
            "issue_date": issue_date,
            "due_date": due_date,
            "status": status,
            "payment_terms": payment_terms,
            "lines": lines,
            "subtotal": subtotal,
            "tax": tax,
            "total": total,
            "balance": total if status in ("draft", "open") else Decimal(0).quantize(quantum),
            "memo": memo,
        }

    # Rendering --------------------------------------------------------------------------

    @staticmethod
    def _render_vendor(record: Record[JSON]) -> JSON:
        return {
            "id": record.id,
            "object": "vendor",
            **record.data,
            "created": format_datetime(record.created_at),
            "updated_at": format_datetime(record.updated_at),
        }

    @staticmethod
    def _render_bill(record: Record[JSON]) -> JSON:
        return {
            "id": record.id,
            "object": "bill",
            **record.data,
            "created": format_datetime(record.created_at),
            "updated_at": format_datetime(record.updated_at),
        }

    # Checking input ---------------------------------------------------------------------

    def _check_vendor(self, body: JSON) -> JSON:
        _only(body, VENDOR_FIELDS)
        email = _text(body, "email", max_length=254)
        if email is not None and "@" not in email:
            raise _invalid("email", f"Invalid email: {email!r}.")
        terms = body.get("payment_terms")
        if terms is not None and terms not in _PAYMENT_TERMS:
            raise _invalid(
                "payment_terms", f"Invalid payment_terms: must be one of {', '.join(_PAYMENT_TERMS)}."
            )
        name = _text(body, "name", required=True, max_length=200)
        return {
            "name": name,
            "legal_name": _text(body, "legal_name", max_length=200),
            "email": email,
            "phone": _text(body, "phone", max_length=40),
            "tax_id": _text(body, "tax_id", max_length=40),
            "currency": _currency(body, "USD"),
            "status": _choice(body, "status", VENDOR_STATUSES, "active"),
            "address": _object(body.get("address"), "address"),
            "bank_account": _object(body.get("bank_account"), "bank_account"),
            "payment_terms": terms,
            "metadata": _object(body.get("metadata"), "metadata") or {},
        }

    def _check_lines(self, value: Any, currency: str) -> list[JSON]:
        if not isinstance(value, list) or not value:
            raise _invalid("lines", "Invalid lines: a bill needs at least one line.")
        decimals = currency_exponent(currency)
        lines = []
        for number, line in enumerate(value):
            prefix = f"lines[{number}]"
            if not isinstance(line, dict):
                raise _invalid(prefix, f"Invalid {prefix}: must be an object.")
            for field in line:
                if field not in LINE_FIELDS:
                    raise _invalid(f"{prefix}[{field}]", f"Received unknown parameter: {prefix}[{field}]")
            description = _text(line, "description", required=True)
            quantity = _decimal(line.get("quantity", "1"), f"{prefix}[quantity]", decimals=6, positive=True)
            if "unit_price" not in line:
                raise _invalid(f"{prefix}[unit_price]", f"Missing required param: {prefix}[unit_price].")
            unit_price = _decimal(line["unit_price"], f"{prefix}[unit_price]", decimals=decimals)
            unit_price = unit_price.quantize(_quantum(currency))  # "19.9" is stored as "19.90"
            amount = (quantity * unit_price).quantize(_quantum(currency), ROUND_HALF_UP)
            if line.get("amount") is not None:
                given = _decimal(line["amount"], f"{prefix}[amount]", decimals=decimals)
                if given != amount:
                    raise _invalid(
                        f"{prefix}[amount]", f"Invalid {prefix}[amount]: quantity x unit_price is {amount}."
                    )
            account = line.get("account")
            if account is not None and not isinstance(account, str):
                raise _invalid(f"{prefix}[account]", f"Invalid {prefix}[account]: must be a string.")
            lines.append(
                {
                    "description": description,
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "amount": amount,
                    "account": account,
                }
            )
        return lines

    def _check_bill(self, body: JSON) -> JSON:
        _only(body, BILL_FIELDS)
        vendor_id = _text(body, "vendor_id", required=True)
        assert vendor_id is not None
        vendor = self.vendors.get(vendor_id)
        if vendor is None:
            raise _invalid("vendor_id", f"No such vendor: '{vendor_id}'", code="resource_missing")
        currency = _currency(body, vendor.data["currency"])
        terms = body.get("payment_terms", vendor.data.get("payment_terms"))
        if terms is not None and terms not in _PAYMENT_TERMS:
            raise _invalid(
                "payment_terms", f"Invalid payment_terms: must be one of {', '.join(_PAYMENT_TERMS)}."
            )
        issue_date = _date(body, "issue_date", self.clock.now().date())
        due_date = _date(body, "due_date", issue_date + timedelta(days=_PAYMENT_TERMS[terms or "net_30"]))
        if due_date < issue_date:
            raise _invalid("due_date", "Invalid due_date: it cannot be before issue_date.")
        lines = self._check_lines(body.get("lines"), currency)
        decimals = currency_exponent(currency)
        tax = _decimal(body.get("tax", "0"), "tax", decimals=decimals)
        number = _text(body, "number", max_length=64) or "INV-" + self.bills.next_id.removeprefix("bill_")
        data = self._bill_data(
            vendor_id=vendor_id,
            number=number,
            currency=currency,
            issue_date=issue_date,
            due_date=due_date,
            status=_choice(body, "status", BILL_STATUSES, "open"),
            lines=lines,
            payment_terms=terms,
            memo=_text(body, "memo", max_length=1000),
            tax=tax.quantize(_quantum(currency)),
        )
        if body.get("total") is not None:
            total = _decimal(body["total"], "total", decimals=decimals)
            if total != data["total"]:
                raise _invalid("total", f"Invalid total: the lines and tax add up to {data['total']}.")
        return data

    def _check_bill_update(self, record: Record[JSON], changes: JSON) -> JSON:
        _only(changes, BILL_FIELDS)
        current = {
            key: value for key, value in record.data.items() if key not in ("subtotal", "total", "balance")
        }
        return self._check_bill({**current, **changes})

    # Requests ---------------------------------------------------------------------------

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        self._request_number += 1
        try:
            response = self.router.dispatch(request)
        except Abort as abort:
            response = abort.response
        response.headers["Request-Id"] = f"req_{self.seed}_{self._request_number:08d}"
        return response

    def _build_router(self) -> Router:
        router = Router(
            not_found=lambda request: (
                _error(
                    404,
                    "invalid_request_error",
                    f"Unrecognized request URL ({request.method}: {request.url.path}).",
                ).response
            ),
            method_not_allowed=lambda request, allowed: (
                _error(
                    405,
                    "invalid_request_error",
                    f"{request.method} is not allowed on {request.url.path}.",
                    headers={"Allow": ", ".join(allowed)},
                ).response
            ),
        )
        router.add("POST", "/oauth/token", lambda request, _: self.tokens.token_endpoint(request))
        router.add("GET", "/v1/me", self._me)
        for resource in self._resources.values():
            router.add("GET", resource.path, self._bind(resource, self._list))
            router.add("POST", resource.path, self._bind(resource, self._create))
            router.add("GET", resource.path + "/{id}", self._bind(resource, self._get))
            router.add("PATCH", resource.path + "/{id}", self._bind(resource, self._update))
            router.add("DELETE", resource.path + "/{id}", self._bind(resource, self._delete))
        return router

    def _bind(
        self,
        resource: _Resource,
        handler: Callable[[_Resource, httpx.Request, str, Mapping[str, str]], httpx.Response],
    ) -> Callable[[httpx.Request, Mapping[str, str]], httpx.Response]:
        def handle(request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
            account = self._admit(request).account
            assert account is not None
            if request.method in ("POST", "PATCH"):
                return self._idempotent(
                    request, account, lambda: handler(resource, request, account, parameters)
                )
            return handler(resource, request, account, parameters)

        return handle

    def _authenticate(self, request: httpx.Request) -> AuthResult:
        result = self.api_keys.authenticate(request)
        if result.ok:
            return result
        token = bearer_token(request)
        if token is not None:
            result = self.tokens.check(token)
            if result.ok:
                return result
        challenge = 'Bearer realm="reference"'
        if result.problem == "missing":
            raise _error(
                401, "authentication_error", "No API key provided: send 'Authorization: Bearer <key>'.",
                code="invalid_api_key", headers={"WWW-Authenticate": challenge},
            )  # fmt: skip
        if result.problem == "expired":
            raise _error(
                401, "authentication_error", "The access token has expired; request a new one.",
                code="token_expired", headers={"WWW-Authenticate": challenge + ', error="invalid_token"'},
            )  # fmt: skip
        raise _error(
            401, "authentication_error", "Invalid API key or access token provided.",
            code="invalid_api_key", headers={"WWW-Authenticate": challenge + ', error="invalid_token"'},
        )  # fmt: skip

    def _admit(self, request: httpx.Request) -> AuthResult:
        """Authenticate, then apply the account's rate limit."""
        result = self._authenticate(request)
        if self.rate_limiter is not None and result.account is not None:
            wait = self.rate_limiter.acquire(result.account)
            if wait > 0:
                raise _error(
                    429, "rate_limit_error",
                    f"Too many requests: the limit is {self.rate_limiter.rate:g} per second.",
                    code="rate_limited", headers={"Retry-After": retry_after_value(max(wait, 1))},
                )  # fmt: skip
        return result

    def _idempotent(
        self, request: httpx.Request, account: str, run: Callable[[], httpx.Response]
    ) -> httpx.Response:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return run()
        if not key or len(key) > 255:
            raise _invalid(None, "Idempotency-Key must be 1 to 255 characters.")
        fingerprint = self._fingerprint(request)
        now = self.clock.now()
        stored = self._idempotency.get((account, key))
        if stored is not None and stored.expires_at > now:
            if stored.fingerprint != fingerprint:
                raise _error(
                    409,
                    "idempotency_error",
                    "An idempotency key can only be reused with the parameters it was first used with.",
                )
            replay = httpx.Response(stored.status, headers=stored.headers, content=stored.body)
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        try:
            response = run()
        except Abort as abort:
            response = abort.response
        # Validation errors are replayed too (as Stripe does); throttles and 5xx are not.
        if response.status_code < 500 and response.status_code not in (409, 429):
            self._idempotency[(account, key)] = _StoredResponse(
                fingerprint,
                response.status_code,
                [(name, value) for name, value in response.headers.raw if name.lower() != b"content-length"],
                response_body(response),
                now + IDEMPOTENCY_KEY_LIFETIME,
            )
        return response

    @staticmethod
    def _fingerprint(request: httpx.Request) -> str:
        try:
            canonical = json.dumps(read_json(request), sort_keys=True, default=str).encode()
        except ValueError:
            canonical = request.content
        return hashlib.sha256(
            request.method.encode() + b" " + request.url.path.encode() + b"\n" + canonical
        ).hexdigest()

    def _me(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        result = self._admit(request)
        return json_response(
            {
                "object": "account",
                "id": result.account,
                "name": "Reference Sandbox Ltd",
                "auth_method": result.method,
            }
        )

    def _json_body(self, request: httpx.Request) -> JSON:
        content_type = request.headers.get("content-type", "application/json")
        if "json" not in content_type:
            raise _invalid(None, f"Send a JSON body (Content-Type: application/json), not {content_type}.")
        try:
            body = read_json(request)
        except ValueError as error:
            raise _invalid(None, f"Invalid JSON body: {error}") from None
        if not isinstance(body, dict):
            raise _invalid(None, "The JSON body must be an object.")
        return body

    def _list(
        self, resource: _Resource, request: httpx.Request, account: str, _: Mapping[str, str]
    ) -> httpx.Response:
        query = request.url.params
        for name in query:
            if name not in LIST_PARAMETERS:
                raise _invalid(name, f"Received unknown parameter: {name}")
        limit_text = query.get("limit", "10")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            raise _invalid("limit", "Invalid limit: must be an integer between 1 and 100.")
        limit = int(limit_text)
        updated_since: datetime | None = None
        if "updated_since" in query:
            try:
                updated_since = parse_datetime(query["updated_since"])
            except ValueError:
                raise _invalid("updated_since", "Invalid updated_since: use an ISO 8601 datetime.") from None
        after = query.get("starting_after") or None
        if after is not None and resource.records.index_of(after) is None:
            raise _invalid(
                "starting_after", f"No such {resource.object_name}: '{after}'", code="resource_missing"
            )
        after = self.paging_cursor((account, resource.path), after)
        page = resource.records.page(limit, after=after, updated_since=updated_since)
        headers = {}
        if page.has_more:
            # Absolute links come from the request's own origin (in process or on loopback).
            following = {"limit": str(limit), "starting_after": page.items[-1].id}
            if updated_since is not None:
                following["updated_since"] = query["updated_since"]
            origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
            headers["Link"] = f'<{origin}{resource.path}?{urlencode(following)}>; rel="next"'
        return json_response(
            {
                "object": "list",
                "url": resource.path,
                "data": [resource.render(record) for record in page.items],
                "has_more": page.has_more,
            },
            headers=headers,
        )

    def _get(
        self, resource: _Resource, request: httpx.Request, account: str, parameters: Mapping[str, str]
    ) -> httpx.Response:
        record = resource.records.get(parameters["id"])
        if record is None:
            raise _missing(resource.object_name, parameters["id"])
        return json_response(resource.render(record))

    def _create(
        self, resource: _Resource, request: httpx.Request, account: str, _: Mapping[str, str]
    ) -> httpx.Response:
        data = resource.check_create(self._json_body(request))
        record = resource.records.create(data)
        return json_response(resource.render(record))

    def _update(
        self, resource: _Resource, request: httpx.Request, account: str, parameters: Mapping[str, str]
    ) -> httpx.Response:
        record = resource.records.get(parameters["id"])
        if record is None:
            raise _missing(resource.object_name, parameters["id"])
        data = resource.check_update(record, self._json_body(request))
        return json_response(resource.render(resource.records.update(record.id, data)))

    def _delete(
        self, resource: _Resource, request: httpx.Request, account: str, parameters: Mapping[str, str]
    ) -> httpx.Response:
        if resource.records.get(parameters["id"]) is None:
            raise _missing(resource.object_name, parameters["id"])
        resource.records.delete(parameters["id"])
        return json_response({"id": parameters["id"], "object": resource.object_name, "deleted": True})
