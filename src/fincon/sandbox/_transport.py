"""An httpx transport (sync and async) that answers from an emulator, with its faults."""

from __future__ import annotations

import httpx

from fincon.sandbox._emulator import Emulator
from fincon.sandbox._faults import DropAfterFault, DropBeforeFault, ResponseFault, TimeoutFault
from fincon.sandbox._responses import response_body

__all__ = ["SandboxTransport"]


class SandboxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Send requests to ``emulator`` in process: no sockets, no waiting.

    Each request first meets ``emulator.faults``: a dropped connection or a timeout is
    raised as the httpx exception a network would give; a throttle, 5xx or malformed body
    is answered without reaching the emulator. Responses are fresh, unread streams with
    ``Content-Length`` and the request attached, like ones from the network.

    Works with ``httpx.Client(transport=...)`` and ``httpx.AsyncClient(transport=...)``.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def __repr__(self) -> str:
        return f"SandboxTransport({self.emulator!r})"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._exchange(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._exchange(request)

    def _exchange(self, request: httpx.Request) -> httpx.Response:
        emulator = self.emulator
        fault = emulator.faults.pick(request)
        if fault is None:
            return _as_received(emulator.respond(request), request)
        if isinstance(fault, DropBeforeFault):
            raise httpx.ConnectError(
                "Connection dropped before the request was sent (injected by the sandbox).", request=request
            )
        if isinstance(fault, TimeoutFault):
            if fault.applied:
                emulator.respond(request)
            raise httpx.ReadTimeout(
                "Timed out waiting for the response (injected by the sandbox).", request=request
            )
        if isinstance(fault, DropAfterFault):
            emulator.respond(request)
            message = "Server disconnected without sending a response (injected by the sandbox)."
            if fault.error == "read":
                raise httpx.ReadError(message, request=request)
            raise httpx.RemoteProtocolError(message, request=request)
        if isinstance(fault, ResponseFault):
            return _as_received(emulator.fault_response(fault, request), request)
        raise TypeError(f"the sandbox transport cannot inject {fault!r}")


def _as_received(response: httpx.Response, request: httpx.Request) -> httpx.Response:
    """A copy of ``response`` as a client would receive it off the wire: unread, with
    the raw (still encoded) body and an exact ``Content-Length``."""
    body = response_body(response)
    headers = [
        (name, value)
        for name, value in response.headers.raw
        if name.lower() not in (b"content-length", b"transfer-encoding")
    ]
    headers.append((b"Content-Length", str(len(body)).encode()))
    return httpx.Response(
        response.status_code,
        headers=headers,
        stream=httpx.ByteStream(body),
        request=request,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason_phrase.encode()},
    )
