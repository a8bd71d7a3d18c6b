"""Fault injection: what goes wrong, on which requests, how often, and what did go wrong.

A :class:`FaultPlan` is a list of rules. For each request the transport (or the loopback
server) asks the plan, before the emulator sees the request, whether a fault applies; the
first rule that fires wins. Probabilities draw from the plan's own seeded generator, so
the same plan and the same request sequence inject the same faults in every run.
"""

from __future__ import annotations

import contextlib
import fnmatch
import threading
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Literal, TypedDict

import httpx
from typing_extensions import Unpack

from fincon.core.clock import Clock
from fincon.sandbox._responses import http_date, json_response, retry_after_value
from fincon.sandbox._seed import SeedRandom

__all__ = [
    "DropAfterFault",
    "DropBeforeFault",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "InjectedFault",
    "MalformedFault",
    "MatchOptions",
    "ResponseFault",
    "ServerErrorFault",
    "ThrottleFault",
    "TimeoutFault",
]

FaultKind = Literal["throttle", "server_error", "timeout", "drop_before", "drop_after", "malformed"]
MalformedBody = Literal["invalid_json", "truncated_json", "xxe", "billion_laughs"]


class Fault:
    """Something that goes wrong with one request."""

    kind: ClassVar[FaultKind]


class ResponseFault(Fault):
    """A fault that is an HTTP response the emulator never produced."""

    def respond(self, request: httpx.Request, clock: Clock) -> httpx.Response:
        """The response to send instead of the emulator's."""
        raise NotImplementedError


@dataclass(frozen=True)
class ThrottleFault(ResponseFault):
    """HTTP 429 with ``Retry-After``: whole seconds, or an HTTP date that many seconds
    from the emulator clock's now (``http_date=True``), or a fixed ``datetime``."""

    kind: ClassVar[FaultKind] = "throttle"
    retry_after: float | datetime = 1
    http_date: bool = False
    status: int = 429

    def retry_after_header(self, clock: Clock) -> str:
        """The ``Retry-After`` value this fault sends, as of ``clock``."""
        if isinstance(self.retry_after, datetime):
            return http_date(self.retry_after)
        if self.http_date:
            return http_date(clock.now() + timedelta(seconds=self.retry_after))
        return retry_after_value(self.retry_after)

    def respond(self, request: httpx.Request, clock: Clock) -> httpx.Response:
        return json_response(
            {
                "error": {
                    "type": "rate_limit_error",
                    "message": "Too many requests (injected by the sandbox).",
                }
            },
            status=self.status,
            headers={"Retry-After": self.retry_after_header(clock)},
        )


@dataclass(frozen=True)
class ServerErrorFault(ResponseFault):
    """A 5xx answer from a server (or gateway) in trouble."""

    kind: ClassVar[FaultKind] = "server_error"
    status: int = 500

    def respond(self, request: httpx.Request, clock: Clock) -> httpx.Response:
        phrase = httpx.codes.get_reason_phrase(self.status) or "Server Error"
        return json_response(
            {"error": {"type": "api_error", "message": f"{phrase} (injected by the sandbox)."}},
            status=self.status,
        )


@dataclass(frozen=True)
class TimeoutFault(Fault):
    """No answer in time. In process: ``httpx.ReadTimeout`` at once. On loopback: the
    server holds the connection until the client gives up (bounded by the server's
    ``max_hold``). With ``applied=True`` the emulator handles the request first."""

    kind: ClassVar[FaultKind] = "timeout"
    applied: bool = False


@dataclass(frozen=True)
class DropBeforeFault(Fault):
    """The connection fails before the emulator sees the request (nothing is applied).
    In process: ``httpx.ConnectError``; on loopback: the socket is closed unanswered."""

    kind: ClassVar[FaultKind] = "drop_before"


@dataclass(frozen=True)
class DropAfterFault(Fault):
    """The emulator applies the request, then the connection drops before the answer.
    In process: ``httpx.RemoteProtocolError`` (``error="protocol"``) or ``httpx.ReadError``
    (``error="read"``); on loopback: the socket is closed unanswered."""

    kind: ClassVar[FaultKind] = "drop_after"
    error: Literal["protocol", "read"] = "protocol"


_BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{level} "{("&lol" + (str(level - 1) if level > 1 else "") + ";") * 10}">\n'
        for level in range(1, 10)
    )
    + "]>\n<lolz>&lol9;</lolz>\n"
).encode()

