"""Reading responses: exact JSON, statuses to errors, request ids, Retry-After."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincon.core.responses import (
    error_class_for_status,
    error_for_status,
    parse_json,
    parse_retry_after,
    request_id_of,
    retry_after_seconds,
)
from fincon.errors import (
    AuthError,
    Conflict,
    FinconError,
    NotFound,
    PermissionDenied,
    RateLimited,
    RemoteValidationError,
    ServerError,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


# -- statuses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, RemoteValidationError, False),
        (401, AuthError, False),
        (403, PermissionDenied, False),
        (404, NotFound, False),
        (405, RemoteValidationError, False),
        (408, ServerError, True),
        (409, Conflict, False),
        (410, NotFound, False),
        (412, Conflict, False),
        (422, RemoteValidationError, False),
        (425, ServerError, True),
        (429, RateLimited, True),
        (500, ServerError, True),
        (501, ServerError, False),
        (502, ServerError, True),
        (503, ServerError, True),
        (504, ServerError, True),
    ],
)
def test_status_to_error(status: int, cls: type[FinconError], retryable: bool) -> None:
    assert error_class_for_status(status) is cls
    response = httpx.Response(status, headers={"x-request-id": "rid-1"})
    error = error_for_status(response, system="sys", code="C1", details={"why": "x"})
    assert type(error) is cls
    assert (error.status, error.system, error.code, error.request_id) == (status, "sys", "C1", "rid-1")
    assert error.retryable is retryable
    assert error.details == {"why": "x"}
    assert str(status) in error.message


def test_error_message_from_vendor() -> None:
    error = error_for_status(httpx.Response(404), system="s", message="no vendor 12")
    assert error.message == "no vendor 12"
    assert str(error) == "[s 404] no vendor 12"


@pytest.mark.parametrize(
    "header", ["request-id", "X-Request-ID", "x-ms-request-id", "sap-request-id", "x-correlation-id"]
)
def test_request_id_headers(header: str) -> None:
    assert request_id_of(httpx.Response(200, headers={header: "abc"})) == "abc"


def test_no_request_id() -> None:
    assert request_id_of(httpx.Response(200)) is None


def test_errors_pickle_with_their_fields() -> None:
    import pickle

    error = RateLimited("slow", system="s", status=429, retry_at=NOW, request_id="r")
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (type(clone), clone.status, clone.retry_at, clone.request_id) == (RateLimited, 429, NOW, "r")


# -- exact JSON ----------------------------------------------------------------------------------------


def test_json_numbers_are_decimal() -> None:
    body = parse_json(httpx.Response(200, content=b'{"a": 0.1, "b": [1.10, 2, -3.5e2], "c": {"d": 1E-7}}'))
    assert body["a"] == Decimal("0.1")
    assert type(body["a"]) is Decimal
    assert [str(x) for x in body["b"]] == ["1.10", "2", "-3.5E+2"]
    assert type(body["b"][1]) is int
    assert body["c"]["d"] == Decimal("1E-7")
    assert Decimal("0.1") + Decimal("0.2") == body["a"] + Decimal("0.2") == Decimal("0.3")


def test_a_utf8_byte_order_mark_is_ignored_and_text_is_utf8() -> None:
    body = parse_json(httpx.Response(200, content='\ufeff{"name": "Zürich AG", "n": 1.5}'.encode()))
    assert body == {"name": "Zürich AG", "n": Decimal("1.5")}


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b'"\\ud800"',
        '{"a": 1}'.encode("utf-16"),
        b"not json",
        b'{"a": 1,}',
        b"\xff\xfe\x00",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b"[-Infinity]",
        b"[" * 100_000,
    ],
)
def test_malformed_json_is_a_server_error(content: bytes) -> None:
    with pytest.raises(ServerError) as caught:
        parse_json(
            httpx.Response(502 if content == b"" else 200, content=content, headers={"request-id": "r9"}),
            system="s",
        )
    error = caught.value
    assert not isinstance(error, ValueError)
    assert (error.code, error.system, error.request_id, error.retryable) == (
        "malformed_response",
        "s",
        "r9",
        False,
    )


@settings(deadline=None)
@given(
    st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.decimals(allow_nan=False, allow_infinity=False),
            st.text(max_size=5),
        ),
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(st.text(max_size=3), children, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_no_float_ever_comes_out(value: object) -> None:
    from fincon.core.jsonenc import dumps

    parsed = parse_json(httpx.Response(200, content=dumps(value)))

    def walk(node: object) -> None:
        assert not isinstance(node, float)
        if isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(parsed)


# -- Retry-After ---------------------------------------------------------------------------------------


@settings(deadline=None)
@given(st.text())
def test_retry_after_never_raises(raw: str) -> None:
    result = parse_retry_after(raw, NOW)
    assert result is None or (isinstance(result, float) and result >= 0)


@settings(deadline=None)
@given(st.text(alphabet=st.characters(codec="latin-1")))
def test_retry_after_header_never_raises(raw: str) -> None:
    """Header values arrive latin-1 decoded: "²" and friends included."""
    try:
        response = httpx.Response(429, headers={"Retry-After": raw.encode("latin-1")})
    except Exception:
        return
    result = retry_after_seconds(response, NOW)
    assert result is None or result >= 0


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["", " ", "\t"]), st.integers(0, 3))
def test_numeric_retry_after_is_that_many_seconds(seconds: int, pad: str, zeros: int) -> None:
    assert parse_retry_after(f"{pad}{'0' * zeros}{seconds}{pad}", NOW) == float(seconds)


@settings(deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=NOW.replace(tzinfo=None), timezones=st.just(timezone.utc)
    )
)
def test_http_dates_in_the_past_mean_now(when: datetime) -> None:
    assert parse_retry_after(format_datetime(when, usegmt=True), NOW) == 0.0


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=10 * 365 * 86400))
def test_http_dates_in_the_future(seconds: int) -> None:
    when = NOW + timedelta(seconds=seconds)
    assert parse_retry_after(format_datetime(when, usegmt=True), NOW) == float(seconds)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0),
        ("Sunday, 01-Mar-26 12:00:30 GMT", 30.0),  # the obsolete RFC 850 form
        ("Sun, 01 Mar 2026 12:00:30 +0100", 0.0),  # an explicit offset is honoured (11:00:30 UTC: past)
        ("", None),
        ("   ", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("²", None),
        ("٣", None),
        ("9" * 5000, 1e9),
        ("Fri, 31 Dec 9999 23:59:59 -2359", 1e9),
    ],
)
def test_retry_after_examples(raw: str, expected: float | None) -> None:
    assert parse_retry_after(raw, NOW) == expected


def test_retry_after_absent() -> None:
    assert retry_after_seconds(httpx.Response(429), NOW) is None
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "3"}), NOW) == 3.0
