"""OAuth2ClientCredentials: fetching, caching, early refresh, 401 handling, strict parsing,
and one fetch however many threads or tasks need the token."""

from __future__ import annotations

import asyncio
import base64
import threading
from urllib.parse import parse_qsl

import httpx
import pytest
from auth_testkit import API_URL, TOKEN_URL, FakeOAuthServer, call, token_json

from fincon.auth import OAuth2ClientCredentials
from fincon.core.clock import FakeClock
from fincon.core.flow import run_async, run_sync
from fincon.errors import AuthError, ConfigError, TransportError, ValidationError


def strategy(clock: FakeClock, **kwargs: object) -> OAuth2ClientCredentials:
    options: dict[str, object] = {
        "client_id": "client-abc",
        "client_secret": "s3cret-value",
        "token_url": TOKEN_URL,
    }
    options.update(kwargs)
    auth = OAuth2ClientCredentials(**options)  # type: ignore[arg-type]
    auth.bind(clock=clock)
    return auth


def test_fetches_a_token_once_and_reuses_it(clock: FakeClock) -> None:
    server = FakeOAuthServer()
    auth = strategy(clock, scope="read write", audience="https://api.example.com")
    with server.client() as client:
        for _ in range(3):
            assert run_sync(call(auth), client).status_code == 200
    assert server.token_calls == 1
    form = server.forms()[0]
    assert form == {
        "grant_type": "client_credentials",
        "scope": "read write",
        "audience": "https://api.example.com",
        "client_id": "client-abc",
        "client_secret": "s3cret-value",
    }
    token_request = server.token_requests[0]
    assert token_request.method == "POST"
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert [r.headers["authorization"] for r in server.api_requests] == ["Bearer access-0001-xyz"] * 3


def test_client_secret_basic_sends_the_form_encoded_pair_in_a_header(clock: FakeClock) -> None:
    server = FakeOAuthServer()
    auth = strategy(
        clock, client_id="id with space", client_secret="p@ss:word+", auth_method="client_secret_basic"
    )
    with server.client() as client:
        run_sync(call(auth), client)
    request = server.token_requests[0]
    assert "client_secret" not in server.forms()[0]
    scheme, _, encoded = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    # RFC 6749 section 2.3.1: each part form-encoded, then joined with ':'.
    assert base64.b64decode(encoded).decode() == "id+with+space:p%40ss%3Aword%2B"


def test_extra_params_are_sent_but_cannot_override_the_grant(clock: FakeClock) -> None:
    server = FakeOAuthServer()
    auth = strategy(clock, extra_params={"resource": "https://erp.example.com"})
    with server.client() as client:
        run_sync(call(auth), client)
    assert server.forms()[0]["resource"] == "https://erp.example.com"
    with pytest.raises(ConfigError, match="grant_type"):
        strategy(clock, extra_params={"grant_type": "password"})


def test_renews_early_before_expiry_and_not_before(clock: FakeClock) -> None:
    server = FakeOAuthServer(expires_in=3600)
    auth = strategy(clock)
    with server.client() as client:
        run_sync(call(auth), client)
        clock.advance(3600 - 61)  # 61 s left: outside the 60 s margin
        run_sync(call(auth), client)
        assert server.token_calls == 1
        clock.advance(2)  # 59 s left: renew now, before the server would refuse it
        run_sync(call(auth), client)
        assert server.token_calls == 2
    assert server.api_requests[-1].headers["authorization"] == "Bearer access-0002-xyz"


def test_short_lived_tokens_renew_in_their_last_tenth(clock: FakeClock) -> None:
    server = FakeOAuthServer(expires_in="100")  # a numeric string, as some servers send
    auth = strategy(clock)
    with server.client() as client:
        run_sync(call(auth), client)
        clock.advance(89)
        run_sync(call(auth), client)
        assert server.token_calls == 1
        clock.advance(2)
        run_sync(call(auth), client)
        assert server.token_calls == 2


