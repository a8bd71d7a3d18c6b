"""The loopback server's HTTP/1.1 request parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincon.sandbox._http1 import HTTPParseError, ParsedRequest, RequestParser

PIPELINE = (
    b"GET /v1/vendors?limit=2 HTTP/1.1\r\nHost: a\r\n\r\n"
    b"POST /v1/vendors HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    b"POST /v1/bills HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: yes\r\n\r\n"
    b"GET /v1/me HTTP/1.0\r\n\r\n"
)


def summary(requests: list[ParsedRequest]) -> list[tuple[str, str, bytes, bool, bool]]:
    return [(r.method, r.target, r.body, r.keep_alive, r.chunked) for r in requests]


EXPECTED = [
    ("GET", "/v1/vendors?limit=2", b"", True, False),
    ("POST", "/v1/vendors", b"hello", True, False),
    ("POST", "/v1/bills", b"Wikipedia", True, True),
    ("GET", "/v1/me", b"", False, False),
]


def test_pipelined_requests_come_out_in_order() -> None:
    parser = RequestParser()
    assert summary(parser.feed(PIPELINE)) == EXPECTED
    assert parser.idle


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(PIPELINE)), max_size=12))
def test_any_split_of_the_stream_parses_the_same(cuts: list[int]) -> None:
    parser = RequestParser()
    parsed: list[ParsedRequest] = []
    previous = 0
    for cut in [*sorted(cuts), len(PIPELINE)]:
        parsed.extend(parser.feed(PIPELINE[previous:cut]))
        previous = cut
    assert summary(parsed) == EXPECTED


def test_byte_by_byte() -> None:
    parser = RequestParser()
    parsed = [request for byte in PIPELINE for request in parser.feed(bytes([byte]))]
    assert summary(parsed) == EXPECTED


def test_headers_keep_their_spelling_and_values_are_trimmed() -> None:
    (request,) = RequestParser().feed(
        b"GET / HTTP/1.1\r\nX-Custom-Header:   spaced value \t\r\nhost: x\r\n\r\n"
    )
    assert request.headers == [(b"X-Custom-Header", b"spaced value"), (b"host", b"x")]


def test_connection_header_decides_keep_alive() -> None:
    parser = RequestParser()
    close, keep = parser.feed(
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
    )
    assert not close.keep_alive
    assert keep.keep_alive


def test_empty_lines_before_a_request_are_ignored() -> None:
    (request,) = RequestParser().feed(b"\r\n\r\nGET /x HTTP/1.1\r\n\r\n")
    assert request.target == "/x"


def test_expect_continue_is_flagged_until_the_body_arrives() -> None:
    parser = RequestParser()
    assert parser.feed(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n") == []
    assert parser.expects_continue
    (request,) = parser.feed(b"abc")
    assert request.body == b"abc"
    assert not parser.expects_continue


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET /\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / FTP/1.0\r\n\r\n", 400),
        (b"G(T / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\n folded: continuation\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x10\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400),
        (b"POST / HTTP/1.1\r\nExpect: something\r\n\r\n", 417),
    ],
)
def test_malformed_requests_are_refused_with_a_status(data: bytes, status: int) -> None:
    with pytest.raises(HTTPParseError) as raised:
        RequestParser().feed(data)
    assert raised.value.status == status


def test_size_limits() -> None:
    with pytest.raises(HTTPParseError) as head:
        RequestParser(max_head_bytes=100).feed(b"GET / HTTP/1.1\r\nX: " + b"a" * 200)
    assert head.value.status == 431
    with pytest.raises(HTTPParseError) as body:
        RequestParser(max_body_bytes=10).feed(b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n")
    assert body.value.status == 413
    with pytest.raises(HTTPParseError) as chunked:
        RequestParser(max_body_bytes=10).feed(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n"
        )
    assert chunked.value.status == 413


# The server's fast path from request target to httpx.URL -----------------------------------

_TARGET_CHARACTERS = "abcXYZ019-._~!$&'()*+,;=:@/%?#[] é"


@settings(max_examples=300, deadline=None)
@given(
    authority=st.sampled_from(
        ["127.0.0.1:8000", "localhost", "127.0.0.1:80", "host.test:65535", "999.1.1.1", "a..b"]
    ),
    target=st.text(alphabet=_TARGET_CHARACTERS, max_size=40).map(lambda text: "/" + text),
)
def test_fast_urls_equal_what_httpx_parses(authority: str, target: str) -> None:
    import httpx

    from fincon.sandbox._server import _plain_url

    fast = _plain_url(authority, target)
    if fast is None:
        return  # not plain: the server lets httpx parse it
    parsed = httpx.URL(f"http://{authority}{target}")
    assert str(fast) == str(parsed)
    assert (fast.host, fast.port, fast.path, fast.query, fast.params) == (
        parsed.host,
        parsed.port,
        parsed.path,
        parsed.query,
        parsed.params,
    )


def test_fast_urls_cover_the_usual_requests() -> None:
    from fincon.sandbox._server import _plain_url

    assert _plain_url("127.0.0.1:8123", "/v1/vendors?limit=10&starting_after=ven_00000010") is not None
    assert _plain_url("127.0.0.1:8123", "/v1/../etc") is None
    assert _plain_url("127.0.0.1:8123", "/a b") is None
    assert _plain_url("Example.TEST", "/") is None
