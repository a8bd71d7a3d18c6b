"""When and how long to retry, on tenacity's state machine, driven sans-I/O.

tenacity decides (stop, wait, retry predicates); the flow performs the waits as
:class:`~fincon.core.flow.Sleep` effects, so one retry loop serves sync and async.
The first attempt runs outside tenacity: a call that succeeds at once (nearly all of
them) pays nothing for the retry machinery.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import tenacity
from tenacity import DoAttempt, DoSleep, RetryCallState

from fincon.core.clock import Clock
from fincon.core.flow import Flow, Sleep
from fincon.errors import FinconError, RateLimited, TransportError

__all__ = ["FullJitter", "RetryPolicy", "is_safe_to_retry"]

T = TypeVar("T")

#: Statuses where the server refused the request before acting on it, so even a
#: write without an idempotency key may be sent again.
_REFUSED_BEFORE_PROCESSING = frozenset({425, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """How a connector retries.

    - ``max_attempts``: attempts in all, the first included (1 disables retries).
    - ``initial`` / ``max_backoff``: full-jitter backoff, a random wait in
      ``[0, min(max_backoff, initial * 2**(attempt-1))]`` seconds.
    - ``max_wait``: the caller's cap on a single wait. A server asking for longer
      (``Retry-After``) gets :class:`~fincon.errors.RateLimited` with ``retry_at`` instead of a sleep.
    """

    max_attempts: int = 5
    initial: float = 0.5
    max_backoff: float = 20.0
    max_wait: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial < 0 or self.max_backoff < 0 or self.max_wait < 0:
            raise ValueError("retry waits cannot be negative")


class FullJitter(tenacity.wait.wait_base):
    """Full-jitter exponential backoff that yields to a server's ``Retry-After``."""

    def __init__(self, initial: float, maximum: float, rng: random.Random) -> None:
        self.initial = initial
        self.maximum = maximum
        self.rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        asked = getattr(error, "retry_after", None)
        if isinstance(asked, (int, float)):
            # Honour the server, plus a little jitter so that many clients don't return at once.
            return float(asked) + self.rng.uniform(0, min(1.0, float(asked) * 0.1))
        ceiling = min(self.maximum, self.initial * 2 ** (retry_state.attempt_number - 1))
        return self.rng.uniform(0, ceiling)


def is_safe_to_retry(error: FinconError, *, idempotent: bool, proven_not_applied: bool = False) -> bool:
    """The write-duplication rule: may the same request be sent again after ``error``?

    Idempotent requests (reads, PUT, DELETE, writes carrying a fixed idempotency key)
    are retried on any retryable error. Others only where the server cannot have
    applied them: the connection was never made, or the server refused before acting
    (429, 425), or the connector proved it (``proven_not_applied``).
    """
    if not error.retryable:
        return False
    if idempotent or proven_not_applied:
        return True
    if isinstance(error, TransportError):
        return not error.maybe_sent
    return error.status in _REFUSED_BEFORE_PROCESSING


class _RetryPredicate(tenacity.retry_base):
    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        if outcome is None or not outcome.failed:
            return False
        error = outcome.exception()
        if not isinstance(error, FinconError):
            return False
        decide: Callable[[FinconError], bool] = retry_state.kwargs["decide"]
        return decide(error)


class RetryEngine:
    """Runs an attempt flow under a :class:`RetryPolicy` (one per connector)."""

    def __init__(self, policy: RetryPolicy, clock: Clock) -> None:
        self.policy = policy
        self.clock = clock
        self._template = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.max_attempts),
            wait=FullJitter(policy.initial, policy.max_backoff, policy.rng),
            retry=_RetryPredicate(),
            reraise=True,
            sleep=lambda _seconds: None,  # the flow sleeps, as an effect
        )

    def run(
        self,
        attempt: Callable[[], Flow[T]],
        decide: Callable[[FinconError], bool],
        *,
        on_retry: Callable[[FinconError, float], None] | None = None,
    ) -> Flow[T]:
        """Run ``attempt`` until it succeeds, ``decide`` refuses a retry, or the policy stops.

        ``decide(error)`` says whether this particular request may be sent again.
        """
        try:
            return (yield from attempt())
        except FinconError as error:
            if self.policy.max_attempts == 1 or not decide(error):
                raise
            first_failure = error
        retrying = self._template.copy()
        retrying.begin()
        state = RetryCallState(retrying, None, (), {"decide": decide})
        state.set_exception((type(first_failure), first_failure, first_failure.__traceback__))
        while True:
            action: Any = retrying.iter(state)
            if isinstance(action, DoAttempt):
                try:
                    result = yield from attempt()
                except FinconError:
                    state.set_exception(sys.exc_info())  # type: ignore[arg-type]
                else:
                    state.set_result(result)
            elif isinstance(action, DoSleep):
                last = state.outcome.exception() if state.outcome is not None else None
                asked = getattr(last, "retry_after", None)
                # Compare what the server asked for (not our jitter on top of it) with the cap.
                if isinstance(asked, (int, float)) and asked > self.policy.max_wait:
                    raise self._too_long(float(asked), last)
                # Our own backoff, and the jitter added to a server's ask, stay within the cap.
                wait = min(float(action), self.policy.max_wait)
                if on_retry is not None and isinstance(last, FinconError):
                    on_retry(last, wait)
                state.prepare_for_next_attempt()
                yield Sleep(wait)
            else:
                return action  # type: ignore[no-any-return]

    def _too_long(self, wait: float, last: BaseException | None) -> RateLimited:
        retry_at = self.clock.now() + timedelta(seconds=wait)
        base = last if isinstance(last, FinconError) else None
        error = RateLimited(
            f"the server asked to wait {wait:.0f}s, longer than the allowed {self.policy.max_wait:.0f}s; "
            f"retry at {retry_at.isoformat()}",
            retry_at=retry_at,
            system=base.system if base else None,
            status=base.status if base else None,
            code=base.code if base else None,
            request_id=base.request_id if base else None,
            details=base.details if base else None,
        )
        error.__cause__ = last
        return error
