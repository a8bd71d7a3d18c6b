"""The base a connector author subclasses: settings, auth, handlers and vendor hooks.

A :class:`ConnectorCore` holds no I/O. It builds the :class:`~fincon.core.transport.Requestor`
and the resource handlers, and answers the questions only the system can answer (how
its errors look, what headers it needs). :mod:`fincon.core.client` wraps it in the sync
and async connectors users see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from fincon.auth._base import AuthStrategy
from fincon.core.audit import Auditor, CallbackSink, JsonlAuditSink, LoggingSink
from fincon.core.breaker import CircuitBreaker
from fincon.core.clock import SYSTEM_CLOCK, Clock
from fincon.core.flow import Flow
from fincon.core.ratelimit import Limits, RateLimit, shared_limits
from fincon.core.redaction import register_secret
from fincon.core.resources import ResourceHandler
from fincon.core.retry import RetryEngine, RetryPolicy
from fincon.core.transport import Requestor
from fincon.errors import ConfigError, FinconError, Unsupported

__all__ = ["ConnectorCore", "ConnectorSettings", "Identity"]

_BOOLEAN_TEXT = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


class ConnectorSettings(BaseModel):
    """Settings every connector accepts. Connectors subclass this to add their own.

    Any setting left out is read from ``FINCON_<SYSTEM>_<SETTING>`` (see
    :func:`fincon.connect`); unknown settings are a :class:`~fincon.errors.ConfigError`.
    """

    model_config = ConfigDict(
        extra="forbid", arbitrary_types_allowed=True, frozen=True, hide_input_in_errors=True
    )

    #: Settings that cannot come from environment variables (objects, callables).
    not_from_env: ClassVar[frozenset[str]] = frozenset(
        {"auth", "transport", "clock", "event_hooks", "audit", "rate_limit", "retry"}
    )

    base_url: str | None = Field(
        None, description="The API's base URL (a proxy, a regional host, a sandbox)."
    )
    timeout: float = Field(30.0, gt=0, description="Seconds before a request times out.")
    auth: AuthStrategy | None = Field(None, description="An auth strategy from fincon.auth.")
    max_retries: int = Field(4, ge=0, le=20, description="Retries after the first attempt.")
    max_retry_wait: float = Field(
        60.0, ge=0, description="Longest single wait; a server asking for more raises RateLimited."
    )
    retry: RetryPolicy | None = Field(None, description="A full retry policy (overrides max_retries).")
    rate_limit: RateLimit | None = Field(
        None, description="Proactive limit; default: the system's documented one."
    )
    proactive_limits: bool = Field(True, description="Apply the token bucket and concurrency cap at all.")
    share_limits: bool = Field(True, description="Share limits with other connectors of the same account.")
    breaker_threshold: int = Field(5, ge=1, description="Failed calls in a row that open the circuit.")
    breaker_cooldown: float = Field(30.0, ge=0, description="Seconds the circuit stays open.")
    audit: Any = Field(
        None, description="Audit sinks: an AuditSink, a list of them, a callable, a JSONL path, or 'log'."
    )
    audit_reads: bool = Field(False, description="Audit reads as well as writes.")
    actor: str | None = Field(None, description="Who is acting, recorded in audit events.")
    event_hooks: Mapping[str, Sequence[Callable[[Any], Any]]] | None = Field(
        None, description="Like httpx: {'request': [...], 'response': [...]} callables."
    )
    transport: Any = Field(None, description="An httpx transport to send through (tests, custom networking).")
    clock: Any = Field(None, description="A fincon.core.clock.Clock (tests).")
    verify: bool | str = Field(True, description="TLS verification: True, False or a CA bundle path.")
    proxy: str | None = Field(None, description="An HTTP(S) proxy URL.")

    @field_validator("verify", mode="before")
    @classmethod
    def _verify_from_text(cls, value: Any) -> Any:
        # From the environment every value is text: "false" must not become a CA bundle path.
        if isinstance(value, str) and value.strip().lower() in _BOOLEAN_TEXT:
            return _BOOLEAN_TEXT[value.strip().lower()]
        return value

    def secrets(self) -> list[str]:
        """Every ``SecretStr`` value, for redaction."""
        found = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
        return found


@dataclass(frozen=True)
class Identity:
    """Who a connector is connected as (the answer of ``check()``)."""

    system: str
    account: str | None = None
    user: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class ConnectorCore:
    """Subclass per system. Override the ``build_*`` methods and the vendor hooks."""

    system: ClassVar[str] = ""
    #: One line shown by ``fincon systems``.
    description: ClassVar[str] = ""
    settings_model: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    default_base_url: ClassVar[str | None] = None
    #: The system's documented limits, applied proactively unless the user overrides them.
    default_rate_limit: ClassVar[RateLimit | None] = None
    #: The header carrying idempotency keys, if the system supports them.
    idempotency_header: ClassVar[str | None] = None
    user_agent: ClassVar[str] = "fincon"
    #: Resource name -> handler class (constructed with the core), for every resource the system maps.
    resources: ClassVar[Mapping[str, type[ResourceHandler[Any]]]] = {}

    @classmethod
    def declared_capabilities(cls) -> dict[str, tuple[str, ...]]:
        """Capabilities known without connecting (from :attr:`resources`)."""
        return {
            name: handler.supported_operations()
            for name, handler in cls.resources.items()
            if handler.supported_operations()
        }

    def __init__(self, settings: ConnectorSettings) -> None:
        self.settings = settings
        self.clock: Clock = settings.clock or SYSTEM_CLOCK
        base_url = settings.base_url or self.default_base_url
        if not base_url:
            raise ConfigError(f"{self.system} needs a base_url", system=self.system)
        for secret in settings.secrets():
            register_secret(secret)
        self.auth = self.build_auth()
        if self.auth is not None:
            self.auth.bind(clock=self.clock, base_url=base_url)
            for secret in self.auth.secret_values():
                register_secret(secret)
        rate_limit = (settings.rate_limit or self.default_rate_limit) if settings.proactive_limits else None
        if settings.share_limits:
            self.limits = shared_limits(self.system, self.account_key(base_url), rate_limit, self.clock)
        else:
            self.limits = Limits(rate_limit, self.clock)
        self.breaker = CircuitBreaker(settings.breaker_threshold, settings.breaker_cooldown, self.clock)
        policy = settings.retry or RetryPolicy(
            max_attempts=settings.max_retries + 1, max_wait=settings.max_retry_wait
        )
        hooks = settings.event_hooks or {}
        unknown_hooks = set(hooks) - {"request", "response"}
        if unknown_hooks:
            raise ConfigError(
                f"event_hooks accepts 'request' and 'response', not {sorted(unknown_hooks)[0]!r}",
                system=self.system,
            )
        self.requestor = Requestor(
            system=self.system,
            base_url=base_url,
            clock=self.clock,
            retry=RetryEngine(policy, self.clock),
            limits=self.limits,
            breaker=self.breaker,
            auth=self.auth,
            error_parser=self.parse_error,
            decorate=self.decorate,
            default_headers={"User-Agent": self.user_agent, "Accept": "application/json"},
            idempotency_header=self.idempotency_header,
            auditor=_auditor(settings, self.system),
            request_hooks=list(hooks.get("request", ())),
            response_hooks=list(hooks.get("response", ())),
        )
        self.handlers: dict[str, ResourceHandler[Any]] = dict(self.build_handlers())

    # -- what connector authors override --------------------------------------------------

    def build_auth(self) -> AuthStrategy | None:
        """The auth strategy; by default the ``auth`` setting."""
        return self.settings.auth

    def build_handlers(self) -> Mapping[str, ResourceHandler[Any]]:
        """Resource name -> handler; by default each class in :attr:`resources` built with this core."""
        return {name: handler_class(self) for name, handler_class in self.resources.items()}  # type: ignore[call-arg]

    def parse_error(self, response: httpx.Response) -> FinconError | None:
        """The vendor's error in ``response`` (also errors hidden in a 200), or None.

        The default returns None and lets the status code decide.
        """
        return None

    def decorate(self, request: httpx.Request) -> None:
        """Add system-wide headers (API version pins, client ids) to every request."""

    def check_flow(self) -> Flow[Identity]:
        """Authenticate and make one cheap call; return who we are."""
        raise Unsupported(f"{self.system} has no check()", system=self.system, operation="check")

    def make_native(self, run: Callable[[Flow[Any]], Any]) -> Any:
        """The system's extras; ``run`` executes a flow (it returns an awaitable for async connectors)."""
        return None

    def account_key(self, base_url: str) -> str:
        """Identifies the vendor account whose limits requests spend (never a secret)."""
        return base_url

    # -- derived --------------------------------------------------------------------------

    @property
    def capabilities(self) -> dict[str, tuple[str, ...]]:
        return {name: handler.operations for name, handler in self.handlers.items() if handler.operations}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.system} {self.requestor.base_url}>"


def _auditor(settings: ConnectorSettings, system: str) -> Auditor | None:
    audit = settings.audit
    if audit is None:
        return None
    if isinstance(audit, Auditor):
        return audit
    items = audit if isinstance(audit, (list, tuple)) else [audit]
    sinks: list[Any] = []
    for item in items:
        if item == "log":
            sinks.append(LoggingSink())
        elif isinstance(item, str) or hasattr(item, "__fspath__"):
            sinks.append(JsonlAuditSink(item))
        elif hasattr(item, "emit"):
            sinks.append(item)
        elif callable(item):
            sinks.append(CallbackSink(item))
        else:
            raise ConfigError(f"audit does not accept {type(item).__name__}", system=system)
    return Auditor(sinks, audit_reads=settings.audit_reads, actor=settings.actor)
