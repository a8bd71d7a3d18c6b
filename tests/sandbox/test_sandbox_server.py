"""The loopback server: real sockets, keep-alive, pipelining, faults on the wire, shutdown."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fincon.core.clock import FakeClock
from fincon.errors import ConfigError
from fincon.sandbox import FaultPlan, ServerHandle, serve
from fincon.testing.reference import ReferenceEmulator

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def emulator() -> ReferenceEmulator:
    return ReferenceEmulator(seed=9, size=1000, clock=FakeClock(), faults=FaultPlan(seed=2))


@pytest.fixture
def server(emulator: ReferenceEmulator) -> Iterator[ServerHandle]:
    with serve(emulator, max_hold=5.0) as handle:
        yield handle


@pytest.fixture
def client(server: ServerHandle, emulator: ReferenceEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {emulator.api_key}"}, timeout=10
    ) as client:
        yield client


def test_a_plain_httpx_client_pages_through_the_reference_emulator(
    server: ServerHandle, client: httpx.Client
) -> None:
    seen: list[str] = []
    url: str | None = f"{server.base_url}/v1/vendors?limit=100"
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        seen.extend(vendor["id"] for vendor in response.json()["data"])
        # Next-links are built from the origin the client used: this server's.
        url = response.links.get("next", {}).get("url")
        if url is not None:
            assert url.startswith(f"{server.base_url}/v1/vendors?")
    assert seen == [f"ven_{number:08d}" for number in range(1, 1001)]
    assert server.stats.requests == 10
    assert server.stats.connections == 1  # keep-alive: one connection for every page


def test_server_answers_like_an_http_server(server: ServerHandle, client: httpx.Client) -> None:
    response = client.get("/v1/me")
    assert response.http_version == "HTTP/1.1"
    assert response.headers["Server"] == "fincon-sandbox"
    assert response.headers["Date"].endswith("GMT")
    assert int(response.headers["Content-Length"]) == len(response.content)
    head = client.head("/v1/me")
    assert head.status_code == 405  # the reference API has no HEAD routes
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.port > 0


def test_writes_over_the_wire(client: httpx.Client, emulator: ReferenceEmulator) -> None:
    created = client.post("/v1/vendors", json={"name": "Wire Co"}, headers={"Idempotency-Key": "w1"})
    assert created.status_code == 200
    replayed = client.post("/v1/vendors", json={"name": "Wire Co"}, headers={"Idempotency-Key": "w1"})
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert client.delete(f"/v1/vendors/{created.json()['id']}").json()["deleted"] is True
    assert emulator.vendors.count() == 1000


def test_stop_closes_the_port_and_leaves_no_thread(emulator: ReferenceEmulator) -> None:
    before = set(threading.enumerate())
    handle = serve(emulator)
    with httpx.Client(base_url=handle.base_url) as client:
        assert client.get("/v1/me").status_code == 401
        handle.stop()
        assert not handle.running
        assert set(threading.enumerate()) <= before
        with pytest.raises(httpx.TransportError):
            client.get("/v1/me")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((handle.host, handle.port), timeout=2).close()
    handle.stop()  # a second stop is harmless


def test_stop_with_a_connection_still_open(emulator: ReferenceEmulator) -> None:
    handle = serve(emulator)
    idle = socket.create_connection((handle.host, handle.port))
    try:
        handle.stop()
        assert not handle.thread.is_alive()
        idle.settimeout(2)
        # The server closed it, or reset it if it was still waiting to be accepted.
        with contextlib.suppress(ConnectionResetError):
            assert idle.recv(100) == b""
    finally:
        idle.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "10.0.0.1", "::", "example.com", "fincon.test"])
def test_non_loopback_hosts_are_refused(emulator: ReferenceEmulator, host: str) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        serve(emulator, host=host)


def test_loopback_names_are_accepted(emulator: ReferenceEmulator) -> None:
    with serve(emulator, host="localhost") as local:
        assert local.base_url.startswith("http://127.0.0.1:")
    with serve(emulator, host="127.0.0.2") as other:
        assert other.base_url.startswith("http://127.0.0.2:")
        assert httpx.get(f"{other.base_url}/v1/me").status_code == 401


def test_ipv6_loopback(emulator: ReferenceEmulator) -> None:
    try:
        handle = serve(emulator, host="::1")
    except OSError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")
    with handle:
        assert handle.base_url.startswith("http://[::1]:")
        assert httpx.get(f"{handle.base_url}/v1/me").status_code == 401


def test_port_in_use_raises(server: ServerHandle, emulator: ReferenceEmulator) -> None:
    with pytest.raises(OSError):
        serve(emulator, port=server.port)


class _SharedReader:
    """One buffered reader for several ``http.client.HTTPResponse`` objects, so that
    pipelined responses are read one after another from the same socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._file = sock.makefile("rb")

    def makefile(self, mode: str) -> _SharedReader:
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def close(self) -> None:
        pass  # HTTPResponse closes its file after each body; the next response needs it


