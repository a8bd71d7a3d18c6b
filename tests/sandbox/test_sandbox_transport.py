"""SandboxTransport responses behave like ones off the network."""

from __future__ import annotations

import gzip
from collections.abc import Mapping

import httpx
import pytest

from fincon.sandbox import Emulator, Router, SandboxTransport, json_response
from fincon.testing.reference import ReferenceEmulator


class EchoEmulator(Emulator):
    """A minimal emulator: proves the base class and router without the reference API."""

    system = "echo"

    def __init__(self) -> None:
        super().__init__()
        self.router = Router()
        self.router.add("POST", "/echo", self._echo)
        self.router.add("GET", "/gzip", self._gzip)
        self.router.add("GET", "/crash", self._crash)
        self.router.add("GET", "/files/{path:path}", self._file)

    def credentials(self) -> dict[str, str]:
        return {}

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        return self.router.dispatch(request)

    def _echo(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        return httpx.Response(200, content=request.content, headers={"Content-Type": "text/plain"})

    def _gzip(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        body = gzip.compress(b'{"compressed": true}')
        return httpx.Response(200, stream=httpx.ByteStream(body), headers={"Content-Encoding": "gzip"})

    def _crash(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        raise RuntimeError("boom")

    def _file(self, request: httpx.Request, parameters: Mapping[str, str]) -> httpx.Response:
        return json_response({"path": parameters["path"]})


def test_response_is_an_unread_stream_with_length_and_request(client: httpx.Client) -> None:
    with client.stream("GET", "/v1/vendors") as response:
        assert not response.is_stream_consumed
        assert response.request.url.path == "/v1/vendors"
        assert response.http_version == "HTTP/1.1"
        body = b"".join(response.iter_bytes(chunk_size=64))
    assert int(response.headers["Content-Length"]) == len(body)
    assert response.status_code == 200


def test_direct_transport_call_attaches_the_request(reference: ReferenceEmulator) -> None:
    transport = SandboxTransport(reference)
    request = httpx.Request("GET", "https://reference.test/v1/me")
    response = transport.handle_request(request)
    assert response.request is request
    assert response.status_code == 401  # no credentials
    response.read()
    assert response.json()["error"]["type"] == "authentication_error"


@pytest.mark.anyio
async def test_async_stream_is_readable(reference: ReferenceEmulator) -> None:
    async with (
        httpx.AsyncClient(
            transport=SandboxTransport(reference),
            base_url="https://reference.test",
            headers={"Authorization": f"Bearer {reference.api_key}"},
        ) as client,
        client.stream("GET", "/v1/bills") as response,
    ):
        chunks = [chunk async for chunk in response.aiter_bytes()]
    assert int(response.headers["Content-Length"]) == sum(map(len, chunks))


def test_streamed_request_bodies_are_read_first() -> None:
    emulator = EchoEmulator()

    def upload() -> object:
        yield b"part one, "
        yield b"part two"

    with httpx.Client(transport=SandboxTransport(emulator), base_url="https://echo.test") as client:
        response = client.post("/echo", content=upload())  # type: ignore[arg-type]
    assert response.text == "part one, part two"


def test_encoded_bodies_stay_encoded_on_the_wire() -> None:
    with httpx.Client(transport=SandboxTransport(EchoEmulator()), base_url="https://echo.test") as client:
        response = client.get("/gzip")
    assert response.json() == {"compressed": True}  # httpx decoded it, as from a server
    assert int(response.headers["Content-Length"]) == len(gzip.compress(b'{"compressed": true}'))


def test_a_crashing_handler_is_a_500_not_an_exception() -> None:
    emulator = EchoEmulator()
    with httpx.Client(transport=SandboxTransport(emulator), base_url="https://echo.test") as client:
        response = client.get("/crash")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "api_error"


def test_router_paths_and_method_errors() -> None:
    with httpx.Client(transport=SandboxTransport(EchoEmulator()), base_url="https://echo.test") as client:
        assert client.get("/files/a/b/c.txt").json() == {"path": "a/b/c.txt"}
        missing = client.get("/nothing")
        assert missing.status_code == 404
        wrong = client.get("/echo")
        assert wrong.status_code == 405
        assert wrong.headers["Allow"] == "POST"


def test_router_rejects_templates_without_a_leading_slash() -> None:
    with pytest.raises(ValueError, match="starts with"):
        Router().add("GET", "v1/x", lambda request, parameters: httpx.Response(200))


def test_default_base_url_is_a_non_resolvable_origin() -> None:
    assert EchoEmulator().base_url == "https://echo.sandbox.fincon.invalid"
    assert ReferenceEmulator().base_url == "https://reference.sandbox.fincon.invalid"
