"""APIKey, Bearer and Basic: where the credential goes, and what is refused."""

from __future__ import annotations

import base64

import httpx
import pytest
from pydantic import SecretStr

from fincon.auth import APIKey, Basic, Bearer
from fincon.core.flow import run_sync
from fincon.errors import ConfigError, ValidationError


def authorise(auth: object, url: str = "https://api.example.com/v1/items?page=2") -> httpx.Request:
    request = httpx.Request("GET", url)
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        run_sync(auth.auth_flow(request), client)  # type: ignore[attr-defined]
    return request


def test_api_key_defaults_to_a_bearer_authorization_header() -> None:
    request = authorise(APIKey("sk_test_123456"))
    assert request.headers["Authorization"] == "Bearer sk_test_123456"
    assert "sk_test_123456" not in str(request.url)


def test_api_key_in_a_custom_header_has_no_prefix_unless_asked() -> None:
    assert authorise(APIKey("k-abcdef", header="X-API-Key")).headers["X-API-Key"] == "k-abcdef"
    explicit = authorise(APIKey("k-abcdef", header="X-API-Key", prefix="Token "))
    assert explicit.headers["X-API-Key"] == "Token k-abcdef"
    assert "Authorization" not in explicit.headers


def test_api_key_in_a_query_parameter_keeps_the_other_parameters_and_is_not_repeated() -> None:
    auth = APIKey("k-abcdef", query_param="api_key")
    request = authorise(auth)
    assert request.url.params.get_list("api_key") == ["k-abcdef"]
    assert request.url.params["page"] == "2"
    assert "Authorization" not in request.headers
    # Authorising the same request again (a retry) must not add the key twice.
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        run_sync(auth.auth_flow(request), client)
    assert request.url.params.get_list("api_key") == ["k-abcdef"]


def test_bearer_sets_the_authorization_header() -> None:
    assert authorise(Bearer(SecretStr("tok-987654"))).headers["Authorization"] == "Bearer tok-987654"


def test_basic_encodes_utf8_user_and_password() -> None:
    request = authorise(Basic("zoë", "pässwörd 1"))
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode("utf-8") == "zoë:pässwörd 1"


def test_basic_allows_an_empty_password_for_key_as_user_systems() -> None:
    request = authorise(Basic("sk_test_abcdef", ""))
    assert base64.b64decode(request.headers["Authorization"][6:]) == b"sk_test_abcdef:"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: APIKey(""), "key"),
        (lambda: APIKey("key-with-newline\n"), "key"),
        (lambda: APIKey(" padded-key"), "key"),
        (lambda: Bearer(""), "token"),
        (lambda: Bearer(b"bytes-token"), "token"),
        (lambda: Basic("", "pw"), "username"),
        (lambda: Basic("user", "pass\r\nX-Evil: 1"), "password"),
    ],
)
def test_invalid_inputs_name_the_field(build: object, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        build()  # type: ignore[operator]
    assert info.value.field == field
    assert field in str(info.value)


def test_conflicting_or_malformed_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="query_param"):
        APIKey("k-abcdef", header="X-Key", query_param="key")
    with pytest.raises(ConfigError, match="header name"):
        APIKey("k-abcdef", header="Bad Header")
    with pytest.raises(ConfigError, match="':'"):
        Basic("user:name", "password")


def test_reprs_show_where_the_secret_goes_but_never_the_secret() -> None:
    assert repr(APIKey("k-abcdef", header="X-API-Key")) == "APIKey(header='X-API-Key')"
    assert repr(APIKey("k-abcdef", query_param="api_key")) == "APIKey(query_param='api_key')"
    assert repr(Bearer("tok-987654")) == "Bearer()"
    assert repr(Basic("user-123456", "pw-123456")) == "Basic()"


def test_secret_values_list_every_secret() -> None:
    assert list(APIKey("k-abcdef").secret_values()) == ["k-abcdef"]
    values = set(Basic("user-123456", "pw-123456").secret_values())
    assert {"user-123456", "pw-123456"} <= values
    assert base64.b64encode(b"user-123456:pw-123456").decode() in values
