"""Vendor-side rate limits: one token bucket per account, on the emulator's clock."""

from __future__ import annotations

import math
import threading

from fincon.core.clock import SYSTEM_CLOCK, Clock

__all__ = ["AccountRateLimiter"]


class AccountRateLimiter:
    """Admits ``rate`` requests per second per account, with bursts up to ``burst``
    (default: one second's worth, at least 1).

    ``acquire(account)`` returns 0 when the request is admitted, else the seconds until
    it would be: the value an emulator puts in ``Retry-After`` (rounded up).
    """

    def __init__(self, rate: float, *, burst: float | None = None, clock: Clock | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, float(math.ceil(rate)))
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        self.clock = clock or SYSTEM_CLOCK
        self._buckets: dict[str, tuple[float, float]] = {}  # account -> (tokens, as of)
        self._lock = threading.Lock()

    def acquire(self, account: str) -> float:
        """Take one token for ``account``; the wait in seconds if there is none."""
        now = self.clock.monotonic()
        with self._lock:
            tokens, as_of = self._buckets.get(account, (self.burst, now))
            tokens = min(self.burst, tokens + (now - as_of) * self.rate)
            if tokens >= 1:
                self._buckets[account] = (tokens - 1, now)
                return 0.0
            # A refused request costs nothing, as with most vendors' limiters.
            self._buckets[account] = (tokens, now)
            return (1 - tokens) / self.rate

    def reset(self) -> None:
        """Refill every bucket."""
        with self._lock:
            self._buckets.clear()