# Both entities point at places a safe parser must never read: a local file and a host
# under .invalid, which cannot resolve, so a vulnerable parser fails instead of leaking.
_XXE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE response [\n <!ENTITY file SYSTEM "file:///etc/passwd">\n'
    b' <!ENTITY remote SYSTEM "http://xxe.fincon.invalid/leak">\n]>\n'
    b"<response><name>&file;</name><memo>&remote;</memo></response>\n"
)

_MALFORMED_BODIES: dict[MalformedBody, tuple[bytes, str]] = {
    "invalid_json": (b'{"object": "list", "data": [{"id": "x",}], has_more: tru}', "application/json"),
    "truncated_json": (
        b'{"object": "list", "data": [{"id": "ven_00000001", "name": "Acme',
        "application/json",
    ),
    "xxe": (_XXE, "application/xml"),
    "billion_laughs": (_BILLION_LAUGHS, "application/xml"),
}


@dataclass(frozen=True)
class MalformedFault(ResponseFault):
    """HTTP 200 with a body a client must refuse: invalid JSON, JSON cut short, XML with
    external entities (``"xxe"``) or exponential entity expansion (``"billion_laughs"``),
    or any bytes given. The emulator never sees the request."""

    kind: ClassVar[FaultKind] = "malformed"
    body: MalformedBody | bytes = "invalid_json"
    content_type: str | None = None
    status: int = 200

    def payload(self) -> tuple[bytes, str]:
        """The body and content type this fault sends."""
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        body, content_type = _MALFORMED_BODIES[self.body]
        return body, self.content_type or content_type

    def respond(self, request: httpx.Request, clock: Clock) -> httpx.Response:
        body, content_type = self.payload()
        return httpx.Response(self.status, headers={"Content-Type": content_type}, content=body)


class MatchOptions(TypedDict, total=False):
    """Which requests a rule applies to, and how often it fires.

    - ``method``: a method or several (any when absent);
    - ``path``: a glob on the URL path (``"/v1/vendors*"``; any when absent);
    - ``when``: a predicate on the request, for anything else;
    - ``times``: how many times the rule fires (default 1; ``None``: no limit);
    - ``probability``: the chance that a matching request triggers it (default 1);
    - ``after``: how many matching requests pass untouched first (default 0).
    """

    method: str | Collection[str] | None
    path: str
    when: Callable[[httpx.Request], bool] | None
    times: int | None
    probability: float
    after: int


@dataclass
class FaultRule:
    """A fault and the requests it applies to (see :class:`MatchOptions`). ``burst`` makes
    one trigger hit that many consecutive matching requests."""

    fault: Fault
    method: frozenset[str] | None = None
    path: str = "*"
    when: Callable[[httpx.Request], bool] | None = None
    times: int | None = 1
    probability: float = 1.0
    after: int = 0
    burst: int = 1
    seen: int = 0
    fired: int = 0
    _burst_left: int = field(default=0, repr=False)

    def matches(self, request: httpx.Request) -> bool:
        """Whether ``request`` is one this rule is about (ignoring counts and chance)."""
        if self.method is not None and request.method not in self.method:
            return False
        if self.path != "*" and not fnmatch.fnmatchcase(request.url.path, self.path):
            return False
        return self.when is None or self.when(request)

    def _fires(self, random: SeedRandom) -> bool:
        if self._burst_left:
            self._burst_left -= 1
            return True
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        # Draw only when needed, so a certain rule does not shift the random sequence.
        if self.probability < 1.0 and not random.chance(self.probability):
            return False
        self.fired += 1
        self._burst_left = self.burst - 1
        return True


@dataclass(frozen=True)
class InjectedFault:
    """A record of one injected fault, for assertions: ``plan.injected[0].kind == "throttle"``."""

    kind: FaultKind
    method: str
    path: str
    fault: Fault


