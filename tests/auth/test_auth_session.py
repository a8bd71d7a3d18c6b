"""SessionAuth: one shared login, early and after-expiry re-login, endpoint moves, and a
body-embedded session id, shown with a small system modelled on Intacct and Bill.com."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from fincon.auth import Session, SessionAuth, replace_content, validate_secret
from fincon.core.clock import FakeClock
from fincon.core.flow import Flow, Send, run_async, run_sync
from fincon.errors import AuthError, ConfigError

BASE = "https://api.example.com/v2"


class DemoSession(SessionAuth):
    """Logs in with a user name and password; sends the session id in a header."""

    endpoint_hosts = ("example.com",)

    def __init__(self, user: str, password: str | SecretStr, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user = user
        self._password = validate_secret(password, "password", owner="DemoSession")

    def login_flow(self) -> Flow[Session]:
        response = yield Send(
            httpx.Request(
                "POST",
                f"{BASE}/login",
                json={"user": self.user, "password": self._password.get_secret_value()},
            )
        )
        if response.status_code != 200:
            raise AuthError("DemoSession: the login was refused", status=response.status_code)
        body = response.json()
        expires = self.clock.now() + timedelta(seconds=body["ttl"]) if "ttl" in body else None
        return Session(id=body["sessionId"], expires_at=expires, endpoint=body.get("endpoint"))

    def apply(self, request: httpx.Request, session: Session) -> None:
        request.headers["X-Session"] = session.id

    def is_session_expired(self, response: httpx.Response) -> bool:
        # Like Intacct: an HTTP 200 whose body says the session is gone.
        return response.status_code == 401 or b"SESSION_EXPIRED" in response.content

    def credential_values(self) -> Iterable[str]:
        return [self._password.get_secret_value()]


class SessionServer:
    def __init__(self, *, ttl: int | None = 1800, endpoint: str | None = None) -> None:
        self.ttl = ttl
        self.endpoint = endpoint
        self.logins = 0
        self.live: set[str] = set()
        self.api_requests: list[httpx.Request] = []
        self.expired_style = "401"
        self.on_login: Any = None
        self._lock = threading.Lock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/login"):
            if self.on_login is not None:
                self.on_login()
            with self._lock:
                self.logins += 1
                session = f"sess-{self.logins:04d}-abcdef"
                self.live = {session}
            body: dict[str, Any] = {"sessionId": session}
            if self.ttl is not None:
                body["ttl"] = self.ttl
            if self.endpoint is not None:
                body["endpoint"] = self.endpoint
            return httpx.Response(200, json=body)
        with self._lock:
            self.api_requests.append(request)
            ok = request.headers.get("x-session") in self.live
        if ok:
            return httpx.Response(200, json={"ok": True})
        if self.expired_style == "body":
            return httpx.Response(200, text="<error>SESSION_EXPIRED</error>")
        return httpx.Response(401)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


def call(auth: SessionAuth, url: str = f"{BASE}/items?page=1") -> Flow[httpx.Response]:
    request = httpx.Request("GET", url)
    yield from auth.auth_flow(request)
    response: httpx.Response = yield Send(request)
    if (response.status_code == 401 or b"SESSION_EXPIRED" in response.content) and (
        yield from auth.refresh_flow(request, response)
    ):
        retry = httpx.Request("GET", url)
        yield from auth.auth_flow(retry)
        response = yield Send(retry)
    return response


def demo(clock: FakeClock, **kwargs: Any) -> DemoSession:
    auth = DemoSession("alice", "pa55word-xyz", **kwargs)
    auth.bind(clock=clock, base_url=BASE)
    return auth


def test_logs_in_once_and_reuses_the_session(clock: FakeClock) -> None:
    server = SessionServer()
    auth = demo(clock)
    with server.client() as client:
        for _ in range(3):
            assert run_sync(call(auth), client).status_code == 200
    assert server.logins == 1
    assert auth.logins == 1
    assert {r.headers["x-session"] for r in server.api_requests} == {"sess-0001-abcdef"}


def test_logs_in_again_before_the_session_expires(clock: FakeClock) -> None:
    server = SessionServer(ttl=1800)
    auth = demo(clock, early=120)
    with server.client() as client:
        run_sync(call(auth), client)
        clock.advance(1800 - 121)
        run_sync(call(auth), client)
        assert server.logins == 1
        clock.advance(2)
        run_sync(call(auth), client)
    assert server.logins == 2


@pytest.mark.parametrize("style", ["401", "body"])
def test_an_expired_session_answer_leads_to_exactly_one_relogin(clock: FakeClock, style: str) -> None:
    server = SessionServer(ttl=None)
    server.expired_style = style
    auth = demo(clock)
    with server.client() as client:
        run_sync(call(auth), client)
        server.live.clear()  # the server dropped the session early
        assert run_sync(call(auth), client).status_code == 200
    assert server.logins == 2
    assert server.api_requests[-1].headers["x-session"] == "sess-0002-abcdef"


def test_other_errors_do_not_trigger_a_login(clock: FakeClock) -> None:
    server = SessionServer()
    auth = demo(clock)
    with server.client() as client:
        request = httpx.Request("GET", f"{BASE}/items")
        run_sync(auth.auth_flow(request), client)
        assert run_sync(auth.refresh_flow(request, httpx.Response(500)), client) is False
    assert server.logins == 1


def test_a_stale_session_already_replaced_is_not_replaced_again(clock: FakeClock) -> None:
    server = SessionServer(ttl=None)
    auth = demo(clock)
    with server.client() as client:
        first = httpx.Request("GET", f"{BASE}/a")
        second = httpx.Request("GET", f"{BASE}/b")
        run_sync(auth.auth_flow(first), client)
        run_sync(auth.auth_flow(second), client)
        # Both requests were refused with the same expired session: one re-login in all.
        assert run_sync(auth.refresh_flow(first, httpx.Response(401)), client) is True
        assert run_sync(auth.refresh_flow(second, httpx.Response(401)), client) is True
    assert server.logins == 2


def test_twenty_threads_share_one_login(clock: FakeClock) -> None:
    workers = 20
    entered = threading.Semaphore(0)
    first = threading.Lock()
    server = SessionServer()

    def hold() -> None:
        if first.acquire(blocking=False):
            for _ in range(workers):
                assert entered.acquire(timeout=10)

    server.on_login = hold
    auth = demo(clock)

    def counted():  # type: ignore[no-untyped-def]
        entered.release()
        return (yield from call(auth))

    statuses: list[int] = []
    with server.client() as client:
        threads = [
            threading.Thread(target=lambda: statuses.append(run_sync(counted(), client).status_code))
            for _ in range(workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert statuses == [200] * workers
    assert server.logins == 1


@pytest.mark.anyio
async def test_twenty_tasks_share_one_login(clock: FakeClock) -> None:
    workers = 20
    entered = 0
    ready = asyncio.Event()
    server = SessionServer()
    auth = demo(clock)

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/login"):
            await asyncio.wait_for(ready.wait(), timeout=10)
        return server.handler(request)

    def counted():  # type: ignore[no-untyped-def]
        nonlocal entered
        entered += 1
        if entered == workers:
            ready.set()
        return (yield from call(auth))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        responses = await asyncio.gather(*(run_async(counted(), client) for _ in range(workers)))
    assert [r.status_code for r in responses] == [200] * workers
    assert server.logins == 1


def test_a_session_endpoint_moves_requests_to_it(clock: FakeClock) -> None:
    server = SessionServer(endpoint="https://eu1.api.example.com/v2")
    auth = demo(clock)
    with server.client() as client:
        run_sync(call(auth), client)
    sent = server.api_requests[0]
    assert str(sent.url) == "https://eu1.api.example.com/v2/items?page=1"
    assert sent.headers["host"] == "eu1.api.example.com"
    assert auth.session is not None
    assert auth.session.endpoint == "https://eu1.api.example.com/v2"


def test_requests_outside_the_base_url_are_not_moved(clock: FakeClock) -> None:
    server = SessionServer(endpoint="https://eu1.api.example.com/v2")
    auth = demo(clock)
    with server.client() as client:
        run_sync(call(auth, "https://files.example.com/export.csv"), client)
    assert str(server.api_requests[0].url) == "https://files.example.com/export.csv"


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [("https://api.attacker.net/v2", "not an allowed host"), ("http://eu1.api.example.com", "http://")],
)
def test_a_session_endpoint_must_be_https_on_an_allowed_host(
    clock: FakeClock, endpoint: str, message: str
) -> None:
    server = SessionServer(endpoint=endpoint)
    auth = demo(clock)
    with server.client() as client, pytest.raises(ConfigError, match=message):
        run_sync(call(auth), client)
    assert server.api_requests == []  # nothing was sent with the session


class BodySession(SessionAuth):
    """Like Intacct: the session id travels inside the XML body."""

    def login_flow(self) -> Flow[Session]:
        yield from ()
        return Session(id="sess-in-body-123456")

    def apply(self, request: httpx.Request, session: Session) -> None:
        replace_content(request, request.content.replace(b"{session}", session.id.encode()))


def test_replace_content_puts_the_session_in_the_body(clock: FakeClock) -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.read())
        assert request.headers["content-length"] == str(len(seen[-1]))
        return httpx.Response(200)

    auth = BodySession()
    auth.bind(clock=clock)
    request = httpx.Request("POST", f"{BASE}/xml", content=b"<sessionid>{session}</sessionid>")
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        run_sync(auth.auth_flow(request), client)
        client.send(request)
    assert seen == [b"<sessionid>sess-in-body-123456</sessionid>"]


class NoIdSession(BodySession):
    def login_flow(self) -> Flow[Session]:
        yield from ()
        return Session(id="")


def test_a_login_without_a_session_id_is_an_auth_error(clock: FakeClock) -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    with client, pytest.raises(AuthError, match="no session id"):
        run_sync(NoIdSession().auth_flow(httpx.Request("GET", BASE)), client)


def test_repr_and_secret_values(clock: FakeClock) -> None:
    server = SessionServer()
    auth = demo(clock)
    assert repr(auth) == "DemoSession()"
    assert list(auth.secret_values()) == ["pa55word-xyz"]
    with server.client() as client:
        run_sync(call(auth), client)
    assert set(auth.secret_values()) == {"pa55word-xyz", "sess-0001-abcdef"}
    assert "sess-0001-abcdef" not in repr(auth.session)
