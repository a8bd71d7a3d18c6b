"""Secrets never leak: the redaction registry, header and URL masking, and log redaction."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import httpx
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fincon.core import redaction
from fincon.core.redaction import (
    RedactingFilter,
    forget_secret,
    install_log_redaction,
    redact,
    redact_headers,
    redact_url,
    register_secret,
)

CANARY = "fincon-canary-7Qz9xK2mWv"
# Characters that URL, JSON and repr encoders all escape.
SPECIAL_CANARY = 'Sp3c!al/c@nary+key=1 "q" \\ é'

register_secret(CANARY)
register_secret(SPECIAL_CANARY)


# -- the registry ------------------------------------------------------------------------


def test_registered_secret_is_masked_everywhere_in_text() -> None:
    text = f"{CANARY} at start, {CANARY}in the middle{CANARY}, and at the end {CANARY}"
    out = redact(text)
    assert CANARY not in out
    assert out == "*** at start, ***in the middle***, and at the end ***"


def test_text_without_secrets_is_returned_unchanged() -> None:
    text = "GET /v1/invoices?limit=100 -> 200 in 12.3ms"
    assert redact(text) is text
    assert redact("") == ""


def test_short_and_empty_values_are_not_registered() -> None:
    register_secret("")
    register_secret("ab1x5")  # 5 characters: ignored, it would garble ordinary text
    assert redact("ab1x5 is an ordinary word here") == "ab1x5 is an ordinary word here"
    register_secret("zq7Wv3")  # 6 characters: the shortest secret that is kept
    try:
        assert redact("the value zq7Wv3.") == "the value ***."
    finally:
        forget_secret("zq7Wv3")
    assert redact("the value zq7Wv3.") == "the value zq7Wv3."


def test_url_encoded_forms_are_masked() -> None:
    lower_escapes = re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(SPECIAL_CANARY, safe=""))
    for encoded in (
        quote(SPECIAL_CANARY, safe=""),
        quote(SPECIAL_CANARY),
        quote_plus(SPECIAL_CANARY),
        lower_escapes,
    ):
        text = f"POST https://api.example.com/token?client_secret={encoded}&grant_type=x"
        out = redact(text)
        assert encoded not in out, encoded
        assert "client_secret=***&grant_type=x" in out


def test_json_and_repr_escaped_forms_are_masked() -> None:
    body = json.dumps({"password": SPECIAL_CANARY, "user": "ann"})
    assert "***" in redact(body)
    assert json.dumps(SPECIAL_CANARY)[1:-1] not in redact(body)
    assert json.loads(redact(body))["password"] == "***"  # the JSON stays valid
    shown = repr({"password": SPECIAL_CANARY})
    assert repr(SPECIAL_CANARY)[1:-1] not in redact(shown)


@pytest.mark.parametrize("prefix", ["", "u", "us", "usr", "user", "user:", "longer user name:"])
def test_base64_encoded_secret_is_masked_at_every_alignment(prefix: str) -> None:
    encoded = base64.b64encode(f"{prefix}{CANARY}tail".encode()).decode()
    header = f"Authorization: Basic {encoded}"
    out = redact(header)
    assert out != header
    assert "***" in out
    # What is left of the Base64 on either side is too short to carry the canary.
    runs = re.findall(r"[A-Za-z0-9+/=]+", out.removeprefix("Authorization: Basic "))
    assert max(len(run) for run in runs) < len(CANARY) * 4 // 3


def test_urlsafe_base64_is_masked() -> None:
    encoded = base64.urlsafe_b64encode(b"\xfb\xff" + CANARY.encode() + b"\xfb\xff").decode()
    assert "***" in redact(encoded)


def test_overlapping_secrets_are_both_masked() -> None:
    first, second = "ovl-aaaa-1111-bbbb", "1111-bbbb-cccc-ovl"
    register_secret(first)
    register_secret(second)
    try:
        out = redact("x ovl-aaaa-1111-bbbb-cccc-ovl y")
        assert out == "x *** y"
    finally:
        forget_secret(first)
        forget_secret(second)


def test_secret_in_very_long_text_is_masked_across_chunk_windows() -> None:
    # Long texts are scanned window by window: a secret straddling a window boundary counts too.
    window = redaction._GramIndex.WINDOW
    for offset in (window - 10, window * 2 - 1, window * 3 + 7, 300_001):
        text = "a" * offset + CANARY + "b" * 1000
        out = redact(text)
        assert CANARY not in out
        assert out == "a" * offset + "***" + "b" * 1000


def test_registration_is_thread_safe() -> None:
    values = [[f"thread{t}-secret-{i}-{secrets.token_hex(4)}" for i in range(25)] for t in range(8)]

    def register_all(group: list[str]) -> None:
        for value in group:
            register_secret(value)

    threads = [threading.Thread(target=register_all, args=(group,)) for group in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        for group in values:
            for value in group:
                assert redact(f"<{value}>") == "<***>"
    finally:
        for group in values:
            for value in group:
                forget_secret(value)
    assert redact(f"<{values[0][0]}>") == f"<{values[0][0]}>"


# -- property: the canary never survives ---------------------------------------------------

_pieces = st.one_of(
    st.text(max_size=30),
    st.just(CANARY),
    st.sampled_from(
        [CANARY[:i] for i in range(1, len(CANARY))] + [CANARY[i:] for i in range(1, len(CANARY))]
    ),
)


@given(st.lists(_pieces, max_size=12), st.integers(min_value=0, max_value=12))
def test_property_canary_never_survives(pieces: list[str], position: int) -> None:
    pieces.insert(min(position, len(pieces)), CANARY)
    assert CANARY not in redact("".join(pieces))


_secret_alphabet = st.characters(exclude_categories=["Cs"], exclude_characters="*")


@settings(max_examples=60, deadline=None)
@given(
    st.text(_secret_alphabet, min_size=6, max_size=40),
    st.text(max_size=40),
    st.text(max_size=40),
)
def test_property_any_registered_secret_never_survives(secret: str, before: str, after: str) -> None:
    assume(redact(secret) == secret)  # not registered already (it would be forgotten below)
    register_secret(secret)
    try:
        assert secret not in redact(before + secret + after + secret)
    finally:
        forget_secret(secret)


# -- headers and URLs ----------------------------------------------------------------------


def test_redact_headers_masks_credentials_and_keeps_the_rest() -> None:
    headers = {
        "Authorization": "Bearer abc.def.ghi",
        "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        "Cookie": "sid=1",
        "Set-Cookie": "sid=2; HttpOnly",
        "X-API-Key": "k1",
        "api-key": "k2",
        "Ocp-Apim-Subscription-Key": "k3",
        "x-csrf-token": "t1",
        "X-Amz-Security-Token": "t2",
        "X-Session-Id": "s1",
        "X-Client-Secret": "s2",
        "X-Webhook-Signature": "s3",
        "X-Password": "p1",
        "Idempotency-Key": "v-acme-1",
        "Content-Type": "application/json",
        "X-Debug": f"carries {CANARY}",
    }
    out = redact_headers(headers)
    assert list(out) == list(headers)  # names and order kept
    kept = {"Idempotency-Key", "Content-Type", "X-Debug"}
    for name in headers.keys() - kept:
        assert out[name] == "***", name
    assert out["Idempotency-Key"] == "v-acme-1"
    assert out["Content-Type"] == "application/json"
    assert out["X-Debug"] == "carries ***"
    assert headers["Authorization"] == "Bearer abc.def.ghi"  # the input is not modified


def test_redact_headers_accepts_httpx_headers() -> None:
    out = redact_headers(httpx.Headers({"authorization": "Bearer x", "accept": "*/*"}))
    assert out == {"authorization": "***", "accept": "*/*"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://user:pa55w0rd@api.example.com/v1/x?api_key=abc&limit=10&access_token=xyz",
            "https://user:***@api.example.com/v1/x?api_key=***&limit=10&access_token=***",
        ),
        ("https://sk_test_123:@api.stripe.com/v1/charges", "https://***:@api.stripe.com/v1/charges"),
        ("https://user@host/x", "https://user@host/x"),
        (
            "https://app.example.com/cb?code=SplxlOBeZQ&state=af0ifjsldkj",
            "https://app.example.com/cb?code=***&state=af0ifjsldkj",
        ),
        (
            "https://app.example.com/cb#access_token=abc&token_type=bearer",
            "https://app.example.com/cb#access_token=***&token_type=bearer",
        ),
        (
            "https://h/x?API_KEY=1&Client%5Fsecret=2&sig=3&signature=4&refresh_token=5&sessionid=6&apikey=7",
            "https://h/x?API_KEY=***&Client%5Fsecret=***&sig=***&signature=***&refresh_token=***&sessionid=***&apikey=***",
        ),
        (
            "https://s3.example.com/b/k?X-Amz-Credential=AKIA&X-Amz-Signature=ff&X-Amz-Date=20260101",
            "https://s3.example.com/b/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Date=20260101",
        ),
        ("https://h/x?password=&flag", "https://h/x?password=&flag"),
        (
            "https://h/v1/invoices?limit=100&starting_after=in_1",
            "https://h/v1/invoices?limit=100&starting_after=in_1",
        ),
        (f"https://h/{CANARY}/x?q={CANARY}", "https://h/***/x?q=***"),
        ("not a url at all", "not a url at all"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


# -- logging ---------------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything logged anywhere, formatted, with fincon redaction installed."""
    install_log_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    logger = logging.getLogger("fincon.x")
    previous_level = logger.level
    logger.setLevel(logging.DEBUG)
    root.addHandler(handler)
    logger.addHandler(handler)  # a handler added after installation, on the child itself
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def test_canary_never_reaches_log_output(captured: io.StringIO) -> None:
    logger = logging.getLogger("fincon.x")
    logger.info(f"token in message {CANARY}")
    logger.info("token in args %s and %r", CANARY, {"Authorization": f"Bearer {CANARY}"})
    logger.info("url-encoded %s", quote(SPECIAL_CANARY, safe=""))
    try:
        try:
            raise KeyError(f"inner {CANARY}")
        except KeyError as inner:
            raise RuntimeError(f"login failed for secret {CANARY}") from inner
    except RuntimeError:
        logger.exception("call failed")
    logging.getLogger("fincon.x.deeper").warning("nested %s", CANARY)

    output = captured.getvalue()
    assert CANARY not in output
    assert quote(SPECIAL_CANARY, safe="") not in output
    assert output.count("***") >= 6
    assert "Traceback" in output  # the exception text is still shown, redacted
    assert "login failed for secret ***" in output
    assert "inner ***" in output


