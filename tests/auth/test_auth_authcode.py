"""OAuth2AuthorizationCode: refresh, rotation persisted through token_store, invalid_grant,
and the helpers that obtain the first tokens (authorisation URL with PKCE, code exchange)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from auth_testkit import TOKEN_URL, call

from fincon.auth import (
    FileTokenStore,
    OAuth2AuthorizationCode,
    Token,
    aexchange_code,
    authorization_request,
    exchange_code,
    parse_callback,
)
from fincon.core.clock import FakeClock
from fincon.core.flow import run_sync
from fincon.errors import AuthError, ValidationError


class RotatingServer:
    """Each refresh returns a new access token and, if ``rotate``, a new refresh token;
    a refresh token works once (as with rotation-detecting servers)."""

    def __init__(self, *, rotate: bool = True, first_refresh: str = "rt-0000-initial") -> None:
        self.rotate = rotate
        self.live_refresh = {first_refresh}
        self.forms: list[dict[str, str]] = []
        self.access = ""

    def handler(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) != TOKEN_URL:
            ok = request.headers.get("authorization") == f"Bearer {self.access}"
            return httpx.Response(200 if ok else 401)
        form = dict(parse_qsl(request.content.decode()))
        self.forms.append(form)
        presented = form.get("refresh_token", "")
        if presented not in self.live_refresh:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "token reused"})
        n = len(self.forms)
        self.access = f"at-{n:04d}-abcdef"
        body = {"access_token": self.access, "token_type": "Bearer", "expires_in": 3600}
        if self.rotate:
            self.live_refresh = {f"rt-{n:04d}-rotated"}
            body["refresh_token"] = f"rt-{n:04d}-rotated"
        return httpx.Response(200, json=body)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


class MemoryStore:
    def __init__(self, loaded: Token | None = None) -> None:
        self.saved: list[Token] = []
        self.loaded = loaded

    def save(self, token: Token) -> None:
        self.saved.append(token)

    def load(self) -> Token | None:
        return self.loaded


def make(clock: FakeClock, **kwargs: object) -> OAuth2AuthorizationCode:
    options: dict[str, object] = {
        "client_id": "app-123",
        "client_secret": "app-secret-xyz",
        "token_url": TOKEN_URL,
        "refresh_token": "rt-0000-initial",
    }
    options.update(kwargs)
    auth = OAuth2AuthorizationCode(**options)  # type: ignore[arg-type]
    auth.bind(clock=clock)
    return auth


def test_refreshes_with_the_refresh_token_and_persists_each_rotation(clock: FakeClock) -> None:
    server = RotatingServer()
    saved: list[Token] = []
    auth = make(clock, token_store=saved.append)
    with server.client() as client:
        assert run_sync(call(auth), client).status_code == 200
        clock.advance(3600)
        assert run_sync(call(auth), client).status_code == 200
    assert [f["refresh_token"] for f in server.forms] == ["rt-0000-initial", "rt-0001-rotated"]
    assert all(f["grant_type"] == "refresh_token" and f["client_id"] == "app-123" for f in server.forms)
    assert [(t.value, t.refresh_token) for t in saved] == [
        ("at-0001-abcdef", "rt-0001-rotated"),
        ("at-0002-abcdef", "rt-0002-rotated"),
    ]
    assert saved[-1].expires_at == clock.now() + timedelta(seconds=3600)
    assert "rt-0002-rotated" in set(auth.secret_values())
    assert "rt-0000-initial" not in set(auth.secret_values())


def test_without_rotation_the_old_refresh_token_is_kept(clock: FakeClock) -> None:
    server = RotatingServer(rotate=False)
    store = MemoryStore()
    auth = make(clock, token_store=store)
    with server.client() as client:
        run_sync(call(auth), client)
        clock.advance(3600)
        run_sync(call(auth), client)
    assert [f["refresh_token"] for f in server.forms] == ["rt-0000-initial", "rt-0000-initial"]
    assert [t.refresh_token for t in store.saved] == ["rt-0000-initial", "rt-0000-initial"]


def test_a_stored_token_wins_over_the_constructor_arguments(clock: FakeClock) -> None:
    server = RotatingServer(first_refresh="rt-0007-stored")
    stored = Token(value="", refresh_token="rt-0007-stored")
    auth = make(clock, refresh_token="rt-0000-stale-from-env", token_store=MemoryStore(stored))
    with server.client() as client:
        assert run_sync(call(auth), client).status_code == 200
    assert server.forms[0]["refresh_token"] == "rt-0007-stored"


def test_a_seeded_access_token_is_used_until_it_expires(clock: FakeClock) -> None:
    server = RotatingServer()
    server.access = "at-seeded-123456"
    auth = make(clock, access_token="at-seeded-123456", expires_at=clock.now() + timedelta(seconds=600))
    with server.client() as client:
        run_sync(call(auth), client)
        assert server.forms == []
        clock.advance(600)
        run_sync(call(auth), client)
    assert len(server.forms) == 1


def test_invalid_grant_tells_the_user_to_reauthorise(clock: FakeClock) -> None:
    server = RotatingServer(first_refresh="rt-something-else")
    auth = make(clock)
    with server.client() as client, pytest.raises(AuthError) as info:
        run_sync(call(auth), client)
    error = info.value
    assert error.code == "invalid_grant"
    assert not error.retryable
    assert "re-authorise" in str(error).lower()
    assert "auth.example.com" in str(error)
    assert "rt-0000-initial" not in str(error)


def test_a_failing_store_raises_and_keeps_the_rotated_token_in_memory(clock: FakeClock) -> None:
    server = RotatingServer()
    attempts: list[Token] = []

    def flaky_save(token: Token) -> None:
        attempts.append(token)
        if len(attempts) == 1:
            raise OSError(f"disk full while writing {token.refresh_token}")

    auth = make(clock, token_store=flaky_save)
    with server.client() as client:
        with pytest.raises(AuthError) as info:
            run_sync(call(auth), client)
        assert info.value.code == "token_store_failed"
        assert "rt-0001-rotated" not in str(info.value)
        assert "OSError" in str(info.value)
        assert info.value.__context__ is None  # the store's error quoted the token
        # The next call refreshes with the rotated token (the old one is dead) and saves.
        assert run_sync(call(auth), client).status_code == 200
    assert server.forms[1]["refresh_token"] == "rt-0001-rotated"
    assert attempts[-1].refresh_token == "rt-0002-rotated"


def test_refreshes_are_serialised_so_a_rotating_token_is_never_sent_twice(clock: FakeClock) -> None:
    import threading

    server = RotatingServer()
    auth = make(clock)
    errors: list[BaseException] = []

    def work(client: httpx.Client) -> None:
        try:
            run_sync(call(auth), client)
        except BaseException as exc:
            errors.append(exc)

    with server.client() as client:
        threads = [threading.Thread(target=work, args=(client,)) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors
    assert [f["refresh_token"] for f in server.forms] == ["rt-0000-initial"]


def test_file_token_store_round_trips_with_owner_only_permissions(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    assert store.load() is None
    server = RotatingServer()
    auth = make(clock, token_store=store)
    with server.client() as client:
        run_sync(call(auth), client)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = store.load()
    assert loaded is not None
    assert (loaded.value, loaded.refresh_token) == ("at-0001-abcdef", "rt-0001-rotated")
    assert loaded.expires_at == clock.now() + timedelta(seconds=3600)
    # A restarted process picks up the rotated token from the file.
    again = make(clock, refresh_token="rt-0000-initial", token_store=FileTokenStore(path))
    with server.client() as client:
        assert run_sync(call(again), client).status_code == 200
    assert len(server.forms) == 1  # the loaded access token is still valid: no refresh
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind
    assert repr(store) == f"FileTokenStore({str(path)!r})"


def test_a_corrupt_token_file_is_a_config_error_without_its_content(tmp_path: Path) -> None:
    from fincon.errors import ConfigError

    path = tmp_path / "tokens.json"
    path.write_text('{"access_token": "at-leaked-123456", "expires_at": "not a date"}')
    with pytest.raises(ConfigError) as info:
        FileTokenStore(path).load()
    assert "at-leaked-123456" not in str(info.value)
    assert info.value.__context__ is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"client_id": ""}, "client_id"),
        ({"refresh_token": None}, "refresh_token"),
        ({"refresh_token": ""}, "refresh_token"),
        ({"token_store": 42}, "token_store"),
    ],
)
def test_invalid_settings_name_the_field(clock: FakeClock, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        make(clock, **kwargs)
    assert info.value.field == field


def test_a_naive_expiry_is_refused(clock: FakeClock) -> None:
    from datetime import datetime

    with pytest.raises(ValidationError, match="expires_at"):
        make(clock, access_token="at-123456", expires_at=datetime(2030, 1, 1))


def test_repr_shows_no_secret(clock: FakeClock) -> None:
    auth = make(clock)
    assert repr(auth) == f"OAuth2AuthorizationCode(client_id='app-123', token_url='{TOKEN_URL}')"


# -- obtaining the first tokens ----------------------------------------------------------


def test_authorization_request_uses_pkce_s256_and_a_fresh_state() -> None:
    first = authorization_request(
        "https://auth.example.com/authorize",
        "app-123",
        "https://app.example.com/cb",
        ["read", "offline_access"],
    )
    second = authorization_request(
        "https://auth.example.com/authorize", "app-123", "https://app.example.com/cb"
    )
    query = dict(parse_qsl(urlsplit(first.url).query))
    assert first.url.startswith("https://auth.example.com/authorize?")
    assert query["response_type"] == "code"
    assert query["client_id"] == "app-123"
    assert query["redirect_uri"] == "https://app.example.com/cb"
    assert query["scope"] == "read offline_access"
    assert query["state"] == first.state
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(first.code_verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert 43 <= len(first.code_verifier) <= 128
    assert first.state != second.state
    assert first.code_verifier != second.code_verifier
    assert first.code_verifier not in repr(first)


def test_parse_callback_checks_state_and_errors() -> None:
    assert parse_callback("https://app.example.com/cb?code=c-123456&state=s1", state="s1") == "c-123456"
    with pytest.raises(AuthError) as mismatch:
        parse_callback("https://app.example.com/cb?code=c-123456&state=evil", state="s1")
    assert mismatch.value.code == "state_mismatch"
    with pytest.raises(AuthError) as refused:
        parse_callback("https://app.example.com/cb?error=access_denied&state=s1", state="s1")
    assert refused.value.code == "access_denied"
    with pytest.raises(AuthError) as missing:
        parse_callback("https://app.example.com/cb?state=s1", state="s1")
    assert missing.value.code == "missing_code"


def exchange_handler(seen: list[httpx.Request]):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "access_token": "at-first-123456",
                "token_type": "Bearer",
                "expires_in": 60,
                "refresh_token": "rt-first-123456",
            },
        )

    return handler


def test_exchange_code_sends_the_code_verifier_and_returns_tokens(clock: FakeClock) -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(transport=httpx.MockTransport(exchange_handler(seen))) as client:
        token = exchange_code(
            client,
            client_id="app-123",
            client_secret="app-secret-xyz",
            token_url=TOKEN_URL,
            code="c-123456",
            redirect_uri="https://app.example.com/cb",
            code_verifier="v" * 64,
        )
    form = dict(parse_qsl(seen[0].content.decode()))
    assert form == {
        "grant_type": "authorization_code",
        "code": "c-123456",
        "redirect_uri": "https://app.example.com/cb",
        "code_verifier": "v" * 64,
        "client_id": "app-123",
        "client_secret": "app-secret-xyz",
    }
    assert (token.value, token.refresh_token) == ("at-first-123456", "rt-first-123456")

    store = MemoryStore(loaded=Token(value="", refresh_token="rt-older-123456"))
    auth = OAuth2AuthorizationCode.from_token(
        token, client_id="app-123", client_secret="app-secret-xyz", token_url=TOKEN_URL, token_store=store
    )
    assert [t.refresh_token for t in store.saved] == ["rt-first-123456"]
    assert auth.token is not None
    assert auth.token.value == "at-first-123456"


@pytest.mark.anyio
async def test_exchange_code_async() -> None:
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(exchange_handler(seen))) as client:
        token = await aexchange_code(
            client,
            client_id="app-123",
            client_secret=None,
            token_url=TOKEN_URL,
            code="c-123456",
            redirect_uri="https://app.example.com/cb",
            code_verifier="v" * 64,
        )
    assert token.refresh_token == "rt-first-123456"
    assert "client_secret" not in dict(parse_qsl(seen[0].content.decode()))


def test_token_store_json_is_what_the_docs_say(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    FileTokenStore(path).save(Token(value="at-123456", refresh_token="rt-123456", scope="a b"))
    assert json.loads(path.read_text()) == {
        "access_token": "at-123456",
        "refresh_token": "rt-123456",
        "expires_at": None,
        "token_type": "Bearer",
        "scope": "a b",
    }
