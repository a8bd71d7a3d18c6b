"""NetSuiteTBA: the OAuth 1.0a HMAC-SHA256 header is checked against an independent
implementation (oauthlib) and the signature base string against RFC 5849's published example."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oauthlib import oauth1  # the independent reference: imported, never skipped, so CI keeps the check

from fincon.auth import NetSuiteTBA, netsuite_realm
from fincon.auth._netsuite import request_parameters, signature_base_string
from fincon.core.clock import FakeClock
from fincon.core.flow import run_sync
from fincon.errors import ConfigError, ValidationError

CREDENTIALS = {
    "consumer_key": "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4",
    "consumer_secret": "d4d0b8c2d3f2b7c4e8e1a0f7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7",
    "token_id": "2c8e3e5b4f5a6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0d1c",
    "token_secret": "7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c",
}
NONCE = "fixedNonce123456"
HEADER_PARAM = re.compile(r'(\w+)="([^"]*)"')


def parse(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    return {k: unquote(v) for k, v in HEADER_PARAM.findall(header)}


def ours(account: str, request: httpx.Request, clock: FakeClock) -> str:
    auth = NetSuiteTBA(account, nonce=lambda: NONCE, **CREDENTIALS)
    auth.bind(clock=clock)
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        run_sync(auth.auth_flow(request), client)
    return request.headers["Authorization"]


def oauthlibs(realm: str, request: httpx.Request, clock: FakeClock) -> str:
    client = oauth1.Client(
        CREDENTIALS["consumer_key"],
        client_secret=CREDENTIALS["consumer_secret"],
        resource_owner_key=CREDENTIALS["token_id"],
        resource_owner_secret=CREDENTIALS["token_secret"],
        signature_method=oauth1.SIGNATURE_HMAC_SHA256,
        realm=realm,
        nonce=NONCE,
        timestamp=str(int(clock.now().timestamp())),
    )
    content_type = request.headers.get("content-type")
    body = request.content.decode() if content_type == "application/x-www-form-urlencoded" else None
    headers = {"Content-Type": content_type} if body is not None else {}
    _, signed, _ = client.sign(str(request.url), request.method, body=body, headers=headers)
    return str(signed["Authorization"])


BASE = "https://1234567-sb1.suitetalk.api.netsuite.com"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", f"{BASE}/services/rest/record/v1/vendor"),
        ("GET", f"{BASE}/services/rest/record/v1/vendor?limit=5&offset=10"),
        ("GET", f"{BASE}/services/rest/record/v1/vendor?q=companyName%20CONTAIN%20%22Acme%20%26%20Co%22"),
        ("GET", f"{BASE}/services/rest/query/v1/suiteql?limit=1000&offset=0&expand=a,b"),
        ("GET", f"{BASE}/app/site/hosting/restlet.nl?script=123&deploy=1&name=Zo%C3%AB+M%C3%BCller"),
        ("GET", f"{BASE}/path/with%20space/x?b=2&a=1&a=0&empty=&flag"),
        ("GET", f"{BASE}/p?special=%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D~-._"),
        ("DELETE", "https://1234567-SB1.SuiteTalk.api.netsuite.com:443/services/rest/record/v1/vendor/42"),
        ("PATCH", "https://localhost:8443/services/rest/record/v1/vendor/42?replace=lines"),
        ("POST", f"{BASE}/services/rest/record/v1/vendor?x=%7Etilde"),
    ],
)
def test_header_matches_oauthlib(clock: FakeClock, method: str, url: str) -> None:
    request = httpx.Request(
        method, url, json={"companyName": "Acme & Co"} if method in ("POST", "PATCH") else None
    )
    mine = parse(ours("1234567-sb1", request, clock))
    reference = parse(oauthlibs("1234567_SB1", request, clock))
    assert mine == reference
    assert mine["oauth_signature_method"] == "HMAC-SHA256"
    assert mine["realm"] == "1234567_SB1"


def test_form_bodies_are_signed_like_oauthlib(clock: FakeClock) -> None:
    request = httpx.Request(
        "POST", f"{BASE}/app/site/hosting/restlet.nl?script=9", data={"a": "1 2", "b": "x+y&z", "c": ""}
    )
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse(ours("1234567-sb1", request, clock)) == parse(oauthlibs("1234567_SB1", request, clock))


def test_json_bodies_are_not_part_of_the_signature(clock: FakeClock) -> None:
    a = httpx.Request("POST", f"{BASE}/x", json={"a": 1})
    b = httpx.Request("POST", f"{BASE}/x", json={"a": 2})
    assert (
        parse(ours("1234567", a, clock))["oauth_signature"]
        == parse(ours("1234567", b, clock))["oauth_signature"]
    )


query_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    params=st.lists(st.tuples(query_text.filter(bool), query_text), max_size=5),
    # No ';' in paths: oauthlib parses with urlparse, which cuts ";params" off the last path
    # segment; RFC 5849 (and fincon) sign the whole path.
    path=st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters=";"), max_size=10
    ),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
)
def test_any_query_signs_like_oauthlib(params: list[tuple[str, str]], path: str, method: str) -> None:
    clock = FakeClock()
    # Sub-delimiters stay raw in the path; the rest is percent-encoded as a client would.
    raw_path = quote(path, safe="/:@!$&'()*+,;=")
    url = httpx.URL(f"{BASE}/services/rest/{raw_path}", params=params)
    request = httpx.Request(method, url)
    assert parse(ours("1234567-sb1", request, clock)) == parse(oauthlibs("1234567_SB1", request, clock))


@pytest.mark.parametrize(
    ("account", "realm"),
    [
        ("1234567-sb1", "1234567_SB1"),
        ("1234567_SB1", "1234567_SB1"),
        ("tstdrv1234567", "TSTDRV1234567"),
        ("1234567", "1234567"),
    ],
)
def test_realm_is_upper_case_with_underscores(clock: FakeClock, account: str, realm: str) -> None:
    assert netsuite_realm(account) == realm
    request = httpx.Request("GET", f"{BASE}/services/rest/record/v1/vendor")
    header = ours(account, request, clock)
    assert header.startswith(f'OAuth realm="{realm}", ')
    assert parse(header) == parse(oauthlibs(realm, request, clock))


def test_rfc5849_published_signature_base_string() -> None:
    # RFC 5849 section 3.4.1.1: the request and the base string it publishes.
    request = httpx.Request(
        "POST",
        "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
        content=b"c2&a3=2+q",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    oauth = {
        "oauth_consumer_key": "9djdj82h48djs9d2",
        "oauth_token": "kkk9d7dh3k39sjv7",
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": "137131201",
        "oauth_nonce": "7d8f3e4a",
    }
    params = request_parameters(request) + [(k.encode(), v.encode()) for k, v in oauth.items()]
    published = (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"
        "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_"
        "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m"
        "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk"
        "9d7dh3k39sjv7"
    )
    assert signature_base_string(request.method, request.url, params) == published


def test_timestamp_comes_from_the_clock_and_nonces_are_fresh(clock: FakeClock) -> None:
    auth = NetSuiteTBA("1234567", **CREDENTIALS)
    auth.bind(clock=clock)
    first = parse(auth.authorization(httpx.Request("GET", f"{BASE}/x")))
    clock.advance(30)
    second = parse(auth.authorization(httpx.Request("GET", f"{BASE}/x")))
    assert int(second["oauth_timestamp"]) - int(first["oauth_timestamp"]) == 30
    assert first["oauth_timestamp"] == str(int(clock.now().timestamp()) - 30)
    assert first["oauth_nonce"] != second["oauth_nonce"]
    assert first["oauth_signature"] != second["oauth_signature"]


def test_account_can_come_from_the_base_url(clock: FakeClock) -> None:
    auth = NetSuiteTBA(**CREDENTIALS)
    assert auth.realm is None
    with pytest.raises(ConfigError, match="account"):
        auth.authorization(httpx.Request("GET", f"{BASE}/x"))
    auth.bind(clock=clock, base_url="https://7654321-sb2.suitetalk.api.netsuite.com")
    assert auth.realm == "7654321_SB2"
    loopback = NetSuiteTBA(**CREDENTIALS)
    loopback.bind(clock=clock, base_url="http://127.0.0.1:9000")
    assert loopback.realm is None


def test_a_401_is_not_retried(clock: FakeClock) -> None:
    auth = NetSuiteTBA("1234567", **CREDENTIALS)
    request = httpx.Request("GET", f"{BASE}/x")
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(401))) as client:
        assert run_sync(auth.refresh_flow(request, httpx.Response(401)), client) is False


@pytest.mark.parametrize("field", list(CREDENTIALS))
def test_missing_or_empty_credentials_name_the_field(field: str) -> None:
    for value in (None, ""):
        with pytest.raises(ValidationError) as info:
            NetSuiteTBA("1234567", **{**CREDENTIALS, field: value})  # type: ignore[arg-type]
        assert info.value.field == field


def test_a_malformed_account_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        NetSuiteTBA("1234567 sb1", **CREDENTIALS)
    assert info.value.field == "account"


def test_repr_and_secret_values() -> None:
    auth = NetSuiteTBA("1234567-sb1", **CREDENTIALS)
    assert repr(auth) == "NetSuiteTBA(realm='1234567_SB1')"
    assert set(auth.secret_values()) == set(CREDENTIALS.values())