def test_install_log_redaction_is_idempotent() -> None:
    install_log_redaction()
    factory = logging.getLogRecordFactory()
    install_log_redaction()
    install_log_redaction("fincon")
    assert logging.getLogRecordFactory() is factory
    filters = [f for f in logging.getLogger("fincon").filters if isinstance(f, RedactingFilter)]
    assert len(filters) == 1


def test_install_attaches_to_existing_handlers_of_the_logger() -> None:
    logger = logging.getLogger("fincon.handlers-test")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        install_log_redaction("fincon.handlers-test")
        install_log_redaction("fincon.handlers-test")
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)


def test_other_loggers_are_left_alone_by_the_factory() -> None:
    install_log_redaction()
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    other = logging.getLogger("otherlib.client")
    other.addHandler(handler)
    other.setLevel(logging.INFO)
    try:
        other.info("value %s", 42)
    finally:
        other.removeHandler(handler)
        other.setLevel(logging.NOTSET)
    assert records[0].args == (42,)  # not formatted eagerly: not under "fincon"


def test_redacting_filter_on_a_handler_covers_any_logger_and_extras() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s | %(detail)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("httpx-like")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("HTTP Request: GET %s", f"https://h/x?{CANARY}", extra={"detail": CANARY})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    assert stream.getvalue() == "HTTP Request: GET https://h/x?*** | ***\n"