def test_a_401_renews_once_and_the_retry_uses_the_new_token(clock: FakeClock) -> None:
    server = FakeOAuthServer()
    auth = strategy(clock)
    with server.client() as client:
        run_sync(call(auth), client)
        server.revoke_all()  # the server forgot the token before it expired
        response = run_sync(call(auth), client)
    assert response.status_code == 200
    assert server.token_calls == 2
    assert [r.headers["authorization"] for r in server.api_requests] == [
        "Bearer access-0001-xyz",
        "Bearer access-0001-xyz",
        "Bearer access-0002-xyz",
    ]


def test_a_second_401_is_returned_not_refreshed_again(clock: FakeClock) -> None:
    server = FakeOAuthServer()
    server.reject_all = True
    auth = strategy(clock)
    with server.client() as client:
        response = run_sync(call(auth), client)
    assert response.status_code == 401
    assert server.token_calls == 2  # the first token, then exactly one renewal
    assert len(server.api_requests) == 2


def test_a_401_with_a_token_already_replaced_does_not_fetch_again(clock: FakeClock) -> None:
    server = FakeOAuthServer()
    auth = strategy(clock)
    with server.client() as client:
        old = httpx.Request("GET", API_URL)
        run_sync(auth.auth_flow(old), client)
        rejected = httpx.Response(401, request=old)
        assert run_sync(auth.refresh_flow(old, rejected), client) is True
        assert server.token_calls == 2
        # Another request refused with the same old token: the new one is reused.
        assert run_sync(auth.refresh_flow(old, rejected), client) is True
        assert server.token_calls == 2


def test_the_real_transport_refreshes_once_after_a_401(clock: FakeClock) -> None:
    from fincon.core.breaker import CircuitBreaker
    from fincon.core.ratelimit import Limits
    from fincon.core.retry import RetryEngine, RetryPolicy
    from fincon.core.transport import Call, Requestor

    server = FakeOAuthServer()
    auth = strategy(clock)
    requestor = Requestor(
        system="example",
        base_url="https://api.example.com",
        clock=clock,
        retry=RetryEngine(RetryPolicy(max_attempts=1), clock),
        limits=Limits(None, clock),
        breaker=CircuitBreaker(clock=clock),
        auth=auth,
    )
    with server.client() as client:
        run_sync(requestor.call(Call("GET", "/v1/vendors")), client, clock=clock)
        server.revoke_all()
        response = run_sync(requestor.call(Call("GET", "/v1/vendors")), client, clock=clock)
        assert response.status_code == 200
        assert server.token_calls == 2
        server.reject_all = True
        with pytest.raises(AuthError):
            run_sync(requestor.call(Call("GET", "/v1/vendors")), client, clock=clock)
    assert server.token_calls == 3  # one renewal for the failing call, not a loop


