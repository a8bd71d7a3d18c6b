"""Prefetch: fetch the next page of a listing while the current one is mapped and consumed.

A listing that prefetches holds at most two pages: the one being mapped or consumed, and
the next one in flight. The fetch runs the handler's flow through the connector's ``run``
(the same ``requestor.call`` path as every other request: retries, limits, audit and the
circuit breaker all apply), in one background thread (sync) or one ``asyncio`` task (async)
at a time. Everything that decides *which* page comes next (cursors, the cycle guard,
``max_pages``) stays with the consumer, so cursors stay exact whatever the prefetch did.

Cancelling stops a flow between effects: at most the HTTP exchange under way (bounded by the
connector's timeout) completes after a cancel; a back-off under way ends at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from fincon.core.flow import Effect, Flow, Send, Sleep

__all__ = ["PrefetchCancelled", "TaskPrefetch", "ThreadPrefetch", "stoppable", "watch_effects"]

T = TypeVar("T")
Item = TypeVar("Item")

#: Loop turns a prefetch task gets to reach the transport before the consumer maps on.
_TURNS_FOR_FIRST_TRACE = 32
#: Longest wait for a traced request to be written (a stalled upload must not stall the listing).
_LONGEST_SEND_WAIT = 1.0
#: While a background fetch runs, the consumer lets go of the GIL after about this much of its
#: own work (seconds). CPython makes a thread that holds the GIL give it up only after
#: ``sys.getswitchinterval()`` (5 ms by default), and the fetching thread needs it back after
#: every socket call and parse: without these handoffs it spends more time waiting for the
#: GIL than fetching. Letting go is a ``time.sleep(0)`` call: about 55 us on the development VM,
#: so at most about a tenth of the consumer's time, and only while a fetch is under way.
HANDOFF_EVERY = 0.0005
#: Items between two looks at the clock (a look costs more than handing out an item).
_ITEMS_PER_LOOK = 8


def _let_go_of_gil() -> None:
    time.sleep(0)  # releases the GIL and takes it back: a thread waiting for it can take it


class PrefetchCancelled(Exception):
    """Raised inside a prefetch flow that was cancelled (the listing was closed)."""


def watch_effects(flow: Flow[T], before: Callable[[Effect], None]) -> Flow[T]:
    """``flow`` unchanged, with ``before(effect)`` called ahead of each effect it yields.

    ``before`` may raise to abandon the flow: it is then closed, which runs its ``finally``
    blocks (locks released, a half-open breaker trial given back), as for any abandoned flow.
    """
    try:
        effect = next(flow)
        while True:
            before(effect)
            try:
                result = yield effect
            except GeneratorExit:
                raise  # the driver abandons the flow: ``finally`` closes the inner one
            except BaseException as exc:  # a transport error thrown in by the driver
                effect = flow.throw(exc)
            else:
                effect = flow.send(result)
    except StopIteration as stop_iteration:
        return stop_iteration.value  # type: ignore[no-any-return]
    finally:
        flow.close()


def stoppable(flow: Flow[T], stop: threading.Event) -> Flow[T]:
    """``flow``, checked against ``stop`` before each effect; a stopped flow is closed.

    Its sleeps (retry back-offs, a ``Retry-After``) end early when ``stop`` is set, so a
    listing that is closed during a back-off does not wait it out.
    """

    def check(effect: Effect) -> None:
        if stop.is_set():
            raise PrefetchCancelled("the listing was closed")
        if type(effect) is Sleep:
            effect.interrupt = stop  # each Sleep is made fresh by the flow that yields it

    return watch_effects(flow, check)


class ThreadPrefetch(Generic[T]):
    """Runs one flow at a time in a background thread; :meth:`result` hands its outcome back.

    A new short-lived thread per fetch: nothing idles between pages and nothing is left
    to shut down when a listing is abandoned between fetches. The fetch runs in a copy of
    the consumer's :mod:`contextvars` context (as an ``asyncio`` task would), so request
    tracing and log correlation see the prefetched requests as the listing's own.
    """

    def __init__(self, run: Callable[[Flow[Any]], Any], *, name: str = "fincon-prefetch") -> None:
        self._run = run
        self._name = name
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    @property
    def active(self) -> bool:
        """True while a fetch is running in the background."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, flow: Flow[T]) -> None:
        """Start fetching; the previous fetch must have been collected with :meth:`result`."""
        if self._thread is not None:
            flow.close()
            raise RuntimeError("a prefetch is already under way")
        self._stop = threading.Event()
        self._value, self._error = None, None
        stop = self._stop
        wrapped = stoppable(flow, stop)

        def work() -> None:
            try:
                self._value = self._run(wrapped)
            except BaseException as exc:  # handed to the consumer, at its position
                self._error = exc

        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(work,), name=self._name, daemon=True)
        self._thread = thread
        thread.start()

    def sharing_gil(self, items: Iterable[Item]) -> Iterator[Item]:
        """``items`` unchanged; while the fetch runs, the GIL is let go between them now and then.

        The consumer's mapping and its own work on each item hold the GIL. Letting go every
        :data:`HANDOFF_EVERY` seconds of that work hands it to the fetching thread when it is
        waiting for it (its socket reads and its parse then overlap the mapping); once the
        fetch has ended, the rest of ``items`` comes straight through. Nothing is let go when
        ``sys.getswitchinterval()`` is already that short.
        """
        rest = iter(items)
        thread = self._thread
        if thread is None or not thread.is_alive() or sys.getswitchinterval() <= HANDOFF_EVERY:
            # (An application that set a switch interval this short has the interpreter hand
            # the GIL over as often already: letting go on top of it only costs time.)
            yield from rest
            return
        clock, let_go = time.perf_counter, _let_go_of_gil
        due = clock() + HANDOFF_EVERY
        count = 0
        for item in rest:
            yield item
            count += 1
            if count == _ITEMS_PER_LOOK:
                count = 0
                if not thread.is_alive():
                    break
                now = clock()
                if now >= due:
                    let_go()
                    due = now + HANDOFF_EVERY
        yield from rest

    def result(self) -> T:
        """Wait for the fetch under way; return its value or raise its error here."""
        thread = self._thread
        if thread is None:
            raise RuntimeError("no prefetch was started")
        thread.join()
        self._thread = None
        value, error = self._value, self._error
        self._value, self._error = None, None
        if error is not None:
            raise error
        return value  # type: ignore[no-any-return]

    def cancel(self) -> None:
        """Stop the fetch under way (if any) and wait for its thread to end."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        if thread is not threading.current_thread():
            thread.join()
        self._thread = None
        self._value, self._error = None, None


class TaskPrefetch(Generic[T]):
    """The async twin of :class:`ThreadPrefetch`: one ``asyncio`` task at a time.

    Under an event loop other than asyncio's (anyio on trio), there is nothing to schedule
    a task on: :meth:`start` then only remembers the flow, and :meth:`result` runs it.
    """

    def __init__(self, run: Callable[[Flow[Any]], Awaitable[Any]]) -> None:
        self._run = run
        self._task: asyncio.Future[Any] | None = None
        self._pending: Flow[Any] | None = None
        self._tracing: asyncio.Event | None = None
        self._sending: asyncio.Event | None = None

    def start(self, flow: Flow[T]) -> None:
        """Start fetching in a task (or defer the fetch when asyncio is not running)."""
        if self._task is not None or self._pending is not None:
            flow.close()
            raise RuntimeError("a prefetch is already under way")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._pending = flow
            return
        tracing, sending = self._tracing, self._sending = asyncio.Event(), asyncio.Event()
        task = asyncio.ensure_future(self._run(_marking_sends(flow, tracing, sending)))
        task.add_done_callback(_retrieve)
        self._task = task

    async def started(self) -> None:
        """Give the task the loop until its first request has been written (or it ended).

        Mapping a page is synchronous and holds the loop; without this the task would only
        send its request when the consumer next awaits. httpcore reports the steps of an
        exchange through its ``trace`` extension. A transport that reports nothing within a
        few loop turns (a mock, a custom transport, a pool with no free connection) is not
        waited for: the fetch then simply goes on when the consumer next awaits.
        """
        task, tracing, sending = self._task, self._tracing, self._sending
        if task is None or tracing is None or sending is None:
            return
        for _ in range(_TURNS_FOR_FIRST_TRACE):
            if tracing.is_set() or task.done():
                break
            await asyncio.sleep(0)
        if not tracing.is_set() or task.done():
            return
        waiter = asyncio.ensure_future(sending.wait())
        try:
            await asyncio.wait(
                {task, waiter}, timeout=_LONGEST_SEND_WAIT, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()

    async def result(self) -> T:
        """Await the fetch under way; return its value or raise its error here."""
        if self._pending is not None:
            flow, self._pending = self._pending, None
            return await self._run(flow)  # type: ignore[no-any-return]
        task = self._task
        if task is None:
            raise RuntimeError("no prefetch was started")
        self._task = None
        return await task  # type: ignore[no-any-return]

    async def cancel(self) -> None:
        """Cancel the task under way (if any) and wait until it has stopped."""
        if self._pending is not None:
            self._pending.close()
            self._pending = None
        task, self._task = self._task, None
        if task is None:
            return
        if not task.done():
            task.cancel()
        # ``wait`` never raises the task's error; our own cancellation still propagates.
        await asyncio.wait({task})

    def cancel_nowait(self) -> None:
        """Cancel without waiting (from a synchronous ``close`` or a finalizer)."""
        if self._pending is not None:
            self._pending.close()
            self._pending = None
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()


def _marking_sends(flow: Flow[T], tracing: asyncio.Event, sending: asyncio.Event) -> Flow[T]:
    """``flow`` unchanged, except that its requests set ``tracing`` when the transport reports
    a first step and ``sending`` once the request is written to the wire."""

    def mark(effect: Effect) -> None:
        if type(effect) is Send:
            extensions = effect.request.extensions
            extensions["trace"] = _tracer(tracing, sending, extensions.get("trace"))

    return watch_effects(flow, mark)


def _tracer(
    tracing: asyncio.Event, sending: asyncio.Event, previous: Any
) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    # httpcore calls the trace extension at each step of an exchange; a caller's own
    # tracer (if any) still sees every event.
    async def trace(name: str, info: dict[str, Any]) -> None:
        if previous is not None:
            await previous(name, info)
        tracing.set()
        if name.endswith("send_request_body.complete"):
            sending.set()

    return trace


def _retrieve(task: asyncio.Future[Any]) -> None:
    # An abandoned fetch's error is not "never retrieved": the listing chose to drop it.
    if not task.cancelled():
        task.exception()
