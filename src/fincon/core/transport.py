"""The requestor: one call through auth, limits, the breaker, retries, error mapping, hooks and audit.

Every request a connector makes (resource operations, ``native`` extras and the
``request()`` escape hatch) goes through :meth:`Requestor.call`, a sans-I/O flow, so the
guarantees of DESIGN section 5 hold everywhere and identically for sync and async.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx

from fincon.auth._base import AuthStrategy
from fincon.core.audit import AuditEvent, Auditor, describe_error
from fincon.core.breaker import CircuitBreaker
from fincon.core.clock import Clock
from fincon.core.flow import Flow, Send, Sleep
from fincon.core.jsonenc import dumps as json_dumps
from fincon.core.ratelimit import Limits
from fincon.core.redaction import install_log_redaction, redact, redact_url
from fincon.core.responses import error_for_status, request_id_of, retry_after_seconds
from fincon.core.retry import RetryEngine, is_safe_to_retry
from fincon.core.urls import require_safe_url, require_same_origin
from fincon.errors import (
    FinconError,
    PaginationError,
    RateLimited,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = ["AuditInfo", "Call", "Requestor"]

logger = logging.getLogger("fincon.http")
install_log_redaction("fincon")
# httpx logs every request URL at INFO/DEBUG; a URL may carry a key in its query.
install_log_redaction("httpx")

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

RequestHook = Callable[[httpx.Request], Any]
ResponseHook = Callable[[httpx.Response], Any]


@dataclass(slots=True)
class AuditInfo:
    """What an audit event should say about a call (filled by the resource layer)."""

    action: str
    resource: str | None = None
    record_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


@dataclass(slots=True)
class Call:
    """One logical request: sent once, or several times under the retry rules."""

    method: str
    url: str
    params: Any = None
    headers: Mapping[str, str] | None = None
    json: Any = None
    content: bytes | str | None = None
    data: Mapping[str, Any] | None = None
    #: Whether sending twice is harmless; defaults from the method (GET/PUT/DELETE yes, POST/PATCH no).
    idempotent: bool | None = None
    idempotency_key: str | None = None
    timeout: float | None = None
    #: Statuses returned to the caller instead of raised (e.g. 404 for an existence check).
    allow_status: Container[int] = ()
    audit: AuditInfo | None = None
    #: For writes without idempotency keys: a flow that looks the record up after an ambiguous
    #: failure and returns True only if it proves the write was not applied.
    prove_not_applied: Callable[[FinconError], Flow[bool]] | None = None
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _CallState:
    refreshed: bool = False
    proven_not_applied: bool = False
    attempts: int = 0


ErrorParser = Callable[[httpx.Response], "FinconError | None"]


class Requestor:
    """Sends :class:`Call` s for one connector. Holds no I/O: it only builds flows."""

    def __init__(
        self,
        *,
        system: str,
        base_url: str,
        clock: Clock,
        retry: RetryEngine,
        limits: Limits,
        breaker: CircuitBreaker,
        auth: AuthStrategy | None = None,
        error_parser: ErrorParser | None = None,
        decorate: Callable[[httpx.Request], None] | None = None,
        default_headers: Mapping[str, str] | None = None,
        idempotency_header: str | None = None,
        auditor: Auditor | None = None,
        request_hooks: Sequence[RequestHook] = (),
        response_hooks: Sequence[ResponseHook] = (),
        timeout: float | None = None,
    ) -> None:
        self.system = system
        self.origin = require_safe_url(base_url, system=system)
        self.base_url = str(self.origin).rstrip("/")
        self.clock = clock
        self.retry = retry
        self.limits = limits
        self.breaker = breaker
        self.auth = auth
        self.error_parser = error_parser
        self.decorate = decorate
        self.default_headers = dict(default_headers or {})
        self.idempotency_header = idempotency_header
        self.auditor = auditor
        self.request_hooks = list(request_hooks)
        self.response_hooks = list(response_hooks)
        self.timeout = timeout

    # -- URL and body --------------------------------------------------------------------

    def resolve(self, url: str) -> str:
        """An absolute URL for ``url``: a path joins the base URL; an absolute URL must share its origin."""
        if url.startswith(("http://", "https://")):
            try:
                return str(require_same_origin(url, self.origin, system=self.system))
            except PaginationError:
                raise ValidationError(
                    f"refused a request to another origin than {self.origin.scheme}://{self.origin.host}: "
                    "credentials are only sent to the connector's base URL",
                    field="url",
                    system=self.system,
                ) from None
        if not url.startswith("/"):
            url = "/" + url
        return self.base_url + url

    def _body(self, call: Call) -> tuple[bytes | None, dict[str, str]]:
        try:
            if call.json is not None:
                return json_dumps(call.json), {"Content-Type": "application/json"}
            if call.data is not None:
                encoded = httpx.QueryParams({k: _form_value(v) for k, v in call.data.items()})
                return str(encoded).encode("ascii"), {"Content-Type": "application/x-www-form-urlencoded"}
        except (TypeError, ValueError) as exc:
            # Raised before anything is sent: a float amount, a non-finite Decimal, an object.
            raise ValidationError(
                f"the request body cannot be encoded: {exc}",
                field="json" if call.json is not None else "data",
                system=self.system,
            ) from None
        if call.content is not None:
            return (call.content.encode("utf-8") if isinstance(call.content, str) else call.content), {}
        return None, {}

    # -- the call flow -------------------------------------------------------------------

    def call(self, call: Call) -> Flow[httpx.Response]:
        """Send ``call`` under every guarantee; return the successful response."""
        method = call.method.upper()
        idempotent = call.idempotent if call.idempotent is not None else method in _IDEMPOTENT_METHODS
        key = call.idempotency_key
        header_name = self.idempotency_header.lower() if self.idempotency_header is not None else None
        if key is None and header_name is not None and call.headers:
            # A key the caller put in the headers themselves is their key: never replace it.
            key = next((v for k, v in call.headers.items() if k.lower() == header_name), None)
        if key is None and not idempotent and self.idempotency_header is not None:
            # Fixed before the first attempt and reused on every retry (DESIGN section 5).
            key = str(uuid.uuid4())
        url = self.resolve(call.url)
        content, body_headers = self._body(call)
        headers = {**self.default_headers, **body_headers, **(call.headers or {})}
        if key is not None and self.idempotency_header is not None:
            headers = {k: v for k, v in headers.items() if k.lower() != header_name}  # one key, sent once
            headers[self.idempotency_header] = key
        extensions = dict(call.extensions)
        timeout = call.timeout if call.timeout is not None else self.timeout
        if timeout is not None:
            extensions["timeout"] = httpx.Timeout(timeout).as_dict()
        state = _CallState()
        retry_idempotent = idempotent or (key is not None and self.idempotency_header is not None)

        def attempt() -> Flow[httpx.Response]:
            state.attempts += 1
            # A loop, not a recursive call, for the one resend after a refresh: a closure that
            # calls itself is a reference cycle, which would keep every request and response
            # alive until the cyclic garbage collector ran.
            while True:
                wait = self.limits.reserve()
                if wait > 0:
                    if wait > self.retry.policy.max_wait:
                        # Nothing is sent: give the token back rather than deepen the queue on
                        # every retry, and say when to come back (the retry loop raises at once).
                        self.limits.refund()
                        raise RateLimited(
                            f"the proactive rate limit needs a {wait:.1f}s wait, longer than allowed",
                            system=self.system,
                            retryable=True,
                            retry_after=wait,
                            retry_at=self.clock.now() + timedelta(seconds=wait),
                        )
                    yield Sleep(wait)
                request = httpx.Request(
                    method, url, params=call.params, headers=headers, content=content, extensions=extensions
                )
                if self.decorate is not None:
                    self.decorate(request)
                if self.auth is not None:
                    yield from self.auth.auth_flow(request)
                for hook in self.request_hooks:
                    hook(request)
                response: httpx.Response = yield Send(request)
                for response_hook in self.response_hooks:
                    response_hook(response)
                if self.auth is not None and not state.refreshed and self.auth.should_refresh(response):
                    state.refreshed = True  # expired credentials refresh once and retry once
                    if (yield from self.auth.refresh_flow(request, response)):
                        continue  # the same attempt again, with fresh credentials
                error = self._error(response, call)
                if error is not None:
                    raise error
                return response

        def guarded() -> Flow[httpx.Response]:
            try:
                return (yield from attempt())
            except FinconError as error:
                if (
                    call.prove_not_applied is not None
                    and not retry_idempotent
                    and error.retryable
                    and not is_safe_to_retry(error, idempotent=False)
                ):
                    state.proven_not_applied = yield from call.prove_not_applied(error)
                raise

        def decide(error: FinconError) -> bool:
            return is_safe_to_retry(
                error, idempotent=retry_idempotent, proven_not_applied=state.proven_not_applied
            )

        audit = self._audit_info(call, method)
        started = self.clock.monotonic()
        trial = self.breaker.before_call(self.system)
        try:
            response = yield from self.retry.run(guarded, decide, on_retry=self._log_retry(method, url))
        except FinconError as error:
            if isinstance(error, (ServerError, TransportError)) and error.retryable:
                self.breaker.record_failure()
            else:
                self.breaker.record_neutral()
            if audit is not None:
                self._emit(audit, "failure", started, None, key, error)
            raise
        except BaseException:
            # Cancelled (GeneratorExit, CancelledError) or a local bug: no verdict on the system,
            # but a half-open trial must not keep the circuit open for good.
            if trial:
                self.breaker.release_trial()
            raise
        self.breaker.record_success()
        if audit is not None:
            self._emit(audit, "success", started, response, key, None)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s -> %s", method, redact_url(url), response.status_code)
        return response

    def _error(self, response: httpx.Response, call: Call) -> FinconError | None:
        if response.status_code in call.allow_status:
            return None  # the caller asked for this status as an answer, whatever the body says
        error = self.error_parser(response) if self.error_parser is not None else None
        if error is None and response.status_code >= 400:
            error = error_for_status(response, system=self.system)
        if error is None:
            return None
        if error.retry_after is None:
            error.retry_after = retry_after_seconds(response, self.clock.now())
        if isinstance(error, RateLimited) and error.retry_at is None and error.retry_after is not None:
            error.retry_at = self.clock.now() + timedelta(seconds=error.retry_after)
        # Vendors sometimes echo the request (credentials included) in error text.
        error.message = redact(error.message)
        error.details = _redact_tree(error.details)
        return error

    def _log_retry(self, method: str, url: str) -> Callable[[FinconError, float], None]:
        def log(error: FinconError, wait: float) -> None:
            logger.info(
                "retrying %s %s in %.2fs after %s", method, redact_url(url), wait, type(error).__name__
            )

        return log

    # -- audit ---------------------------------------------------------------------------

    def _audit_info(self, call: Call, method: str) -> AuditInfo | None:
        if self.auditor is None:
            return None
        info = call.audit
        if info is None:
            info = AuditInfo(action="request" if method not in _READ_METHODS else "read")
        if not self.auditor.enabled_for(info.action):
            return None
        return info

    def _emit(
        self,
        info: AuditInfo,
        result: str,
        started: float,
        response: httpx.Response | None,
        key: str | None,
        error: FinconError | None,
    ) -> None:
        assert self.auditor is not None
        request_id = error.request_id if error is not None else None
        if response is not None:
            request_id = request_id_of(response)
        self.auditor.emit(
            AuditEvent(
                timestamp=self.clock.now(),
                actor=self.auditor.actor,
                action=info.action,
                system=self.system,
                resource=info.resource,
                record_id=info.record_id,
                amount=info.amount,
                currency=info.currency,
                result=result,
                duration_ms=round((self.clock.monotonic() - started) * 1000, 3),
                request_id=request_id,
                error=None if error is None else describe_error(error),
                # Only a key that was actually sent: a system without keys never saw one.
                idempotency_key=key if self.idempotency_header is not None else None,
            )
        )


def _redact_tree(value: Any) -> Any:
    """``value`` with every string redacted (vendor error details may echo credentials)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_tree(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_tree(item) for item in value)
    return value


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        raise TypeError("refusing to encode a float in a request body: use Decimal for amounts")
    return str(value)
