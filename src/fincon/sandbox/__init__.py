"""Sandboxes: in-process emulators of finance systems, with seeded data and faults.

An emulator speaks one system's wire protocol from memory. Use it three ways:

- in process, as an httpx transport: ``httpx.Client(transport=SandboxTransport(emulator))``
  (also ``httpx.AsyncClient``); no sockets, no waiting;
- on loopback, for any client: ``with serve(emulator) as server: ... server.base_url``;
- from the command line: ``fincon sandbox serve SYSTEM`` (see :func:`run_server`).

Building an emulator: subclass :class:`Emulator`, route with :class:`Router`, keep records
in :class:`SeededCollection` (a million seeded records cost nothing until read), check
credentials with :class:`APIKeyAuth` / :class:`ClientCredentialsIssuer`, throttle with
:class:`AccountRateLimiter`. Faults come from the emulator's :class:`FaultPlan`.
"""

from fincon.sandbox._auth import (
    APIKeyAuth,
    AuthResult,
    ClientCredentialsIssuer,
    IssuedToken,
    basic_credentials,
    bearer_token,
)
from fincon.sandbox._emulator import Emulator
from fincon.sandbox._faults import (
    DropAfterFault,
    DropBeforeFault,
    Fault,
    FaultKind,
    FaultPlan,
    FaultRule,
    InjectedFault,
    MalformedFault,
    MatchOptions,
    ResponseFault,
    ServerErrorFault,
    ThrottleFault,
    TimeoutFault,
)
from fincon.sandbox._page_cache import PageCache
from fincon.sandbox._ratelimit import AccountRateLimiter
from fincon.sandbox._requests import parse_datetime, read_form, read_json
from fincon.sandbox._responses import (
    Abort,
    encoded_json_response,
    format_datetime,
    http_date,
    json_response,
    response_body,
    retry_after_value,
)
from fincon.sandbox._router import Handler, Route, Router
from fincon.sandbox._seed import CURRENCY_EXPONENTS, SeedRandom, currency_exponent, iban_check_digits
from fincon.sandbox._server import ServerHandle, ServerStats, run_server, serve
from fincon.sandbox._store import IdScheme, Page, Record, RecordSeed, SeededCollection
from fincon.sandbox._transport import SandboxTransport

__all__ = [
    "CURRENCY_EXPONENTS",
    "APIKeyAuth",
    "Abort",
    "AccountRateLimiter",
    "AuthResult",
    "ClientCredentialsIssuer",
    "DropAfterFault",
    "DropBeforeFault",
    "Emulator",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "Handler",
    "IdScheme",
    "InjectedFault",
    "IssuedToken",
    "MalformedFault",
    "MatchOptions",
    "Page",
    "PageCache",
    "Record",
    "RecordSeed",
    "ResponseFault",
    "Route",
    "Router",
    "SandboxTransport",
    "SeedRandom",
    "SeededCollection",
    "ServerErrorFault",
    "ServerHandle",
    "ServerStats",
    "ThrottleFault",
    "TimeoutFault",
    "basic_credentials",
    "bearer_token",
    "currency_exponent",
    "encoded_json_response",
    "format_datetime",
    "http_date",
    "iban_check_digits",
    "json_response",
    "parse_datetime",
    "read_form",
    "read_json",
    "response_body",
    "retry_after_value",
    "run_server",
    "serve",
]