def test_bad_format_arguments_do_not_leak_through_the_logging_error_report() -> None:
    record = logging.LogRecord("fincon.x", logging.INFO, __file__, 1, "%d items", (CANARY,), None)
    RedactingFilter().filter(record)
    assert CANARY not in record.getMessage()
    assert record.args is None


# -- performance -----------------------------------------------------------------------------


def test_redact_is_fast_when_no_secret_occurs() -> None:
    # Exactly 50 secrets: set aside those other tests registered in this process, restore them after.
    others = list(redaction._secrets)
    many = [secrets.token_urlsafe(24) for _ in range(50)]
    for value in others:
        forget_secret(value)
    for value in many:
        register_secret(value)
    line = (
        "2026-01-01T12:00:00Z INFO fincon.transport GET https://api.example.com/v1/invoices"
        "?limit=100&starting_after=in_1MvN8z -> 200 in 123.4ms request_id=req_8cQ2xL user=ap-clerk"
    ).ljust(200, ".")
    assert len(line) == 200
    try:
        assert redact(line) is line
        # Best of many short rounds (as timeit advises): a round the scheduler interrupted on a
        # busy machine says nothing about redact itself.
        iterations, best = 200, float("inf")
        for _ in range(50):
            start = time.perf_counter()
            for _ in range(iterations):
                redact(line)
            best = min(best, (time.perf_counter() - start) / iterations)
        assert best < 20e-6, f"redact took {best * 1e6:.1f} µs per 200-char line"
    finally:
        for value in many:
            forget_secret(value)
        for value in others:
            register_secret(value)
    assert redact(CANARY) == "***"
