"""Cassettes that scrub secrets: recorded against a real loopback server, replayed offline.

Every secret planted in these tests is a fresh random canary. The end-to-end tests record real
httpx traffic (sync and async) from a ``http.server`` on 127.0.0.1 started and stopped here, grep
the cassette file for every canary, stop the server and replay in ``record_mode="none"``.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import vcr
from lxml import etree
from vcr.request import Request

from fincon.core.redaction import forget_secret, register_secret
from fincon.errors import ConfigError, FinconError
from fincon.testing.cassettes import (
    CassetteGuard,
    CassetteLeak,
    CassetteScrubber,
    fincon_vcr,
    scrub_request,
    scrub_response,
    use_cassette,
)

ACCOUNT = "TSTDRV1234567_SB1"


def canary(label: str) -> str:
    return f"canary-{label}-{secrets.token_hex(8)}"


@dataclass
class Canaries:
    """One fresh canary per place a credential can hide."""

    bearer: str = field(default_factory=lambda: canary("bearer"))
    basic_password: str = field(default_factory=lambda: canary("basic"))
    api_key_header: str = field(default_factory=lambda: canary("xapikey"))
    csrf: str = field(default_factory=lambda: canary("csrf"))
    stripe_account: str = field(default_factory=lambda: "acct_" + secrets.token_hex(8))
    cookie: str = field(default_factory=lambda: canary("cookie"))
    set_cookie: str = field(default_factory=lambda: canary("setcookie"))
    query_api_key: str = field(default_factory=lambda: canary("qkey"))
    query_access_token: str = field(default_factory=lambda: canary("qtoken"))
    client_secret: str = field(default_factory=lambda: canary("csecret") + "+/=&")  # needs encoding
    form_password: str = field(default_factory=lambda: canary("fpassword"))
    client_assertion: str = field(default_factory=lambda: canary("assertion"))
    form_refresh_token: str = field(default_factory=lambda: canary("frefresh"))
    auth_code: str = field(default_factory=lambda: canary("code"))
    access_token: str = field(default_factory=lambda: canary("access"))
    refresh_token: str = field(default_factory=lambda: canary("refresh"))
    id_token: str = field(default_factory=lambda: canary("idtoken"))
    session_json: str = field(default_factory=lambda: canary("sessionjson"))
    oauth_consumer_key: str = field(default_factory=lambda: canary("ock"))
    oauth_token: str = field(default_factory=lambda: canary("otoken"))
    oauth_nonce: str = field(default_factory=lambda: canary("nonce"))
    oauth_signature: str = field(default_factory=lambda: canary("osig") + "+/=")
    intacct_sender_password: str = field(default_factory=lambda: canary("senderpw"))
    intacct_user_password: str = field(default_factory=lambda: canary("userpw"))
    intacct_session_request: str = field(default_factory=lambda: canary("sidreq"))
    intacct_session_response: str = field(default_factory=lambda: canary("sidresp"))
    passport_consumer_key: str = field(default_factory=lambda: canary("pck"))
    passport_token: str = field(default_factory=lambda: canary("ptoken"))
    passport_nonce: str = field(default_factory=lambda: canary("pnonce"))
    passport_signature: str = field(default_factory=lambda: canary("psig") + "==")
    registered: str = field(default_factory=lambda: canary("registered"))
    extra: str = field(default_factory=lambda: canary("extra"))

    def all(self) -> list[str]:
        return list(vars(self).values())


# -- the loopback server --------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output quiet

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        c = self.server.canaries
        path = self.path.split("?")[0]
        headers: list[tuple[str, str]] = []
        if path == "/oauth/token":
            body = json.dumps(
                {
                    "access_token": c.access_token,
                    "refresh_token": c.refresh_token,
                    "id_token": c.id_token,
                    "token_type": "bearer",
                    "expires_in": 3600,
                }
            ).encode()
            headers = [
                ("Content-Type", "application/json"),
                ("Set-Cookie", f"session={c.set_cookie}; Path=/"),
            ]
        elif path.startswith("/v1/accounts/"):
            document = {
                "data": [{"id": "it_1", "name": "Widget"}, {"id": "it_2", "name": "Gadget"}],
                "account": ACCOUNT,
                "session_id": c.session_json,
                "next_page_token": "page-2",
            }
            body = gzip.compress(json.dumps(document).encode())
            headers = [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]
        elif path == "/intacct":
            body = (
                "<?xml version='1.0' encoding='UTF-8'?><response><control><status>success</status>"
                "<senderid>fincon</senderid></control><operation><authentication><status>success"
                f"</status><sessionid>{c.intacct_session_response}</sessionid></authentication>"
                "<result><data><customer><NAME>Acme</NAME></customer></data></result></operation></response>"
            ).encode()
            headers = [("Content-Type", "application/xml")]
        elif path == "/soap":
            body = (
                b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
                b"<getResponse><record><name>Acme</name></record></getResponse></soapenv:Body></soapenv:Envelope>"
            )
            headers = [("Content-Type", "text/xml; charset=utf-8")]
        else:
            body = json.dumps({"ok": True, "path": path}).encode()
            headers = [("Content-Type", "application/json")]
        self.send_response(200)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, canaries: Canaries) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.canaries = canaries
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self._thread.is_alive():
            self.shutdown()
            self._thread.join(5)
        self.server_close()


@pytest.fixture
def c() -> Iterator[Canaries]:
    planted = Canaries()
    register_secret(planted.registered)
    yield planted
    forget_secret(planted.registered)


@pytest.fixture
def server(c: Canaries) -> Iterator[_Server]:
    running = _Server(c)
    try:
        yield running
    finally:
        running.stop()


# -- the traffic ------------------------------------------------------------------------------


def _oauth1_header(c: Canaries) -> str:
    return (
        f'OAuth realm="{ACCOUNT}", oauth_consumer_key="{c.oauth_consumer_key}", '
        f'oauth_token="{c.oauth_token}", '
        f'oauth_signature_method="HMAC-SHA256", oauth_timestamp="1700000000", oauth_nonce="{c.oauth_nonce}", '
        f'oauth_version="1.0", oauth_signature="{quote(c.oauth_signature, safe="")}"'
    )


def _intacct_request(c: Canaries) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><request><control><senderid>fincon</senderid>'
        f"<password>{c.intacct_sender_password}</password><controlid>1</controlid></control>"
        "<operation><authentication><login><userid>alice</userid><companyid>acme</companyid>"
        f"<password>{c.intacct_user_password}</password></login></authentication>"
        f"<content><function controlid='f1'><getAPISession/></function></content></operation>"
        f"<operation><authentication><sessionid>{c.intacct_session_request}</sessionid></authentication>"
        "<content><function controlid='f2'><readByQuery><object>CUSTOMER</object></readByQuery></function>"
        "</content></operation></request>"
    ).encode()


def _soap_request(c: Canaries) -> bytes:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:core="urn:core_2024_2.platform.webservices.netsuite.com"><soapenv:Header>'
        f"<core:tokenPassport><core:account>{ACCOUNT}</core:account>"
        f"<core:consumerKey>{c.passport_consumer_key}</core:consumerKey><core:token>{c.passport_token}</core:token>"
        f"<core:nonce>{c.passport_nonce}</core:nonce><core:timestamp>1700000000</core:timestamp>"
        f'<core:signature algorithm="HMAC-SHA256">{c.passport_signature}</core:signature>'
        "</core:tokenPassport>"
        "</soapenv:Header><soapenv:Body><get><recordRef internalId='7' type='customer'/></get></soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()


def _requests(c: Canaries) -> list[dict[str, Any]]:
    """The requests to record, as keyword arguments of ``httpx.Client.request``."""
    return [
        {
            "method": "POST",
            "url": "/oauth/token",
            "data": {
                "grant_type": "authorization_code",
                "client_id": "fincon-app",
                "client_secret": c.client_secret,
                "code": c.auth_code,
                "refresh_token": c.form_refresh_token,
                "client_assertion": c.client_assertion,
                "password": c.form_password,
                "username": "alice",
            },
            "auth": ("fincon-app", c.basic_password),
        },
        {
            "method": "GET",
            "url": f"/v1/accounts/{ACCOUNT}/items",
            "params": {
                "api_key": c.query_api_key,
                "access_token": c.query_access_token,
                "limit": "10",
                "page_token": "page-1",
            },
            "headers": {
                "Authorization": f"Bearer {c.bearer}",
                "X-API-Key": c.api_key_header,
                "X-CSRF-Token": c.csrf,
                "Stripe-Account": c.stripe_account,
                "Cookie": f"sid={c.cookie}; theme=dark",
                "Accept-Encoding": "gzip",
                "X-Account": ACCOUNT,
            },
        },
        {
            "method": "GET",
            "url": "/services/rest/record/v1/customer/7",
            "headers": {"Authorization": _oauth1_header(c)},
        },
        {
            "method": "POST",
            "url": "/intacct",
            "content": _intacct_request(c),
            "headers": {"Content-Type": "application/xml"},
        },
        {
            "method": "POST",
            "url": "/soap",
            "content": _soap_request(c),
            "headers": {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "get"},
        },
        {
            "method": "POST",
            "url": "/notes",
            "json": {"note": f"pasted {c.registered} by mistake", "reference": c.extra, "amount": 12.5},
        },
    ]


def _run_sync(base_url: str, c: Canaries) -> list[httpx.Response]:
    with httpx.Client(base_url=base_url, timeout=5) as client:
        responses = [client.request(**request) for request in _requests(c)]
        for response in responses:
            response.read()
        return responses


async def _run_async(base_url: str, c: Canaries) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        responses = [await client.request(**request) for request in _requests(c)]
        for response in responses:
            await response.aread()
        return responses


def _options(c: Canaries, tmp_path: Path, **more: Any) -> dict[str, Any]:
    return {
        "cassette_dir": tmp_path,
        "canaries": c.all(),
        "extra_secrets": [c.extra],
        "scrub_account_ids": [ACCOUNT],
        **more,
    }


def _assert_recorded_safely(path: Path, c: Canaries) -> str:
    assert path.is_file()
    text = path.read_text(encoding="utf-8")
    for value in c.all():
        assert value not in text
        assert value.lower() not in text.lower()
        assert quote(value, safe="") not in text
    assert ACCOUNT not in text
    assert ACCOUNT.lower().replace("_", "-") not in text.lower()
    basic = base64.b64encode(f"fincon-app:{c.basic_password}".encode()).decode()
    assert basic not in text
    # Masked, with the surrounding shape kept for the reader.
    assert 'oauth_signature="***"' in text
    assert 'oauth_signature_method="HMAC-SHA256"' in text
    assert 'oauth_timestamp="1700000000"' in text
    assert 'realm="account-1"' in text
    assert "<senderid>fincon</senderid>" in text
    assert "<password>***</password>" in text
    assert "grant_type=authorization_code" in text
    assert "client_secret=***" in text
    assert "page_token=page-1" in text
    assert "sid=***; theme=***" in text
    return text


def _assert_replayed(live: list[httpx.Response], replayed: list[httpx.Response]) -> None:
    assert [response.status_code for response in replayed] == [200] * len(live)
    token = replayed[0].json()
    assert token == {
        "access_token": "***",
        "refresh_token": "***",
        "id_token": "***",
        "token_type": "bearer",
        "expires_in": 3600,
    }
    assert replayed[0].headers["set-cookie"] == "session=***; Path=/"
    items, live_items = replayed[1].json(), live[1].json()  # gzip on the wire, stored decoded
    assert "content-encoding" not in replayed[1].headers
    assert items["data"] == live_items["data"]
    assert items["next_page_token"] == "page-2"
    assert items["session_id"] == "***"
    assert items["account"] == "account-1"
    intacct = etree.fromstring(replayed[3].content)
    assert intacct.findtext(".//sessionid") == "***"
    assert intacct.findtext(".//senderid") == "fincon"
    assert intacct.findtext(".//NAME") == "Acme"
    assert replayed[4].content == live[4].content  # nothing secret in it: byte for byte
    assert replayed[5].json() == live[5].json() == {"ok": True, "path": "/notes"}


# -- end to end -------------------------------------------------------------------------------


def test_sync_recording_holds_no_canary_and_replays_offline(
    server: _Server, c: Canaries, tmp_path: Path
) -> None:
    with use_cassette("sync", **_options(c, tmp_path)) as cassette:
        live = _run_sync(server.url, c)
    assert len(cassette) == 6
    assert live[0].json()["access_token"] == c.access_token  # the test itself saw the real values
    _assert_recorded_safely(tmp_path / "sync.yaml", c)

    server.stop()  # replay must not need the network
    with use_cassette("sync", **_options(c, tmp_path, record_mode="none")) as cassette:
        replayed = _run_sync(server.url, c)
    assert cassette.all_played
    _assert_replayed(live, replayed)


def test_async_recording_holds_no_canary_and_replays_offline(
    server: _Server, c: Canaries, tmp_path: Path
) -> None:
    with use_cassette("async", **_options(c, tmp_path)):
        live = asyncio.run(_run_async(server.url, c))
    _assert_recorded_safely(tmp_path / "async.yaml", c)

    server.stop()
    with use_cassette("async", **_options(c, tmp_path, record_mode="none")) as cassette:
        replayed = asyncio.run(_run_async(server.url, c))
    assert cassette.all_played
    _assert_replayed(live, replayed)


def test_decorator_and_json_serializer(server: _Server, c: Canaries, tmp_path: Path) -> None:
    recorder = fincon_vcr(
        tmp_path, canaries=c.all(), extra_secrets=[c.extra], scrub_account_ids=[ACCOUNT], serializer="json"
    )

    @recorder.use_cassette("decorated")  # type: ignore[untyped-decorator]
    def record() -> list[httpx.Response]:
        return _run_sync(server.url, c)

    record()
    text = (tmp_path / "decorated.json").read_text(encoding="utf-8")
    assert json.loads(text)["interactions"]
    assert not [value for value in c.all() if value in text]


@pytest.mark.parametrize(
    "place",
    ["custom JSON body field", "URL path", "custom response header"],
)
def test_canary_in_an_unscrubbed_place_raises_and_writes_nothing(
    server: _Server, c: Canaries, tmp_path: Path, place: str
) -> None:
    planted = canary("unscrubbed")
    original_handle_request = httpx.HTTPTransport.handle_request

    def record() -> None:
        with (
            use_cassette("leak", cassette_dir=tmp_path, canaries=[planted, c.bearer]),
            httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {c.bearer}"}) as client,
        ):
            if place == "custom JSON body field":
                client.post("/echo", json={"memo": planted, "amount": 3})
            elif place == "URL path":
                client.get(f"/files/{planted}")
            else:
                client.get("/echo", headers={"X-Trace": planted})

    with pytest.raises(CassetteLeak) as caught:  # raised on leaving the cassette, as it is saved
        record()
    error = caught.value
    assert isinstance(error, FinconError)
    assert planted not in str(error)
    assert planted not in repr(error)
    assert c.bearer not in str(error)
    assert "canary #1" in str(error)
    assert "canary #2" not in str(error)
    assert error.locations
    assert all(planted not in where for where in error.locations)
    assert list(tmp_path.iterdir()) == []  # no cassette, no temporary file
    # vcrpy's patches were undone although saving failed.
    assert httpx.HTTPTransport.handle_request is original_handle_request


def test_a_leak_leaves_an_existing_cassette_untouched(server: _Server, c: Canaries, tmp_path: Path) -> None:
    planted = canary("later")
    with use_cassette("kept", cassette_dir=tmp_path, canaries=[planted]):
        httpx.get(f"{server.url}/echo")
    before = (tmp_path / "kept.yaml").read_bytes()

    def record_a_leak() -> None:
        with use_cassette("kept", cassette_dir=tmp_path, canaries=[planted], record_mode="new_episodes"):
            httpx.post(f"{server.url}/echo", json={"memo": planted})

    with pytest.raises(CassetteLeak):
        record_a_leak()
    assert (tmp_path / "kept.yaml").read_bytes() == before


def test_user_hooks_cannot_switch_scrubbing_off(server: _Server, c: Canaries, tmp_path: Path) -> None:
    seen: list[str] = []

    def hook(request: Any) -> Any:
        seen.append(request.headers["Authorization"])
        return request

    recorder = fincon_vcr(tmp_path, canaries=[c.bearer])
    with recorder.use_cassette("hooked", before_record_request=hook, filter_headers=["X-Other"]):
        httpx.get(f"{server.url}/echo", headers={"Authorization": f"Bearer {c.bearer}", "X-Other": "x"})
    # The user's hook saw the live request, before fincon's scrubbing (vcrpy applies hooks more than
    # once, the second time to an already filtered request: scrubbing is idempotent).
    assert seen[0] == f"Bearer {c.bearer}"
    text = (tmp_path / "hooked.yaml").read_text()
    assert c.bearer not in text
    assert "Bearer ***" in text
    assert "X-Other" not in text
    with pytest.raises(ConfigError):
        recorder.use_cassette("other", persister=object()).__enter__()
    with pytest.raises(ConfigError):
        recorder.register_persister(object())


def test_refused_replay_error_does_not_show_the_request_secrets(c: Canaries, tmp_path: Path) -> None:
    def replay() -> None:
        with use_cassette("missing", cassette_dir=tmp_path, record_mode="none", match_on=("method", "body")):
            httpx.post(
                f"http://127.0.0.1:9/x?api_key={c.query_api_key}",
                content=f"password={c.form_password}".encode(),
            )

    with pytest.raises(vcr.errors.CannotOverwriteExistingCassetteException) as caught:
        replay()  # refused before any connection is attempted (port 9 is never contacted)
    message = str(caught.value)
    assert "api_key=***" in message
    assert c.query_api_key not in message
    assert c.form_password not in message


# -- scrubbing rules, unit by unit ---------------------------------------------------------------


def _request(uri: str = "https://api.example.com/x", body: Any = None, **headers: str) -> Any:
    return Request("POST", uri, body, headers)


def test_oauth1_header_keeps_its_shape() -> None:
    c = Canaries()
    request = scrub_request(_request(Authorization=_oauth1_header(c)))
    assert request.headers["Authorization"] == (
        f'OAuth realm="{ACCOUNT}", oauth_consumer_key="***", oauth_token="***", '
        'oauth_signature_method="HMAC-SHA256", oauth_timestamp="1700000000", oauth_nonce="***", '
        'oauth_version="1.0", oauth_signature="***"'
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Authorization", "Bearer abc.def.ghi", "Bearer ***"),
        ("Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Basic ***"),
        ("Authorization", "sk_live_1234567890", "***"),
        ("Proxy-Authorization", "Digest username=x, response=y", "Digest ***"),
        ("Cookie", "a=1; b=two", "a=***; b=***"),
        ("X-API-Key", "k-123456", "***"),
        ("x-csrf-token", "Fetch", "***"),
        ("Stripe-Account", "acct_123", "***"),
        ("Ocp-Apim-Subscription-Key", "abcdef", "***"),
        ("X-Custom-Session", "s-1", "***"),
        ("Idempotency-Key", "idem-1", "idem-1"),
        ("Content-Type", "application/json", "application/json"),
        ("Location", "https://h/cb?code=abc&state=s1", "https://h/cb?code=***&state=s1"),
    ],
)
def test_request_headers(name: str, value: str, expected: str) -> None:
    assert scrub_request(_request(**{name: value})).headers[name] == expected


def test_sensitive_query_parameters_userinfo_and_paging_tokens() -> None:
    uri = (
        "https://user:pw@api.example.com/v1/x?api_key=k1&access_token=t1&sig=s1&$skiptoken=abc"
        "&limit=5&nextPageToken=n1&client_secret=cs&token_type_hint=refresh_token"
    )
    assert scrub_request(_request(uri)).uri == (
        "https://user:***@api.example.com/v1/x?api_key=***&access_token=***&sig=***&$skiptoken=abc"
        "&limit=5&nextPageToken=n1&client_secret=***&token_type_hint=refresh_token"
    )


def test_form_body() -> None:
    body = (
        b"grant_type=refresh_token&client_id=app&client_secret=s%2Bx&password=p&client_assertion=eyJ"
        b"&refresh_token=r1&code=c1&redirect_uri=https%3A%2F%2Fapp%2Fcb"
    )
    scrubbed = scrub_request(_request(body=body, **{"Content-Type": "application/x-www-form-urlencoded"}))
    assert scrubbed.body == (
        b"grant_type=refresh_token&client_id=app&client_secret=***&password=***&client_assertion=***"
        b"&refresh_token=***&code=***&redirect_uri=https%3A%2F%2Fapp%2Fcb"
    )


def test_token_response_json_keeps_everything_else() -> None:
    body = {
        "access_token": "a1",
        "refresh_token": "r1",
        "id_token": "i1",
        "token_type": "Bearer",
        "expires_in": 3600,
        "error": {"code": "invalid_grant", "message": "nope"},
        "items": [{"key": "k1", "client_secret": 12345}],
    }
    response: dict[str, Any] = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Type": ["application/json"], "Content-Length": ["999"]},
        "body": {"string": json.dumps(body).encode()},
    }
    scrubbed = scrub_response(response)
    document = json.loads(scrubbed["body"]["string"])
    assert document == {
        **body,
        "access_token": "***",
        "refresh_token": "***",
        "id_token": "***",
        "items": [{"key": "k1", "client_secret": "***"}],
    }
    assert scrubbed["headers"]["Content-Length"] == [str(len(scrubbed["body"]["string"]))]
    assert response["body"]["string"] == json.dumps(body).encode()  # the input is not modified


def test_truncated_json_and_str_bodies() -> None:
    response: dict[str, Any] = {
        "status": {"code": 200, "message": "OK"},
        "headers": {},
        "body": {"string": '{"access_token": "abc'},
    }
    assert scrub_response(response)["body"]["string"] == '{"access_token": "***'
    escaped = {"headers": {}, "body": {"string": b'{"raw": "{\\"refresh_token\\": \\"r1\\"}"}'}}
    assert b"r1" not in scrub_response(escaped)["body"]["string"]
    for empty in (None, b"", ""):
        assert scrub_response({"headers": {}, "body": {"string": empty}})["body"]["string"] == empty
    assert scrub_request(_request(body=None)).body is None


def test_intacct_xml() -> None:
    c = Canaries()
    scrubbed = scrub_request(_request(body=_intacct_request(c))).body.decode()
    assert "<senderid>fincon</senderid>" in scrubbed
    assert "<userid>alice</userid>" in scrubbed
    assert scrubbed.count("<password>***</password>") == 2
    assert "<sessionid>***</sessionid>" in scrubbed
    for value in (c.intacct_sender_password, c.intacct_user_password, c.intacct_session_request):
        assert value not in scrubbed


def test_soap_token_passport() -> None:
    c = Canaries()
    scrubbed = scrub_request(_request(body=_soap_request(c))).body
    root = etree.fromstring(scrubbed)
    ns = {"core": "urn:core_2024_2.platform.webservices.netsuite.com"}
    passport = root.find(".//core:tokenPassport", ns)
    for name in ("consumerKey", "token", "nonce", "signature"):
        assert passport.findtext(f"core:{name}", namespaces=ns) == "***"
    assert passport.findtext("core:timestamp", namespaces=ns) == "1700000000"
    assert passport.find("core:signature", ns).get("algorithm") == "HMAC-SHA256"


def test_xml_outside_a_passport_and_attributes() -> None:
    body = (
        b'<r><token>keep-me</token><auth password="p1" user="u"/>'
        b"<pw><![CDATA[x]]></pw><Password>y</Password></r>"
    )
    scrubbed = CassetteScrubber(xml_elements=["pw"]).scrub_body(body, "application/xml")
    root = etree.fromstring(scrubbed)
    assert root.findtext("token") == "keep-me"  # only a passport's <token> is a credential
    assert root.find("auth").get("password") == "***"
    assert root.find("auth").get("user") == "u"
    assert root.findtext("pw") == "***"
    assert root.findtext("Password") == "***"


def test_malformed_xml_falls_back_to_text_rules() -> None:
    truncated = b"<request><login><password>hunter2-long</password><sessionid>sid-123456"
    scrubbed = scrub_request(_request(body=truncated)).body
    assert scrubbed == b"<request><login><password>***</password><sessionid>***"
    cdata = b"<a><password><![CDATA[s3cr3t-cdata]]></password><b>"
    assert b"s3cr3t" not in scrub_request(_request(body=cdata)).body


def test_xml_entities_are_never_expanded(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("outside-file-content")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{outside.as_uri()}">'
        '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<r><password>&x;</password><memo>&x;&b;</memo></r>"
    ).encode()
    scrubbed = CassetteScrubber().scrub_body(body, "application/xml")
    assert b"outside-file-content" not in scrubbed
    assert b"aaaaaaaaaa" * 10 not in scrubbed
    assert b"<password>***</password>" in scrubbed
    assert b"<memo>&x;&b;</memo>" in scrubbed


def test_multipart_fields() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="client_secret"\r\n\r\nsecret-value\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="memo"\r\n\r\nhello\r\n--XyZ--\r\n'
    )
    scrubbed = scrub_request(
        _request(body=body, **{"Content-Type": "multipart/form-data; boundary=XyZ"})
    ).body
    assert b"secret-value" not in scrubbed
    assert b"\r\n\r\n***\r\n" in scrubbed
    assert b"hello" in scrubbed


def test_gzip_and_deflate_bodies_are_stored_decoded() -> None:
    import zlib

    for coding, encoded in (
        ("gzip", gzip.compress(b'{"access_token": "a-123456"}')),
        ("deflate", zlib.compress(b'{"access_token": "a-123456"}')),
    ):
        response = {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Content-Encoding": [coding], "Content-Length": [str(len(encoded))]},
            "body": {"string": encoded},
        }
        scrubbed = scrub_response(response)
        assert scrubbed["body"]["string"] == b'{"access_token": "***"}'
        assert "Content-Encoding" not in scrubbed["headers"]
        assert scrubbed["headers"]["Content-Length"] == ["23"]


def test_undecodable_encodings_are_refused() -> None:
    truncated = gzip.compress(secrets.token_bytes(2000))[:500]
    for coding, body in (("br", b"\x1b\x00\x00"), ("gzip", truncated)):
        response = {"headers": {"Content-Encoding": [coding]}, "body": {"string": body}}
        with pytest.raises(CassetteLeak, match="nothing was recorded"):
            scrub_response(response)


def test_account_ids_everywhere() -> None:
    scrubber = CassetteScrubber(account_ids=["1234567_SB1", "acct_ABCDEF"])
    request = scrubber.scrub_request(
        _request(
            "https://1234567-sb1.suitetalk.api.netsuite.com/x?company=1234567_SB1",
            b'{"account": "acct_abcdef"}',
            **{"X-NetSuite-Account": "1234567_sb1"},
        )
    )
    assert request.uri == "https://account-1.suitetalk.api.netsuite.com/x?company=account-1"
    assert request.body == b'{"account": "account-2"}'
    assert request.headers["X-NetSuite-Account"] == "account-1"


def test_registered_and_extra_secrets_in_any_encoding(c: Canaries) -> None:
    special = "Sp3c!al/extra+secret=1"
    scrubber = CassetteScrubber(extra_secrets=[special])
    body = json.dumps({"a": c.registered, "b": special, "c": quote(special, safe="")}).encode()
    scrubbed = scrubber.scrub_body(body, "application/json")
    assert json.loads(scrubbed) == {"a": "***", "b": "***", "c": "***"}
    binary = b"\xff\xfe" + special.encode() + b"\x00"
    assert scrubber.scrub_body(binary) == b"\xff\xfe***\x00"


def test_custom_rules() -> None:
    scrubber = CassetteScrubber(headers=["X-Tenant"], fields=["memo_secretish"], xml_elements=["pin"])
    request = scrubber.scrub_request(
        _request(
            "https://h/x?memo_secretish=1",
            b"<r><pin>1234</pin></r>",
            **{"X-Tenant": "t1"},
        )
    )
    assert request.uri == "https://h/x?memo_secretish=***"
    assert request.body == b"<r><pin>***</pin></r>"
    assert request.headers["X-Tenant"] == "***"
    assert json.loads(scrubber.scrub_body(b'{"memo_secretish": "x"}')) == {"memo_secretish": "***"}


def test_scrubbing_is_idempotent() -> None:
    c = Canaries()
    request = _request(
        f"https://h/x?access_token={c.access_token}",
        _soap_request(c),
        Authorization=_oauth1_header(c),
        Cookie="a=b",
    )
    scrubber = CassetteScrubber(account_ids=[ACCOUNT])
    once = scrubber.scrub_request(request)
    twice = scrubber.scrub_request(once)
    assert (once.uri, once.body, dict(once.headers)) == (twice.uri, twice.body, dict(twice.headers))


def test_guard_finds_canaries_in_binary_and_compressed_bodies(tmp_path: Path) -> None:
    from vcr.serializers import yamlserializer

    planted = canary("binary")
    guard = CassetteGuard([planted])
    for body in (b"\xff\x00" + planted.encode(), gzip.compress(planted.encode()), planted.upper().encode()):
        cassette = {
            "requests": [_request("https://h/x")],
            "responses": [
                {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": body}}
            ],
        }
        with pytest.raises(CassetteLeak, match="interaction 1 response body"):
            guard.save_cassette(tmp_path / "c.yaml", cassette, yamlserializer)
    assert list(tmp_path.iterdir()) == []


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError):
        CassetteGuard(["short"])
    with pytest.raises(ConfigError):
        CassetteScrubber(extra_secrets=["abc"])
    with pytest.raises(ConfigError):
        CassetteScrubber(account_ids=["12"])
    with pytest.raises(ConfigError):
        fincon_vcr("x", persister=object())


def test_importing_the_module_imports_neither_vcrpy_nor_lxml() -> None:
    code = "import sys, fincon.testing.cassettes; print('vcr' in sys.modules, 'lxml.etree' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "False"]


def test_credentials_recognised_by_shape_or_under_a_sensitive_name() -> None:
    jwt = "eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJl"
    body = json.dumps(
        {
            "jwt": jwt,
            "stripe": "sk_live_51Habcdefghijklmnop",
            "hook": "whsec_abcdefghijklmnop",
            "pem": "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----",
            "token": {"value": "v-123456", "ttl": 60, "renewable": True},
        }
    ).encode()
    assert json.loads(CassetteScrubber().scrub_body(body, "application/json")) == {
        "jwt": "***",
        "stripe": "***",
        "hook": "***",
        "pem": "***",
        "token": {"value": "***", "ttl": "***", "renewable": True},
    }
    xml = b"<r><authToken>a1</authToken><nextPageToken>p2</nextPageToken><token>t3</token></r>"
    assert CassetteScrubber().scrub_body(xml) == (
        b"<r><authToken>***</authToken><nextPageToken>p2</nextPageToken><token>t3</token></r>"
    )


def test_guard_and_scrubber_with_a_plain_vcrpy(server: _Server, c: Canaries, tmp_path: Path) -> None:
    scrubber = CassetteScrubber(account_ids=[ACCOUNT])
    plain = vcr.VCR(
        cassette_library_dir=str(tmp_path),
        before_record_request=scrubber.scrub_request,
        before_record_response=scrubber.scrub_response,
    )
    plain.register_persister(CassetteGuard([c.bearer, c.access_token], scrubber=scrubber))
    with plain.use_cassette("plain.yaml"):
        token = httpx.post(f"{server.url}/oauth/token", headers={"Authorization": f"Bearer {c.bearer}"})
    assert token.json()["access_token"] == c.access_token
    text = (tmp_path / "plain.yaml").read_text()
    assert c.bearer not in text
    assert c.access_token not in text
    with plain.use_cassette("plain.yaml", record_mode="none"):
        assert httpx.post(f"{server.url}/oauth/token").json()["access_token"] == "***"


def test_assignments_inside_strings_and_escaped_urls() -> None:
    scrubber = CassetteScrubber()
    body = (
        b'{"q": "password=\\"abc-secret\\" x", "u": "https://h/cb?a=1\\u0026code=zz9", '
        b'"n": "password=", "m": 1}'
    )
    document = json.loads(scrubber.scrub_body(body, "application/json"))
    assert document == {"q": 'password="***" x', "u": "https://h/cb?a=1&code=***", "n": "password=", "m": 1}


def test_pathological_bodies_are_scrubbed_in_linear_time() -> None:
    import time

    scrubber = CassetteScrubber(extra_secrets=["extra-secret-1"], account_ids=["ACCT1234"])
    bodies = [
        b"password=x&" * 20_000,
        b'password = "' * 20_000,
        b"a=" * 100_000,
        b'{"access_token": "' + b"a" * 200_000,
        b"<password><![CDATA[" * 10_000,
        b"-----BEGIN PRIVATE KEY-----" * 10_000,
        b"Basic " + b"A" * 200_000 + b"===",
        b'\\"a\\": \\"' * 20_000,
        b"<a " * 50_000,
    ]
    started = time.perf_counter()
    for body in bodies:
        scrubber.scrub_body(body)
    assert time.perf_counter() - started < 10  # quadratic behaviour would take minutes


def test_the_plugin_fixture_records_beside_the_test_module(fincon_cassette: Any, tmp_path: Path) -> None:
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True})

    with fincon_cassette("plugin_fixture", cassette_dir=tmp_path, record_mode="all"):
        response = httpx.Client(transport=httpx.MockTransport(answer)).get("https://api.example.com/ping")
    assert response.json() == {"ok": True}
    written = list(tmp_path.iterdir())
    assert [path.name for path in written] == ["plugin_fixture.yaml"]
    assert "api.example.com/ping" in written[0].read_text()
