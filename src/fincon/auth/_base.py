"""The auth strategy interface and the token manager every token-based strategy shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from fincon.core.clock import SYSTEM_CLOCK, Clock
from fincon.core.flow import Acquire, DualLock, Flow

__all__ = ["AuthStrategy", "Token", "TokenManager"]


class AuthStrategy:
    """How a connector proves who it is, written once for sync and async (see :mod:`fincon.core.flow`).

    Subclasses override :meth:`auth_flow` to add credentials to a request (fetching or
    refreshing a token first if needed) and :meth:`refresh_flow` to react to a 401.
    """

    #: The clock used for expiry decisions; connectors set their own (tests inject a fake one).
    clock: Clock = SYSTEM_CLOCK

    def auth_flow(self, request: httpx.Request) -> Flow[None]:
        """Add credentials to ``request`` (in place)."""
        yield from ()

    def should_refresh(self, response: httpx.Response) -> bool:
        """Whether ``response`` says the credentials expired (a 401; session systems also
        recognise an expiry reported inside a 200)."""
        return response.status_code == 401

    def refresh_flow(self, request: httpx.Request, response: httpx.Response) -> Flow[bool]:
        """After a 401 to ``request``: renew credentials; return True if a retry may succeed."""
        yield from ()
        return False

    def secret_values(self) -> Iterable[str]:
        """Every secret this strategy holds, so that logs, errors and cassettes can redact them."""
        return ()

    def bind(self, *, clock: Clock, base_url: str | None = None) -> None:
        """Called once by the connector that uses this strategy (clock, base URL for relative token URLs)."""
        self.clock = clock

    def __repr__(self) -> str:
        # Never show field values: they may be secrets.
        return f"{type(self).__name__}(...)"


@dataclass(slots=True)
class Token:
    """An access credential with its expiry (``expires_at`` aware UTC, ``None`` if it never expires)."""

    value: str = field(repr=False)
    expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    scope: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def expires_within(self, seconds: float, now: datetime) -> bool:
        if self.expires_at is None:
            return False
        return self.expires_at - now <= timedelta(seconds=seconds)


class TokenManager:
    """Holds one credential's current token and renews it once, however many callers need it.

    Renewal happens ``early`` seconds before expiry (or within the last tenth of the
    token's life, whichever is shorter), under a :class:`DualLock`, so threads and tasks
    share a single refresh. After a 401, :meth:`token_flow` with ``stale=`` renews only if
    nobody else already replaced the rejected token.
    """

    def __init__(self, fetch: Callable[[Token | None], Flow[Token]], *, early: float = 60.0) -> None:
        self._fetch = fetch
        self._early = early
        self._lock = DualLock()
        self._token: Token | None = None
        self.clock: Clock = SYSTEM_CLOCK
        #: How many times a token was fetched (tests and diagnostics).
        self.fetches = 0

    @property
    def token(self) -> Token | None:
        return self._token

    def set_token(self, token: Token | None) -> None:
        """Seed or replace the current token (e.g. one loaded from a token store)."""
        self._token = token

    def _fresh(self, token: Token | None) -> bool:
        if token is None:
            return False
        if token.expires_at is None:
            return True
        now = self.clock.now()
        margin = self._early
        lifetime = token.extra.get("_lifetime")
        if isinstance(lifetime, (int, float)):
            margin = min(margin, lifetime / 10)
        return not token.expires_within(margin, now)

    def token_flow(self, *, stale: Token | None = None) -> Flow[Token]:
        """Return a usable token, fetching one if there is none, it is expiring, or it is ``stale``."""
        current = self._token
        if current is not None and current is not stale and self._fresh(current):
            return current
        yield Acquire(self._lock)
        try:
            current = self._token
            # Another caller may have renewed while we waited for the lock.
            if current is not None and current is not stale and self._fresh(current):
                return current
            token = yield from self._fetch(current)
            if token.expires_at is not None and "_lifetime" not in token.extra:
                token.extra["_lifetime"] = (token.expires_at - self.clock.now()).total_seconds()
            self._token = token
            self.fetches += 1
            return token
        finally:
            self._lock.release()
