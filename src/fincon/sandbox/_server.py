"""The loopback server: an emulator behind a real HTTP/1.1 socket, for any client.

A small asyncio ``Protocol`` server (keep-alive, pipelining, Content-Length and chunked
request bodies) on its own thread and event loop. The emulator is called inline: it is
in memory and quick, so a thread hop per request would cost more than it saves.
Injected faults happen on the wire: a drop closes the socket unanswered, a timeout holds
the connection until the client gives up (at most ``max_hold`` seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import re
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any, TextIO

import httpx

from fincon.errors import ConfigError

try:  # the fast path below needs httpx's parsed-URL record; without it, parse as usual
    from httpx._urlparse import ParseResult as _ParseResult
except ImportError:  # pragma: no cover - a future httpx
    _ParseResult = None  # type: ignore[assignment,misc]
from fincon.sandbox._emulator import Emulator
from fincon.sandbox._faults import DropAfterFault, DropBeforeFault, ResponseFault, TimeoutFault
from fincon.sandbox._http1 import HTTPParseError, ParsedRequest, RequestParser
from fincon.sandbox._responses import http_date, response_body

__all__ = ["ServerHandle", "ServerStats", "run_server", "serve"]

_HOST = re.compile(rb"(?:[A-Za-z0-9._~!$&'()*+,;=%-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"date", b"server"}
)


@dataclass
class ServerStats:
    """Counters the server keeps, for benchmarks: requests answered, connections
    accepted, and the time spent parsing, handling and writing, as wall time
    (``busy_ns``) and as the server thread's CPU time (``busy_cpu_ns``). When client and
    server share a process, wall time also counts waits for the GIL; CPU time does not."""

    requests: int = 0
    connections: int = 0
    busy_ns: int = 0
    busy_cpu_ns: int = 0

    @property
    def busy_us_per_request(self) -> float:
        """Mean server wall time per request in microseconds."""
        return self.busy_ns / 1000 / self.requests if self.requests else 0.0

    @property
    def busy_cpu_us_per_request(self) -> float:
        """Mean server CPU time per request in microseconds."""
        return self.busy_cpu_ns / 1000 / self.requests if self.requests else 0.0

    def reset(self) -> None:
        """Count requests and time again from zero (connections keep counting)."""
        self.requests = self.busy_ns = self.busy_cpu_ns = 0


def _loopback(host: str) -> tuple[str, socket.AddressFamily]:
    """The address to bind for ``host`` and its family; ``ConfigError`` unless loopback."""
    if host == "localhost":
        return "127.0.0.1", socket.AF_INET
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ConfigError(
            f"the sandbox server only binds loopback addresses, not the host name {host!r}"
        ) from None
    if not address.is_loopback:
        raise ConfigError(f"the sandbox server only binds loopback addresses, not {host!r}")
    return str(address), socket.AF_INET6 if address.version == 6 else socket.AF_INET


# Parsing a URL is the most expensive step of building an httpx.Request (tens of
# microseconds, per request). Targets made only of characters httpx would leave as they
# are (no dot segments, valid escapes) and plain lower-case hosts skip it: the result is
# the same URL (tests compare both ways). Anything else takes httpx's full parser.
_PLAIN_AUTHORITY = re.compile(r"([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([0-9]{1,5}))?")
_PLAIN_TARGET = re.compile(
    r"(/(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)"
    r"(?:\?((?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*))?"
)


def _plain_url(authority: str, target: str) -> httpx.URL | None:
    """``http://{authority}{target}`` as an ``httpx.URL`` built without re-parsing, or
    ``None`` when the parts are not plain enough to be sure of the result."""
    host_match = _PLAIN_AUTHORITY.fullmatch(authority)
    target_match = _PLAIN_TARGET.fullmatch(target)
    if _ParseResult is None or host_match is None or target_match is None:
        return None
    host, port_text = host_match.groups()
    path, query = target_match.groups()
    if "/." in path or (host[0].isdigit() and not _IPV4.fullmatch(host)):
        return None  # dot segments are normalised, odd numeric hosts are validated
    port = int(port_text) if port_text else None
    if port is not None and port > 65535:
        return None
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = _ParseResult("http", "", host, None if port == 80 else port, path, query, None)
    return url


_IPV4 = re.compile(
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
)


class _Connection(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.parser = RequestParser()
        self.transport: asyncio.Transport | None = None
        self.closing = False
        self.hold: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.server.stopping:  # accepted just as the server was told to stop
            transport.abort()
            return
        self.server.connections.add(self)
        self.server.stats.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self.hold is not None:
            self.hold.cancel()
        self.closing = True

    def pause_writing(self) -> None:
        # A client that sends faster than it reads waits until it reads.
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.closing:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # a held or closing connection ignores what follows
        started = time.perf_counter_ns()
        started_cpu = time.thread_time_ns()
        try:
            requests = self.parser.feed(data)
        except HTTPParseError as error:
            self._refuse(error.status, error.message)
        else:
            for request in requests:
                if not self._answer(request):
                    break
            if not self.closing and self.parser.expects_continue:
                self.parser.expects_continue = False
                self._write(b"HTTP/1.1 100 Continue\r\n\r\n")
        stats = self.server.stats
        stats.busy_cpu_ns += time.thread_time_ns() - started_cpu
        stats.busy_ns += time.perf_counter_ns() - started

    def _write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def _close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()  # sends what was written before, then FIN

    def _refuse(self, status: int, message: str) -> None:
        body = message.encode()
        reason = httpx.codes.get_reason_phrase(status)
        self._write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n".encode()
            + body
        )
        self._close()

    def _request_for(self, parsed: ParsedRequest) -> httpx.Request:
        headers = parsed.headers
        host = next((value for name, value in headers if name.lower() == b"host"), None)
        if host is None and parsed.version == "HTTP/1.1":
            raise ValueError("HTTP/1.1 requires a Host header")  # RFC 9112 3.2
        if host is not None and not _HOST.fullmatch(host):
            raise ValueError("invalid Host header")
        url: httpx.URL | str
        if parsed.target.startswith(("http://", "https://")):
            url = parsed.target  # absolute form, as proxies send
        elif not parsed.target.startswith("/"):
            raise ValueError("unsupported request target")
        else:
            authority = host.decode("latin-1") if host else self.server.authority
            url = _plain_url(authority, parsed.target) or f"http://{authority}{parsed.target}"
        if parsed.chunked:
            # The emulator sees a plain body of known length, as a buffering proxy would pass it.
            headers = [(name, value) for name, value in headers if name.lower() != b"transfer-encoding"]
            headers.append((b"Content-Length", str(len(parsed.body)).encode()))
        return httpx.Request(parsed.method, url, headers=headers, content=parsed.body)

    def _answer(self, parsed: ParsedRequest) -> bool:
        """Answer one request; False when the connection must not serve more."""
        server = self.server
        server.stats.requests += 1
        try:
            request = self._request_for(parsed)
        except (ValueError, httpx.InvalidURL) as error:
            self._refuse(400, f"bad request target or host: {error}")
            return False
        emulator = server.emulator
        fault = emulator.faults.pick(request)
        if fault is None:
            response = emulator.respond(request)
        elif isinstance(fault, DropBeforeFault):
            self._close()
            return False
        elif isinstance(fault, DropAfterFault):
            emulator.respond(request)
            self._close()
            return False
        elif isinstance(fault, TimeoutFault):
            if fault.applied:
                emulator.respond(request)
            self._hold()
            return False
        elif isinstance(fault, ResponseFault):
            response = emulator.fault_response(fault, request)
        else:
            raise TypeError(f"the sandbox server cannot inject {fault!r}")
        self._write(self._serialise(response, parsed))
        if not parsed.keep_alive:
            self._close()
            return False
        return True

    def _hold(self) -> None:
        # Say nothing; the client's timeout ends it, or we close after max_hold.
        self.closing = True
        loop = asyncio.get_running_loop()
        self.hold = loop.call_later(self.server.max_hold, self._close)

    def _serialise(self, response: httpx.Response, parsed: ParsedRequest) -> bytes:
        body = response_body(response)
        reason = response.reason_phrase or httpx.codes.get_reason_phrase(response.status_code)
        lines = [f"HTTP/1.1 {response.status_code} {reason}".encode()]
        lines.extend(
            name + b": " + value for name, value in response.headers.raw if name.lower() not in _HOP_BY_HOP
        )
        lines.append(b"Content-Length: " + str(len(body)).encode())
        lines.append(b"Date: " + self.server.date_header())
        lines.append(b"Server: fincon-sandbox")
        if not parsed.keep_alive:
            lines.append(b"Connection: close")
        elif parsed.version == "HTTP/1.0":
            lines.append(b"Connection: keep-alive")
        lines.append(b"")
        no_body = parsed.method == "HEAD" or response.status_code in (204, 304) or response.status_code < 200
        lines.append(b"" if no_body else body)
        return b"\r\n".join(lines)


class _Server:
    """State shared by a server's connections (touched only on its event loop thread)."""

    def __init__(self, emulator: Emulator, authority: str, max_hold: float) -> None:
        self.emulator = emulator
        self.authority = authority
        self.max_hold = max_hold
        self.stats = ServerStats()
        self.connections: set[_Connection] = set()
        self.stopping = False
        self._date_second = -1
        self._date_value = b""

    def date_header(self) -> bytes:
        now = self.emulator.clock.now()
        second = int(now.timestamp())
        if second != self._date_second:  # formatting once per second is plenty
            self._date_second = second
            self._date_value = http_date(now).encode()
        return self._date_value


