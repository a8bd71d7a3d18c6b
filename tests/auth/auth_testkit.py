"""A fake OAuth server and a call driver shared by the auth tests (imported, not collected)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx

from fincon.auth import AuthStrategy
from fincon.core.flow import Flow, Send

TOKEN_URL = "https://auth.example.com/oauth/token"
API_URL = "https://api.example.com/v1/vendors"


class FakeOAuthServer:
    """Issues numbered tokens at TOKEN_URL and accepts only the latest at API_URL.

    ``token_responses`` (if given) are returned in order by the token endpoint instead.
    ``on_token`` runs inside the token handler (to hold a fetch open in concurrency tests).
    """

    def __init__(
        self,
        *,
        expires_in: Any = 3600,
        token_responses: list[httpx.Response] | None = None,
        on_token: Callable[[], None] | None = None,
    ) -> None:
        self.expires_in = expires_in
        self.token_responses = list(token_responses or [])
        self.on_token = on_token
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        self.valid: set[str] = set()
        self.reject_all = False
        self._lock = threading.Lock()

    @property
    def token_calls(self) -> int:
        return len(self.token_requests)

    def forms(self) -> list[dict[str, str]]:
        return [dict(parse_qsl(r.content.decode())) for r in self.token_requests]

    def revoke_all(self) -> None:
        with self._lock:
            self.valid.clear()

    def _issue(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.token_requests.append(request)
            number = len(self.token_requests)
            if self.token_responses:
                return self.token_responses.pop(0)
            token = f"access-{number:04d}-xyz"
            self.valid = {token}
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return httpx.Response(200, json=body)

    def _api(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.api_requests.append(request)
            header = request.headers.get("authorization", "")
            ok = not self.reject_all and header.startswith("Bearer ") and header[7:] in self.valid
        if ok:
            return httpx.Response(200, json={"data": []})
        return httpx.Response(401, json={"error": "invalid_token"})

    def handler(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            if self.on_token is not None:
                self.on_token()
            return self._issue(request)
        return self._api(request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        return self.handler(request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


def call(auth: AuthStrategy, url: str = API_URL) -> Flow[httpx.Response]:
    """One call the way the transport makes it: authorise, send, and after a 401 refresh
    once and retry once with a new request."""
    request = httpx.Request("GET", url)
    yield from auth.auth_flow(request)
    response: httpx.Response = yield Send(request)
    if response.status_code == 401 and (yield from auth.refresh_flow(request, response)):
        retry = httpx.Request("GET", url)
        yield from auth.auth_flow(retry)
        response = yield Send(retry)
    return response


def token_json(**fields: Any) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(fields).encode())
