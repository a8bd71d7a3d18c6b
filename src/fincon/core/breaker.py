"""A circuit breaker: after repeated failed calls, fail fast until a cool-down passes.

It counts *calls* that failed after their retries (an outage), not single attempts (a
blip the retry loop absorbs). After ``cooldown`` seconds one trial call is let through
(half-open): its success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from fincon.core.clock import SYSTEM_CLOCK, Clock
from fincon.errors import CircuitOpen

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    """Closed -> open after ``threshold`` consecutive failed calls -> half-open after ``cooldown``."""

    def __init__(self, threshold: int = 5, cooldown: float = 30.0, clock: Clock = SYSTEM_CLOCK) -> None:
        if threshold < 1 or cooldown < 0:
            raise ValueError("a breaker needs a threshold of at least 1 and a non-negative cool-down")
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half-open"``."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self.clock.monotonic() - self._opened_at >= self.cooldown:
                return "half-open"
            return "open"

    def before_call(self, system: str | None = None) -> bool:
        """Raise :class:`CircuitOpen` if calls must fail fast now.

        Returns True when this call is the half-open trial: if it ends without an outcome
        (cancelled, or a local error), the caller must call :meth:`release_trial`.
        """
        with self._lock:
            if self._opened_at is None:
                return False
            elapsed = self.clock.monotonic() - self._opened_at
            if elapsed >= self.cooldown and not self._trial_running:
                self._trial_running = True  # let exactly one trial through
                return True
            remaining = max(self.cooldown - elapsed, 0.0)
        raise CircuitOpen(
            f"{self.threshold} calls in a row failed; failing fast for another {remaining:.1f}s",
            system=system,
            retry_at=self.clock.now() + timedelta(seconds=remaining),
        )

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_running or self._failures >= self.threshold:
                self._opened_at = self.clock.monotonic()
            self._trial_running = False

    def release_trial(self) -> None:
        """The trial call ended without telling us anything (it was cancelled): let another through.

        Without this, an abandoned trial would keep the circuit open for good.
        """
        with self._lock:
            self._trial_running = False

    def record_neutral(self) -> None:
        """A call that ended without telling us about the system's health (e.g. a 404)."""
        with self._lock:
            if self._trial_running:
                self._failures = 0
                self._opened_at = None
                self._trial_running = False