def raw_exchange(server: ServerHandle, data: bytes, responses: int) -> list[tuple[int, bytes]]:
    """Send raw bytes; read ``responses`` responses with http.client, an independent parser."""
    answers: list[tuple[int, bytes]] = []
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(data)
        reader = _SharedReader(sock)
        for _ in range(responses):
            response = http.client.HTTPResponse(reader)  # type: ignore[arg-type]
            response.begin()
            answers.append((response.status, response.read()))
    return answers


def auth(emulator: ReferenceEmulator) -> bytes:
    return f"Authorization: Bearer {emulator.api_key}\r\n".encode()


def test_pipelined_requests_are_answered_in_order(server: ServerHandle, emulator: ReferenceEmulator) -> None:
    requests = b"".join(
        b"GET /v1/vendors/ven_%08d HTTP/1.1\r\nHost: test\r\n" % number + auth(emulator) + b"\r\n"
        for number in (3, 1, 2)
    )
    answers = raw_exchange(server, requests, 3)
    assert [json.loads(body)["id"] for _, body in answers] == ["ven_00000003", "ven_00000001", "ven_00000002"]
    assert server.stats.connections == 1


def test_chunked_request_body(server: ServerHandle, emulator: ReferenceEmulator) -> None:
    body = b'{"name": "Chunked GmbH", "currency": "EUR"}'
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:])
    request = (
        b"POST /v1/vendors HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + auth(emulator)
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + chunked
    )
    ((status, answer),) = raw_exchange(server, request, 1)
    assert status == 200, answer
    assert json.loads(answer)["name"] == "Chunked GmbH"