def test_twenty_threads_share_one_fetch(clock: FakeClock) -> None:
    entered = threading.Semaphore(0)
    workers = 20
    first = threading.Lock()

    def hold_fetch_open() -> None:
        # Keep the first fetch in flight until every worker has asked for a token.
        if not first.acquire(blocking=False):
            return
        for _ in range(workers):
            assert entered.acquire(timeout=10)

    server = FakeOAuthServer(on_token=hold_fetch_open)
    auth = strategy(clock)

    def counted():  # type: ignore[no-untyped-def]
        entered.release()
        return (yield from call(auth))

    results: list[int] = []
    errors: list[BaseException] = []

    def work(client: httpx.Client) -> None:
        try:
            results.append(run_sync(counted(), client).status_code)
        except BaseException as exc:
            errors.append(exc)

    with server.client() as client:
        threads = [threading.Thread(target=work, args=(client,)) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors
    assert results == [200] * workers
    assert server.token_calls == 1


@pytest.mark.anyio
async def test_twenty_tasks_share_one_fetch(clock: FakeClock) -> None:
    workers = 20
    entered = 0
    everyone_waiting = asyncio.Event()
    server = FakeOAuthServer()
    auth = strategy(clock)

    async def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            await asyncio.wait_for(everyone_waiting.wait(), timeout=10)
        return server.handler(request)

    def counted():  # type: ignore[no-untyped-def]
        nonlocal entered
        entered += 1
        if entered == workers:
            everyone_waiting.set()
        return (yield from call(auth))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        statuses = await asyncio.gather(*(run_async(counted(), client) for _ in range(workers)))
    assert [r.status_code for r in statuses] == [200] * workers
    assert server.token_calls == 1


@pytest.mark.anyio
async def test_async_driver_uses_the_same_flow(clock: FakeClock) -> None:
    server = FakeOAuthServer()
    auth = strategy(clock)
    async with httpx.AsyncClient(transport=httpx.MockTransport(server.async_handler)) as client:
        assert (await run_async(call(auth), client)).status_code == 200
        server.revoke_all()
        assert (await run_async(call(auth), client)).status_code == 200
    assert server.token_calls == 2


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (
            httpx.Response(400, json={"error": "invalid_client", "error_description": "bad client"}),
            "invalid_client",
        ),
        (httpx.Response(401, json={"error": "unauthorized_client"}), "unauthorized_client"),
        (httpx.Response(200, json={"error": "invalid_scope"}), "invalid_scope"),
    ],
)
def test_oauth_error_bodies_become_auth_errors_naming_host_and_code(
    clock: FakeClock, response: httpx.Response, code: str
) -> None:
    server = FakeOAuthServer(token_responses=[response])
    auth = strategy(clock)
    with server.client() as client, pytest.raises(AuthError) as info:
        run_sync(call(auth), client)
    error = info.value
    assert error.code == code
    assert "auth.example.com" in str(error)
    assert code in str(error)
    assert error.details["token_endpoint"] == "auth.example.com"
    assert not error.retryable


def test_an_error_description_echoing_the_secret_is_masked(clock: FakeClock) -> None:
    echo = httpx.Response(
        400, json={"error": "invalid_client", "error_description": "secret s3cret-value is wrong"}
    )
    server = FakeOAuthServer(token_responses=[echo])
    with server.client() as client, pytest.raises(AuthError) as info:
        run_sync(call(strategy(clock)), client)
    assert "s3cret-value" not in str(info.value)
    assert "s3cret-value" not in repr(info.value)
    assert "s3cret-value" not in repr(info.value.details)
    assert "***" in str(info.value)


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (httpx.Response(502, text="<html>Bad gateway</html>"), "not JSON"),
        (httpx.Response(200, text="access_token=abc"), "not JSON"),
        (httpx.Response(200, json=["a"]), "not an object"),
        (token_json(token_type="Bearer"), "access_token"),
        (token_json(access_token="", token_type="Bearer"), "access_token"),
        (token_json(access_token="has space", token_type="Bearer"), "access_token"),
        (token_json(access_token="tok-abcdef"), "token_type"),
        (token_json(access_token="tok-abcdef", token_type="mac"), "token_type"),
        (token_json(access_token="tok-abcdef", token_type="Bearer", expires_in="soon"), "expires_in"),
        (token_json(access_token="tok-abcdef", token_type="Bearer", expires_in=-5), "expires_in"),
        (token_json(access_token="tok-abcdef", token_type="Bearer", expires_in=True), "expires_in"),
        (token_json(access_token="tok-abcdef", token_type="Bearer", refresh_token=7), "refresh_token"),
        (token_json(access_token="tok-abcdef", token_type="Bearer", scope=["a"]), "scope"),
    ],
)
def test_malformed_token_responses_are_auth_errors(
    clock: FakeClock, response: httpx.Response, fragment: str
) -> None:
    server = FakeOAuthServer(token_responses=[response])
    with server.client() as client, pytest.raises(AuthError, match=fragment) as info:
        run_sync(call(strategy(clock)), client)
    assert "auth.example.com" in str(info.value)
    # The decoder's exception (which holds the body) must not ride along, even hidden.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_server_failures_at_the_token_endpoint_are_retryable(clock: FakeClock) -> None:
    server = FakeOAuthServer(token_responses=[httpx.Response(503, text="down")])
    with server.client() as client, pytest.raises(AuthError) as info:
        run_sync(call(strategy(clock)), client)
    assert info.value.retryable
    assert info.value.status == 503


