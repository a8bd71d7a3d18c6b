"""Proactive rate limits: a token bucket for request rate plus a concurrency cap.

Both are thread-safe and usable from asyncio (waits are returned as numbers and
performed as flow effects). Connectors of the same account share one :class:`Limits`
through :func:`shared_limits`, so two connector instances don't add up to twice the
vendor's allowance.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fincon.core.clock import SYSTEM_CLOCK, Clock
from fincon.core.flow import ConcurrencyLimit

__all__ = ["Limits", "RateLimit", "TokenBucket", "shared_limits"]


@dataclass(frozen=True)
class RateLimit:
    """A documented allowance: ``requests`` per ``per`` seconds, bursts up to ``burst``,
    at most ``concurrency`` in flight (``None``: no cap)."""

    requests: float
    per: float = 1.0
    burst: float | None = None
    concurrency: int | None = None

    def __post_init__(self) -> None:
        if self.requests <= 0 or self.per <= 0:
            raise ValueError("a rate limit needs a positive number of requests per positive period")
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError("a concurrency cap must be at least 1")

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.per


class TokenBucket:
    """Classic token bucket with reservations: a caller takes a token now and is told how
    long to wait before using it, so waiting callers queue fairly without a lock held."""

    def __init__(self, rate: float, capacity: float, clock: Clock = SYSTEM_CLOCK) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a token bucket needs a positive rate and a capacity of at least 1")
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self._tokens = capacity
        self._updated = clock.monotonic()
        self._lock = threading.Lock()

    def reserve(self, tokens: float = 1.0) -> float:
        """Take ``tokens``; return the seconds to wait before the request may go."""
        with self._lock:
            now = self.clock.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= tokens
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.rate

    def refund(self, tokens: float = 1.0) -> None:
        """Give back ``tokens`` reserved for a request that will not be sent."""
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + tokens)

    @property
    def available(self) -> float:
        with self._lock:
            now = self.clock.monotonic()
            return min(self.capacity, self._tokens + (now - self._updated) * self.rate)


class Limits:
    """The proactive limits one account is subject to."""

    def __init__(self, rate_limit: RateLimit | None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.rate_limit = rate_limit
        self.bucket: TokenBucket | None = None
        self.concurrency: ConcurrencyLimit | None = None
        if rate_limit is not None:
            capacity = rate_limit.burst if rate_limit.burst is not None else max(1.0, rate_limit.rate)
            self.bucket = TokenBucket(rate_limit.rate, capacity, clock)
            if rate_limit.concurrency is not None:
                self.concurrency = ConcurrencyLimit(rate_limit.concurrency)

    def reserve(self) -> float:
        """Seconds to wait before the next request may go (0 when unlimited)."""
        return self.bucket.reserve() if self.bucket is not None else 0.0

    def refund(self) -> None:
        """Give back the token of a request that will not be sent after all."""
        if self.bucket is not None:
            self.bucket.refund()

    def __repr__(self) -> str:
        return f"Limits({self.rate_limit!r})"


_shared: dict[tuple[str, str], Limits] = {}
_shared_lock = threading.Lock()


def shared_limits(
    system: str, account: str, rate_limit: RateLimit | None, clock: Clock = SYSTEM_CLOCK
) -> Limits:
    """The :class:`Limits` for ``(system, account)``, created on first use and then shared.

    ``account`` identifies the vendor account whose allowance is being spent (never a
    secret itself: connectors pass an account id or a hash).
    """
    key = (system, account)
    with _shared_lock:
        limits = _shared.get(key)
        if limits is None or limits.rate_limit != rate_limit:
            limits = Limits(rate_limit, clock)
            _shared[key] = limits
        return limits
