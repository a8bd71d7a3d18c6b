"""TLS everywhere but loopback, and same-origin rules."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fincon_corekit import SYSTEM, FakeServer

import fincon
from fincon.core.urls import is_loopback_host, require_safe_url, require_same_origin, same_origin
from fincon.errors import ConfigError, PaginationError

Make = Callable[..., fincon.Connector]


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "api.localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    ["example.com", "localhost.example.com", "127.0.0.1.nip.io", "10.0.0.1", "0.0.0.0", "::", "192.168.1.1"],
)
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com",
        "https://api.example.com:8443/v1",
        "http://127.0.0.1:8080",
        "http://localhost:9000/x",
        "http://[::1]:8000",
    ],
)
def test_safe_urls(url: str) -> None:
    assert require_safe_url(url) == httpx.URL(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.example.com", "http://"),
        ("http://10.0.0.5:8080", "loopback"),
        ("http://127.0.0.1.nip.io", "loopback"),
        ("ftp://files.example.com", "https://"),
        ("api.example.com", "https://"),
        ("https://", "https://"),
    ],
)
def test_unsafe_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        require_safe_url(url, system="sys")
    assert caught.value.system == "sys"


def test_same_origin() -> None:
    base = httpx.URL("https://api.example.com/v1")
    assert same_origin(base, httpx.URL("https://api.example.com:443/other"))
    assert same_origin(base, httpx.URL("https://API.example.com/x"))
    assert not same_origin(base, httpx.URL("http://api.example.com/v1"))
    assert not same_origin(base, httpx.URL("https://api.example.com:444/v1"))
    assert not same_origin(base, httpx.URL("https://other.example.com/v1"))


def test_require_same_origin_resolves_relative_links() -> None:
    base = httpx.URL("https://api.example.com/v1/")
    assert require_same_origin("vendors?page=2", base) == httpx.URL(
        "https://api.example.com/v1/vendors?page=2"
    )
    assert require_same_origin("/v2/x", base) == httpx.URL("https://api.example.com/v2/x")
    with pytest.raises(PaginationError):
        require_same_origin("//evil.example/x", base)
    with pytest.raises(PaginationError):
        require_same_origin("https://user@evil.example/x", base)


# -- through connect() ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://api.coretest.example", "http://192.168.0.10:8080", "ftp://api.coretest.example"]
)
def test_connect_refuses_plain_http_to_remote_hosts(make: Make, server: FakeServer, url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make(base_url=url)
    assert caught.value.system == SYSTEM
    assert "base_url" in str(caught.value)
    assert server.requests == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:9000", "http://[::1]:8000"])
def test_connect_allows_plain_http_to_loopback(make: Make, server: FakeServer, url: str) -> None:
    erp = make(base_url=url)
    erp.vendors.get("v001")
    assert server.requests[0].url.scheme == "http"
    assert httpx.URL(url).host == server.requests[0].url.host


def test_raw_request_to_another_origin_is_refused(make: Make, server: FakeServer) -> None:
    erp = make()
    with pytest.raises(fincon.FinconError):
        erp.request("GET", "https://evil.example/steal")
    with pytest.raises(fincon.FinconError):
        erp.request("GET", "http://api.coretest.example/v1/me")  # a downgrade to plain HTTP
    assert server.requests == []
    assert erp.request("GET", "https://api.coretest.example/v1/me").status_code == 200