class ServerHandle:
    """A running loopback server. Use it as a context manager, or call :meth:`stop`.

    ``base_url`` is where it listens (``http://127.0.0.1:PORT``); ``stats`` counts requests
    and server-side time.
    """

    def __init__(self, emulator: Emulator, sock: socket.socket, base_url: str, max_hold: float) -> None:
        self.emulator = emulator
        self.base_url = base_url
        address = sock.getsockname()
        self.host: str = address[0]
        self.port: int = address[1]
        self._state = _Server(emulator, base_url.removeprefix("http://"), max_hold)
        self._socket = sock
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"fincon-sandbox-server-{self.port}", daemon=True
        )

    @property
    def stats(self) -> ServerStats:
        """Requests, connections and busy time so far."""
        return self._state.stats

    @property
    def thread(self) -> threading.Thread:
        """The thread the server's event loop runs on."""
        return self._thread

    @property
    def running(self) -> bool:
        """Whether the server thread is alive."""
        return self._thread.is_alive()

    def __repr__(self) -> str:
        return f"ServerHandle(base_url={self.base_url!r}, running={self.running})"

    def _start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error

    def _run(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                loop.create_server(lambda: _Connection(self._state), sock=self._socket, backlog=512)
            )
        except BaseException as error:  # surfaced to the caller of serve()
            self._startup_error = error
            self._ready.set()
            loop.close()
            self._socket.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._shut_down()

    def _shut_down(self) -> None:
        loop, server = self._loop, self._server
        assert server is not None
        self._state.stopping = True
        # Stop accepting first, then let accepts already in flight finish (they abort
        # themselves in connection_made): closing the server under them would leak their
        # sockets (asyncio drops a connection whose server closed mid-accept).
        for listening in server.sockets:
            loop.remove_reader(listening.fileno())
        for _ in range(3):
            loop.run_until_complete(asyncio.sleep(0))
        server.close()
        for _ in range(3):  # aborted transports run connection_lost on the next turns
            for connection in list(self._state.connections):
                if connection.transport is not None:
                    connection.transport.abort()
            loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(server.wait_closed())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening, close every connection and join the server thread."""
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop may have closed already
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"the sandbox server on {self.base_url} did not stop within {timeout} s")

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    emulator: Emulator, host: str = "127.0.0.1", port: int = 0, *, max_hold: float = 30.0
) -> ServerHandle:
    """Serve ``emulator`` over HTTP/1.1 on a loopback address, in a background thread.

    ``port=0`` picks a free port (read it from ``handle.base_url``). Hosts other than
    loopback addresses (``127.0.0.0/8``, ``::1``, ``localhost``) raise ``ConfigError``:
    the sandbox accepts any credentials it issued and must not be reachable from outside.
    ``emulator.base_url`` is set to the server's URL.
    """
    address, family = _loopback(host)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
    except OSError:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    authority = f"[{address}]:{bound_port}" if family == socket.AF_INET6 else f"{address}:{bound_port}"
    handle = ServerHandle(emulator, sock, f"http://{authority}", max_hold)
    handle._start()
    emulator.base_url = handle.base_url
    return handle


def run_server(
    emulator: Emulator,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve ``emulator`` until SIGINT or SIGTERM (or until ``stop`` is set).

    The first line written to ``out`` (stdout by default, flushed) is one JSON object:
    ``{"base_url", "credentials", "system", "seed", "size"}``, for whoever started us.
    """
    stop = stop or threading.Event()
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        with serve(emulator, host, port) as handle:
            announcement = {
                "base_url": handle.base_url,
                "credentials": emulator.credentials(),
                "system": emulator.system,
                "seed": emulator.seed,
                "size": emulator.size,
            }
            stream = out or sys.stdout
            stream.write(json.dumps(announcement) + "\n")
            stream.flush()
            # Wake up now and then: signal handlers only run between bytecodes.
            while not stop.wait(0.2):
                pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