def test_a_transport_failure_during_the_fetch_propagates_and_releases_the_lock(clock: FakeClock) -> None:
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise httpx.ConnectError("refused", request=request)
        return FakeOAuthServer().handler(request)

    auth = strategy(clock)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TransportError):
            run_sync(call(auth), client)
        # Had the lock stayed held, this would hang (the test would time out).
        run_sync(auth.auth_flow(httpx.Request("GET", API_URL)), client)
    assert auth.token is not None


def test_token_expiry_is_counted_from_before_the_request(clock: FakeClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        clock.advance(5)  # a slow token endpoint
        return httpx.Response(
            200, json={"access_token": "tok-abcdef", "token_type": "bearer", "expires_in": 600}
        )

    auth = strategy(clock)
    start = clock.now()
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        run_sync(auth.auth_flow(httpx.Request("GET", API_URL)), client)
    assert auth.token is not None
    assert auth.token.expires_at is not None
    assert (auth.token.expires_at - start).total_seconds() == 600


def test_a_relative_token_url_resolves_against_the_bound_base_url(clock: FakeClock) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"access_token": "tok-abcdef", "token_type": "Bearer"})

    auth = OAuth2ClientCredentials("client-abc", "s3cret-value", "/oauth2/token")
    with (
        pytest.raises(ConfigError, match="base URL"),
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
    ):
        run_sync(auth.auth_flow(httpx.Request("GET", API_URL)), client)
    auth.bind(clock=clock, base_url="http://127.0.0.1:8123/api/")
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        run_sync(auth.auth_flow(httpx.Request("GET", API_URL)), client)
    assert seen == ["http://127.0.0.1:8123/api/oauth2/token"]
    assert (
        repr(auth)
        == "OAuth2ClientCredentials(client_id='client-abc', token_url='http://127.0.0.1:8123/api/oauth2/token')"
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"client_id": ""}, ValidationError, "client_id"),
        ({"client_secret": ""}, ValidationError, "client_secret"),
        ({"client_secret": "trailing-newline\n"}, ValidationError, "client_secret"),
        ({"token_url": ""}, ValidationError, "token_url"),
        ({"token_url": "http://auth.example.com/token"}, ConfigError, "token_url"),
        ({"token_url": "https://user:pw@auth.example.com/token"}, ConfigError, "token_url"),
        ({"auth_method": "private_key_jwt"}, ConfigError, "auth_method"),
    ],
)
def test_invalid_settings_are_refused_naming_the_field(
    clock: FakeClock, kwargs: dict[str, object], error: type[Exception], field: str
) -> None:
    with pytest.raises(error, match=field):
        strategy(clock, **kwargs)


def test_repr_and_secret_values(clock: FakeClock) -> None:
    server = FakeOAuthServer()
    auth = strategy(clock)
    assert repr(auth) == f"OAuth2ClientCredentials(client_id='client-abc', token_url='{TOKEN_URL}')"
    assert set(auth.secret_values()) == {"s3cret-value"}
    with server.client() as client:
        run_sync(call(auth), client)
    assert set(auth.secret_values()) == {"s3cret-value", "access-0001-xyz"}
    assert "access-0001-xyz" not in repr(auth.token)


def test_form_values_are_url_encoded(clock: FakeClock) -> None:
    server = FakeOAuthServer()
    auth = strategy(clock, client_secret="a&b=c+d %")
    with server.client() as client:
        run_sync(call(auth), client)
    body = server.token_requests[0].content.decode()
    assert dict(parse_qsl(body))["client_secret"] == "a&b=c+d %"


@pytest.mark.anyio
async def test_a_task_cancelled_mid_fetch_releases_the_lock(clock: FakeClock) -> None:
    started = asyncio.Event()
    server = FakeOAuthServer()
    hang = True

    async def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL and hang:
            started.set()
            await asyncio.Event().wait()  # never answers
        return server.handler(request)

    auth = strategy(clock)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        stuck = asyncio.ensure_future(run_async(call(auth), client))
        await asyncio.wait_for(started.wait(), timeout=10)
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        hang = False
        response = await asyncio.wait_for(run_async(call(auth), client), timeout=10)
    assert response.status_code == 200