def test_expect_100_continue(server: ServerHandle, emulator: ReferenceEmulator) -> None:
    body = b'{"name": "Patient Ltd"}'
    head = (
        b"POST /v1/vendors HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + auth(emulator)
        + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(head)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        reply = b""
        while b"Patient Ltd" not in reply:
            reply += sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")


def test_http_1_0_and_connection_close_end_the_connection(server: ServerHandle) -> None:
    for request in (
        b"GET /v1/me HTTP/1.0\r\n\r\n",
        b"GET /v1/me HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    ):
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(request)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 401 ")
        assert b"\r\nConnection: close\r\n" in reply


def test_malformed_request_gets_400_and_a_closed_connection(server: ServerHandle) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")


@pytest.mark.parametrize(
    "head", [b"GET /v1/me HTTP/1.1\r\nHost: bad host[\r\n\r\n", b"GET /v1/me HTTP/1.1\r\n\r\n"]
)
def test_bad_or_missing_host_header_is_a_400(server: ServerHandle, head: bytes) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(head)
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 400 ")


# Faults on the wire -----------------------------------------------------------------------


def test_throttle_and_server_error_over_the_wire(client: httpx.Client, emulator: ReferenceEmulator) -> None:
    emulator.faults.throttle(retry_after=4)
    emulator.faults.server_error(status=502, burst=2)
    throttled = client.get("/v1/vendors")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "4")
    assert [client.get("/v1/vendors").status_code for _ in range(3)] == [502, 502, 200]


def test_drop_before_closes_without_an_answer(client: httpx.Client, emulator: ReferenceEmulator) -> None:
    emulator.faults.drop_before(method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/vendors", json={"name": "Never"})
    assert emulator.vendors.count() == 1000
    assert client.get("/v1/me").status_code == 200  # a new connection works


def test_drop_after_applies_then_closes(client: httpx.Client, emulator: ReferenceEmulator) -> None:
    emulator.faults.drop_after(method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/vendors", json={"name": "Applied"}, headers={"Idempotency-Key": "d1"})
    assert emulator.vendors.count() == 1001
    retry = client.post("/v1/vendors", json={"name": "Applied"}, headers={"Idempotency-Key": "d1"})
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert emulator.vendors.count() == 1001


def test_timeout_holds_the_response_until_the_client_gives_up(
    server: ServerHandle, emulator: ReferenceEmulator
) -> None:
    emulator.faults.timeout()
    with httpx.Client(base_url=server.base_url, timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.get("/v1/me")


def test_timeout_is_bounded_by_max_hold(emulator: ReferenceEmulator) -> None:
    emulator.faults.timeout()
    with (
        serve(emulator, max_hold=0.2) as handle,
        httpx.Client(base_url=handle.base_url, timeout=10) as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/v1/me")
        assert client.get("/v1/me").status_code == 401


@pytest.mark.parametrize("body", ["invalid_json", "xxe", "billion_laughs"])
def test_malformed_body_over_the_wire(client: httpx.Client, emulator: ReferenceEmulator, body: str) -> None:
    emulator.faults.malformed(body=body)  # type: ignore[arg-type]
    response = client.get("/v1/vendors")
    assert response.status_code == 200
    assert response.content == emulator.faults.rules[0].fault.payload()[0]  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_async_client_and_concurrent_connections(
    server: ServerHandle, emulator: ReferenceEmulator
) -> None:
    import anyio

    results: list[int] = []

    async def fetch(client: httpx.AsyncClient, number: int) -> None:
        response = await client.get(f"/v1/bills/bill_{number:08d}")
        results.append(int(response.json()["id"].removeprefix("bill_")))

    async with (
        httpx.AsyncClient(
            base_url=server.base_url, headers={"Authorization": f"Bearer {emulator.api_key}"}
        ) as client,
        anyio.create_task_group() as group,
    ):
        for number in range(1, 41):
            group.start_soon(fetch, client, number)
    assert sorted(results) == list(range(1, 41))


def test_threads_share_the_emulator_safely(server: ServerHandle, emulator: ReferenceEmulator) -> None:
    errors: list[BaseException] = []

    def create(worker: int) -> None:
        try:
            with httpx.Client(
                base_url=server.base_url, headers={"Authorization": f"Bearer {emulator.api_key}"}
            ) as c:
                for number in range(10):
                    assert c.post("/v1/vendors", json={"name": f"T{worker}-{number}"}).status_code == 200
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=create, args=(worker,)) for worker in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert emulator.vendors.count() == 1040
    names = [record.data["name"] for record in emulator.vendors.iter() if record.index >= 1000]
    assert len(set(names)) == 40


# run_server: the process behind `fincon sandbox serve` ------------------------------------

SERVE_SCRIPT = (
    "from fincon.sandbox import run_server\n"
    "from fincon.testing.reference import ReferenceEmulator\n"
    "run_server(ReferenceEmulator(seed=5, size=25), '127.0.0.1', 0)\n"
)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_run_server_announces_itself_then_serves_until_signalled(stop_signal: signal.Signals) -> None:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
    )
    try:
        assert process.stdout is not None
        announcement = json.loads(process.stdout.readline())
        assert list(announcement) == ["base_url", "credentials", "system", "seed", "size"]
        assert announcement["system"] == "reference"
        assert (announcement["seed"], announcement["size"]) == (5, 25)
        assert announcement["base_url"].startswith("http://127.0.0.1:")
        key = announcement["credentials"]["api_key"]
        assert key == ReferenceEmulator(seed=5).api_key
        with httpx.Client(
            base_url=announcement["base_url"], headers={"Authorization": f"Bearer {key}"}
        ) as client:
            body = client.get("/v1/vendors", params={"limit": "100"}).json()
        assert len(body["data"]) == 25
        process.send_signal(stop_signal)
        assert process.wait(timeout=20) == 0
        assert process.stdout.read() == b""  # exactly one line of output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
