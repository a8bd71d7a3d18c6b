"""Sans-I/O flows: one implementation of every protocol step, driven sync or async.

Connector logic (a page fetch, a token refresh, the retry loop) is written once, as a
generator that *yields effects* and receives their results:

- ``Send(request)`` -> the ``httpx.Response`` (body read), or a
  :class:`~fincon.errors.TransportError` thrown in;
- ``Sleep(seconds)`` -> ``None`` after the pause;
- ``Acquire(lock)`` -> ``None`` once the :class:`DualLock` is held (the flow releases it).

:func:`run_sync` and :func:`run_async` drive a flow with an ``httpx.Client`` or an
``httpx.AsyncClient``. This is how the sync and async connectors share one implementation
instead of two hand-maintained copies (httpx's ``Auth.auth_flow`` uses the same idea).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from fincon.core.clock import SYSTEM_CLOCK, Clock, SystemClock
from fincon.errors import TransportError

__all__ = [
    "Acquire",
    "ConcurrencyLimit",
    "DualLock",
    "Effect",
    "Flow",
    "Send",
    "Sleep",
    "run_async",
    "run_sync",
]

T = TypeVar("T")


@dataclass(slots=True)
class Send:
    """Send ``request`` and return the response with its body read."""

    request: httpx.Request


@dataclass(slots=True)
class Sleep:
    """Pause for ``seconds`` (on the connector's clock).

    With ``interrupt``, a sync driver on the real clock ends the pause early once that event
    is set (a prefetch that was cancelled does not sit out a back-off).
    """

    seconds: float
    interrupt: threading.Event | None = None


@dataclass(slots=True)
class Acquire:
    """Hold ``lock``; the flow must call ``lock.release()`` (in a ``finally``)."""

    lock: DualLock


Effect = Send | Sleep | Acquire
Flow = Generator[Effect, Any, T]

# Polling bounds for the async side of the thread-safe primitives below. Contention on
# these is rare (a token refresh, a saturated concurrency cap), so polling is cheap.
_POLL_MIN = 0.0005
_POLL_MAX = 0.02


class DualLock:
    """A mutex that excludes both threads and asyncio tasks.

    A plain ``threading.Lock`` would block the event loop when awaited on; an
    ``asyncio.Lock`` does not exclude other threads. This holds a ``threading.Lock``
    and acquires it without blocking the loop on the async side.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire_sync(self) -> None:
        self._lock.acquire()

    async def acquire_async(self) -> None:
        delay = _POLL_MIN
        while not self._lock.acquire(blocking=False):
            await asyncio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


class ConcurrencyLimit:
    """At most ``limit`` requests in flight, across threads and tasks alike."""

    __slots__ = ("_semaphore", "limit")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a concurrency limit must be at least 1")
        self.limit = limit
        self._semaphore = threading.BoundedSemaphore(limit)

    def acquire_sync(self) -> None:
        self._semaphore.acquire()

    async def acquire_async(self) -> None:
        delay = _POLL_MIN
        while not self._semaphore.acquire(blocking=False):
            await asyncio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)

    def release(self) -> None:
        self._semaphore.release()

    def __repr__(self) -> str:
        return f"ConcurrencyLimit({self.limit})"


def transport_error(exc: httpx.HTTPError, system: str | None) -> TransportError:
    """Translate an httpx failure, recording whether the request may have reached the server."""
    # Nothing left the machine when the connection was never made or the pool had no slot.
    not_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    unusable = isinstance(exc, (httpx.UnsupportedProtocol, httpx.ProxyError, httpx.InvalidURL))
    kind = type(exc).__name__
    return TransportError(
        f"{kind}: the call did not complete"
        + (" (the request was not sent)" if not_sent else " (the request may have reached the server)"),
        system=system,
        code=kind,
        maybe_sent=not not_sent and not unusable,
        retryable=not unusable,
    )


def run_sync(
    flow: Flow[T],
    client: httpx.Client,
    *,
    clock: Clock = SYSTEM_CLOCK,
    concurrency: ConcurrencyLimit | None = None,
    system: str | None = None,
) -> T:
    """Drive ``flow`` to completion with a blocking ``httpx.Client``."""
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            if type(effect) is Send:
                if concurrency is not None:
                    concurrency.acquire_sync()
                try:
                    value = client.send(effect.request)
                except httpx.HTTPError as exc:
                    error = transport_error(exc, system)
                finally:
                    if concurrency is not None:
                        concurrency.release()
            elif type(effect) is Sleep:
                _sleep(clock, effect)
            elif type(effect) is Acquire:
                effect.lock.acquire_sync()
            else:
                raise TypeError(f"unknown effect {effect!r}")
    finally:
        flow.close()


def _sleep(clock: Clock, effect: Sleep) -> None:
    interrupt = effect.interrupt
    if interrupt is None:
        clock.sleep(effect.seconds)
    elif isinstance(clock, SystemClock):
        interrupt.wait(max(effect.seconds, 0))  # returns as soon as the event is set
    elif not interrupt.is_set():
        clock.sleep(effect.seconds)  # a fake clock: its sleeps take no time anyway


async def run_async(
    flow: Flow[T],
    client: httpx.AsyncClient,
    *,
    clock: Clock = SYSTEM_CLOCK,
    concurrency: ConcurrencyLimit | None = None,
    system: str | None = None,
) -> T:
    """Drive ``flow`` to completion with an ``httpx.AsyncClient``."""
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            if type(effect) is Send:
                if concurrency is not None:
                    await concurrency.acquire_async()
                try:
                    value = await client.send(effect.request)
                except httpx.HTTPError as exc:
                    error = transport_error(exc, system)
                finally:
                    if concurrency is not None:
                        concurrency.release()
            elif type(effect) is Sleep:
                await clock.asleep(effect.seconds)
            elif type(effect) is Acquire:
                await effect.lock.acquire_async()
            else:
                raise TypeError(f"unknown effect {effect!r}")
    finally:
        # Cancellation lands here too: closing runs the flow's ``finally`` blocks,
        # which release any lock it holds.
        flow.close()