class FaultPlan:
    """What goes wrong during a run, deterministic from ``seed``.

    >>> plan = FaultPlan(seed=7)
    >>> plan.throttle(retry_after=2, path="/v1/vendors")          # the next list call gets 429
    >>> plan.server_error(status=503, burst=3, method="POST")      # three 503s in a row
    >>> plan.drop_after(method="POST", times=1)                    # a write applied, answer lost

    ``injected`` lists every fault injected so far, in order.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rules: list[FaultRule] = []
        self.injected: list[InjectedFault] = []
        self._random = SeedRandom(seed, "faults")
        self._lock = threading.Lock()
        self._suspended = 0

    def __repr__(self) -> str:
        return f"FaultPlan(seed={self.seed}, rules={len(self.rules)}, injected={len(self.injected)})"

    def add(self, fault: Fault, *, burst: int = 1, **match: Unpack[MatchOptions]) -> FaultRule:
        """Add a rule injecting ``fault`` on the requests ``match`` describes."""
        method = match.get("method")
        methods = None if method is None else frozenset([method] if isinstance(method, str) else method)
        probability = match.get("probability", 1.0)
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        rule = FaultRule(
            fault,
            method=None if methods is None else frozenset(name.upper() for name in methods),
            path=match.get("path", "*"),
            when=match.get("when"),
            times=match.get("times", 1),
            probability=probability,
            after=match.get("after", 0),
            burst=burst,
        )
        with self._lock:
            self.rules.append(rule)
        return rule

    def throttle(
        self,
        retry_after: float | datetime = 1,
        *,
        http_date: bool = False,
        status: int = 429,
        **match: Unpack[MatchOptions],
    ) -> FaultRule:
        """Answer 429 with ``Retry-After`` (seconds, or an HTTP date with ``http_date=True``
        or a ``datetime``)."""
        return self.add(ThrottleFault(retry_after, http_date, status), **match)

    def server_error(self, status: int = 500, *, burst: int = 1, **match: Unpack[MatchOptions]) -> FaultRule:
        """Answer ``status`` (500, 502, 503 or 504), ``burst`` times in a row per trigger."""
        if not 500 <= status <= 599:
            raise ValueError("a server error has a 5xx status")
        return self.add(ServerErrorFault(status), burst=burst, **match)

    def timeout(self, *, applied: bool = False, **match: Unpack[MatchOptions]) -> FaultRule:
        """Let the request time out (``httpx.ReadTimeout`` in process)."""
        return self.add(TimeoutFault(applied), **match)

    def drop_before(self, **match: Unpack[MatchOptions]) -> FaultRule:
        """Drop the connection before the emulator sees the request."""
        return self.add(DropBeforeFault(), **match)

    def drop_after(
        self, *, error: Literal["protocol", "read"] = "protocol", **match: Unpack[MatchOptions]
    ) -> FaultRule:
        """Let the emulator apply the request, then drop the connection."""
        return self.add(DropAfterFault(error), **match)

    def malformed(
        self,
        body: MalformedBody | bytes = "invalid_json",
        *,
        content_type: str | None = None,
        **match: Unpack[MatchOptions],
    ) -> FaultRule:
        """Answer 200 with a broken or hostile body."""
        return self.add(MalformedFault(body, content_type), **match)

    @classmethod
    def storm(
        cls,
        *,
        seed: int = 0,
        throttle: float = 0.05,
        server_error: float = 0.05,
        drop_before: float = 0.02,
        drop_after: float = 0.0,
        timeout: float = 0.01,
        retry_after: float = 1,
        path: str = "*",
    ) -> FaultPlan:
        """A plan where every request risks each fault with the given probability, with no
        limit on how many: the weather a client must get through unharmed."""
        plan = cls(seed)
        if throttle:
            plan.throttle(retry_after, probability=throttle, times=None, path=path)
        if server_error:
            for status in (500, 502, 503, 504):
                plan.server_error(status, probability=server_error / 4, times=None, path=path)
        if drop_before:
            plan.drop_before(probability=drop_before, times=None, path=path)
        if drop_after:
            plan.drop_after(probability=drop_after, times=None, path=path)
        if timeout:
            plan.timeout(probability=timeout, times=None, path=path)
        return plan

    def pick(self, request: httpx.Request) -> Fault | None:
        """The fault to inject for ``request``, if any; records it in ``injected``."""
        with self._lock:
            if self._suspended:
                return None
            for rule in self.rules:
                if rule.matches(request) and rule._fires(self._random):
                    self.injected.append(
                        InjectedFault(rule.fault.kind, request.method, request.url.path, rule.fault)
                    )
                    return rule.fault
            return None

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Inject nothing inside the block (for setting up data through a faulty client)."""
        with self._lock:
            self._suspended += 1
        try:
            yield
        finally:
            with self._lock:
                self._suspended -= 1

    def clear(self) -> None:
        """Remove every rule and forget what was injected."""
        with self._lock:
            self.rules.clear()
            self.injected.clear()

    def kinds(self) -> list[FaultKind]:
        """The kinds of the injected faults, in order (a shorthand for assertions)."""
        with self._lock:
            return [injected.kind for injected in self.injected]
