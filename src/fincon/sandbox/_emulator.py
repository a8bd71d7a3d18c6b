"""The emulator base class: an in-memory app that answers httpx requests like a vendor."""

from __future__ import annotations

import abc
import logging
import threading
from collections.abc import Hashable
from typing import ClassVar

import httpx

from fincon.core.clock import SYSTEM_CLOCK, Clock
from fincon.sandbox._faults import FaultPlan, ResponseFault
from fincon.sandbox._responses import Abort, json_response

__all__ = ["Emulator"]

logger = logging.getLogger("fincon.sandbox")


class Emulator(abc.ABC):
    """An in-process emulator of one system's wire protocol.

    Subclasses set ``system``, implement :meth:`dispatch` (usually with a
    :class:`~fincon.sandbox.Router`) and :meth:`credentials`. :meth:`handle` is the app:
    synchronous, in memory, and serialised by a lock so the emulator is thread-safe
    when served on loopback or shared by threads.

    Handlers must build absolute links from the incoming request's origin
    (``request.url``), never from ``base_url``: the same emulator answers in process
    and behind a loopback server on a port chosen at run time.
    """

    system: ClassVar[str]

    def __init__(
        self,
        *,
        seed: int = 0,
        size: int = 100,
        clock: Clock | None = None,
        faults: FaultPlan | None = None,
        cycle_after_pages: int | None = None,
    ) -> None:
        if size < 0:
            raise ValueError("size must be zero or more")
        if cycle_after_pages is not None and cycle_after_pages < 1:
            raise ValueError("cycle_after_pages must be at least 1")
        self.seed = seed
        self.size = size
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.faults: FaultPlan = faults if faults is not None else FaultPlan(seed)
        self.base_url = f"https://{self.system}.sandbox.fincon.invalid"
        self.requests_handled = 0
        #: After that many pages of one listing, :meth:`paging_cursor` sends the client back to
        #: the first page: a server feeding its client a cursor cycle (None: never).
        self.cycle_after_pages = cycle_after_pages
        self._pages_served: dict[Hashable, int] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed}, size={self.size}, base_url={self.base_url!r})"

    @abc.abstractmethod
    def dispatch(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (called under the emulator's lock). May raise :class:`Abort`."""

    @abc.abstractmethod
    def credentials(self) -> dict[str, str]:
        """The connector settings this emulator accepts, e.g. ``{"api_key": "sk_..."}``."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The app: answer ``request``, without faults (the transport and the server apply
        those). The response is read, ready for ``.json()``. An unexpected error in a
        handler becomes a 500, as on a real server."""
        response = self.respond(request)
        response.read()
        return response

    def respond(self, request: httpx.Request) -> httpx.Response:
        """Like :meth:`handle`, but the body may still be an unread stream: what
        transports and the loopback server use, since they pass the bytes on as they are."""
        try:
            request.content  # noqa: B018 - raises if a streamed body was not read yet
        except httpx.RequestNotRead:
            request.read()
        with self._lock:
            self.requests_handled += 1
            try:
                response = self.dispatch(request)
            except Abort as abort:
                response = abort.response
            except Exception:
                logger.exception(
                    "the %s emulator failed on %s %s", self.system, request.method, request.url.path
                )
                response = self.internal_error(request)
        response.request = request
        return response

    def paging_cursor(self, listing: Hashable, after: str | None) -> str | None:
        """The cursor a listing handler should honour for ``listing`` (e.g. account and path):
        ``after``, unless :attr:`cycle_after_pages` says to start over."""
        pages = 1 if after is None else self._pages_served.get(listing, 0) + 1
        self._pages_served[listing] = pages
        if self.cycle_after_pages is not None and pages > self.cycle_after_pages:
            return None  # the deliberate bug: the client is sent back to the start
        return after

    def fault_response(self, fault: ResponseFault, request: httpx.Request) -> httpx.Response:
        """The response for an injected fault; override to shape it like the vendor
        (a SOAP fault, an in-body throttle code)."""
        return fault.respond(request, self.clock)

    def internal_error(self, request: httpx.Request) -> httpx.Response:
        """The answer when a handler crashed; override to match the vendor's 500."""
        return json_response(
            {"error": {"type": "api_error", "message": "Internal server error."}}, status=500
        )
