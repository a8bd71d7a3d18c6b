"""SAP Gateway's wire rules, seen from both sides: CSRF tokens, ``sap-message``, ``sap-client``
and ``sap-language``, against the SAP sandbox (which records what reached it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sap_testkit import emulator

import fincon
from fincon.errors import FinconError, PermissionDenied, RemoteValidationError
from fincon.models import Vendor
from fincon.sandbox import SandboxTransport

BP = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"


def recording(sap: Any) -> list[httpx.Request]:
    """Every request that reaches ``sap`` (before authentication, CSRF and client checks)."""
    seen: list[httpx.Request] = []
    checks = sap.before

    def before(request: httpx.Request, service: Any) -> httpx.Response | None:
        seen.append(request)
        return checks(request, service)

    sap.before = before
    return seen


def connect(sap: Any, **settings: Any) -> Any:
    return fincon.connect("sap", sandbox=sap, clock=sap.clock, share_limits=False, **settings)


def vendor(number: int) -> Vendor:
    return Vendor(name=f"Wire Rules {number} GmbH", external_id=f"WIRE-{number}", tax_id="DE811111111")


def writes(seen: list[httpx.Request]) -> list[httpx.Request]:
    return [r for r in seen if r.method in ("POST", "PUT", "PATCH", "MERGE", "DELETE")]


def session_cookie(request: httpx.Request) -> str:
    cookies = dict(
        part.strip().split("=", 1) for part in request.headers.get("Cookie", "").split(";") if "=" in part
    )
    return cookies.get("SAP_SESSIONID_FIN_100", "")


# -- CSRF ---------------------------------------------------------------------------------------


def test_a_token_is_fetched_once_on_a_safe_request_and_sent_with_the_session_cookie() -> None:
    sap = emulator(size=10)
    seen = recording(sap)
    with connect(sap) as connector:
        created = connector.vendors.create(vendor(1))
        connector.vendors.update(created.id, {"name": "Wire Rules 1b GmbH"})
        connector.vendors.delete(created.id)
    fetches = [r for r in seen if r.headers.get("x-csrf-token", "").lower() == "fetch"]
    assert [r.method for r in fetches] == ["HEAD"]  # a safe request, once for the session
    (session, token), *_ = sap.csrf_sessions.items()
    assert len(writes(seen)) == 3
    for request in writes(seen):
        assert request.headers["x-csrf-token"] == token
        assert session_cookie(request) == session
    assert sap.csrf_issued == 1


def test_a_token_the_server_forgot_is_fetched_again_exactly_once() -> None:
    sap = emulator(size=10)
    seen = recording(sap)
    with connect(sap) as connector:
        created = connector.vendors.create(vendor(2))
        first_token = next(iter(sap.csrf_sessions.values()))
        assert sap.expire_csrf_tokens() == 1  # the Gateway session timed out
        connector.vendors.update(created.id, {"name": "Wire Rules 2b GmbH"})
    updates = [r for r in writes(seen) if r.headers.get("X-HTTP-Method") == "MERGE"]
    assert [r.headers["x-csrf-token"] for r in updates] == [
        first_token,
        sap.csrf_sessions[session_cookie(updates[1])],
    ]
    assert first_token != updates[1].headers["x-csrf-token"]
    assert sum(r.headers.get("x-csrf-token", "").lower() == "fetch" for r in seen) == 2
    assert sap.store(BP.rsplit("/", 1)[1], "A_BusinessPartner").find((created.id,)).data[
        "OrganizationBPName1"
    ] == ("Wire Rules 2b GmbH")


def test_a_second_403_required_is_an_error_and_nothing_is_created() -> None:
    sap = emulator(size=10)
    seen = recording(sap)
    checks = sap._csrf

    def always_required(request: httpx.Request, service: Any) -> httpx.Response | None:
        if request.method == "POST":
            return httpx.Response(
                403, headers={"x-csrf-token": "Required"}, content=b"CSRF token validation failed"
            )
        return checks(request, service)

    sap._csrf = always_required
    with connect(sap) as connector, pytest.raises(PermissionDenied) as raised:
        connector.vendors.create(vendor(3))
    assert raised.value.code == "csrf"
    assert raised.value.status == 403
    assert len(writes(seen)) == 2  # the first try and one retry with a fresh token, no third
    assert sum(r.headers.get("x-csrf-token", "").lower() == "fetch" for r in seen) == 2
    store = sap.store("API_BUSINESS_PARTNER", "A_BusinessPartner")
    assert not [r for r in store.iter() if r.data.get("BusinessPartnerIDByExtSystem") == "WIRE-3"]


def test_the_emulator_refuses_a_write_without_a_valid_token() -> None:
    sap = emulator(size=5)
    client = httpx.Client(
        transport=SandboxTransport(sap), base_url=sap.base_url, auth=(sap.user, sap.password)
    )
    params = {"sap-client": "100"}
    refused = client.post(f"{BP}/A_BusinessPartner", params=params, json={"OrganizationBPName1": "X"})
    assert (refused.status_code, refused.headers["x-csrf-token"]) == (403, "Required")
    fetched = client.get(f"{BP}/", params=params, headers={"x-csrf-token": "Fetch"})
    token = fetched.headers["x-csrf-token"]
    wrong = client.post(
        f"{BP}/A_BusinessPartner",
        params=params,
        json={"OrganizationBPName1": "X"},
        headers={"x-csrf-token": "nope"},
    )
    assert wrong.status_code == 403
    # The token belongs to the session cookie: without the cookie it is refused too.
    client.cookies.clear()
    cookieless = client.post(
        f"{BP}/A_BusinessPartner",
        params=params,
        json={"OrganizationBPName1": "X"},
        headers={"x-csrf-token": token},
    )
    assert cookieless.status_code == 403


# -- sap-message --------------------------------------------------------------------------------


def test_an_error_sap_message_on_a_success_raises_with_the_message_in_details() -> None:
    sap = emulator(size=10)
    with connect(sap) as connector:
        sap.queue_message("error", "Posting period 005 2025 is not open", code="F5/201")
        with pytest.raises(RemoteValidationError) as raised:
            connector.vendors.get("10000001")
    error = raised.value
    assert error.code == "F5/201"
    assert "Posting period 005 2025 is not open" in str(error)
    assert error.details["sap-message"][0]["message"] == "Posting period 005 2025 is not open"


def test_warnings_are_kept_on_the_connector_and_the_call_succeeds() -> None:
    sap = emulator(size=10)
    with connect(sap) as connector:
        sap.queue_message("warning", "Bank details are incomplete", code="R1/086")
        found = connector.vendors.get("10000002")
        assert found.id == "10000002"
        assert [(w["severity"], w["message"]) for w in connector.native.warnings] == [
            ("warning", "Bank details are incomplete")
        ]
        connector.vendors.get("10000003")
        assert len(connector.native.warnings) == 1  # only answers that carried one add one


@pytest.mark.parametrize(
    "header",
    [
        "{not json",
        "[1, 2, 3]",
        '"just a string"',
        '{"severity": 5, "details": "nope", "message": null}',
        '{"details": [1, {"severity": "warning", "message": "deep"}]}',
        "\u00e9\u00e8 not json at all \u00e9",
    ],
)
def test_a_malformed_sap_message_never_crashes_a_call(header: str) -> None:
    sap = emulator(size=10)
    inner = SandboxTransport(sap)

    class Garbled(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = inner.handle_request(request)
            if request.method == "GET" and "A_BusinessPartner(" in request.url.path:
                response.headers["sap-message"] = header.encode("utf-8").decode("latin-1")
            return response

    with fincon.connect(
        "sap",
        **sap.credentials(),
        base_url=sap.base_url,
        transport=Garbled(),
        clock=sap.clock,
        share_limits=False,
    ) as connector:
        assert connector.vendors.get("10000004").id == "10000004"
        assert all(isinstance(w, dict) for w in connector.native.warnings)


# -- sap-client and sap-language ----------------------------------------------------------------


def test_sap_client_and_sap_language_are_on_every_request() -> None:
    sap = emulator(size=12, sap_client="300")
    seen = recording(sap)
    with connect(sap, **{**sap.credentials(), "language": "DE"}) as connector:
        connector.check()
        list(connector.vendors.list(page_size=5))
        list(connector.bills.list(page_size=5, max_pages=2))
        created = connector.vendors.create(vendor(4))
        connector.vendors.update(created.id, {"name": "Wire Rules 4b GmbH"})
        list(connector.native.query("API_BUSINESS_PARTNER", "A_Customer", {"$top": "3"}))
    assert len(seen) >= 10
    for request in seen:
        assert request.url.params.get("sap-client") == "300", request.url
        assert request.headers.get("sap-language") == "DE", request.url


@pytest.mark.parametrize(("client", "status"), [(None, 401), ("200", 401), ("100", 200)])
def test_the_emulator_refuses_a_missing_or_wrong_sap_client(client: str | None, status: int) -> None:
    sap = emulator(size=5)
    http = httpx.Client(transport=SandboxTransport(sap), base_url=sap.base_url, auth=(sap.user, sap.password))
    params = {"$top": "1"} | ({"sap-client": client} if client else {})
    response = http.get(f"{BP}/A_Supplier", params=params)
    assert response.status_code == status
    if status == 401:
        assert "Logon failed" in response.text


def test_a_connector_configured_for_another_client_is_refused() -> None:
    sap = emulator(size=5)
    with (
        connect(sap, **{**sap.credentials(), "sap_client": "200"}) as connector,
        pytest.raises(FinconError) as raised,
    ):
        connector.vendors.get("10000001")
    assert raised.value.status == 401


# -- async --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_listing_and_writes() -> None:
    sap = emulator(size=25)
    seen = recording(sap)
    async with fincon.connect_async("sap", sandbox=sap, clock=sap.clock, share_limits=False) as connector:
        ids = [v.id async for v in connector.vendors.list(page_size=10)]
        bills = [b async for b in connector.bills.list(page_size=10)]
        created = await connector.vendors.create(vendor(5))
        updated = await connector.vendors.update(created.id, {"name": "Async Rules GmbH"})
        await connector.vendors.delete(created.id)
        blocked = await connector.vendors.get(created.id)
    store = sap.store("API_BUSINESS_PARTNER", "A_BusinessPartner")
    expected = [r.data["BusinessPartner"] for r in store.iter() if r.data.get("Supplier")]
    assert len(ids) == 25
    assert ids == expected[:25]  # the vendor created after the listing comes last
    assert len(bills) == 25
    assert (created.external_id, updated.name, blocked.status) == ("WIRE-5", "Async Rules GmbH", "blocked")
    assert sum(r.headers.get("x-csrf-token", "").lower() == "fetch" for r in seen) == 1


# -- secrets ------------------------------------------------------------------------------------

MARK = "CNRY" + "sap7"  # split so that no source line shows a whole canary (see tests/conftest.py)


def canary(name: str) -> str:
    return f"{MARK}-{name}-3c9e"


class _Capture:
    def __init__(self) -> None:
        import logging

        self.lines: list[str] = []
        capture = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                capture.lines.append(record.getMessage())

        self.handler = Handler(logging.DEBUG)


@pytest.fixture
def debug_logs() -> Any:
    import logging

    capture = _Capture()
    loggers = [logging.getLogger(name) for name in ("fincon", "httpx", "httpcore")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(capture.handler)
        logger.setLevel(logging.DEBUG)
    yield capture
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(capture.handler)
        logger.setLevel(level)


def _planted(sap: Any) -> None:
    from fincon.connectors.sap.sandbox import SANDBOX_CLIENT_ID
    from fincon.sandbox import ClientCredentialsIssuer

    sap.password = canary("basic-password")
    sap.issuer = ClientCredentialsIssuer(
        {SANDBOX_CLIENT_ID: (canary("client-secret"), "300000")}, clock=sap.clock, token_prefix="sap_"
    )
    tokens = iter(range(1000))
    sap.new_csrf_token = lambda: canary(f"csrf-{next(tokens)}")


CREDENTIALS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "basic": lambda sap: {"user": sap.user, "password": canary("basic-password")},
    "oauth": lambda sap: {"client_id": "fincon-sap-sandbox", "client_secret": canary("client-secret")},
}


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_no_secret_escapes_into_reprs_logs_errors_or_audit(kind: str, tmp_path: Any, debug_logs: Any) -> None:
    sap = emulator(size=10)
    _planted(sap)
    audit_file = tmp_path / "audit.jsonl"
    events: list[Any] = []
    texts: list[str] = []
    connector = connect(
        sap,
        **CREDENTIALS[kind](sap),
        audit=[str(audit_file), events.append, "log"],
        audit_reads=True,
    )
    texts += [
        repr(connector),
        repr(connector.core),
        repr(connector.core.settings),
        str(connector.core.settings),
    ]
    with connector:
        created = connector.vendors.create(vendor(6))
        texts += [repr(created), json.dumps(created.dump(include_raw=True, mode="json"))]
        sap.expire_csrf_tokens()  # a refetch: the second token is planted too
        connector.vendors.update(created.id, {"name": "Canary Checks GmbH"})
        texts.append(repr(connector.core.csrf.__dict__.keys()))
        sap.queue_message("error", "refused")
        for action in (
            lambda: connector.vendors.get("10000001"),  # the sap-message error
            lambda: connector.vendors.get("19999999"),  # a 404 with SAP's error body
        ):
            try:
                action()
            except FinconError as error:
                import traceback

                texts += ["".join(traceback.format_exception(error)), repr(error), str(error.details)]
    planted_token = next(iter(sap.csrf_sessions.values()))
    assert planted_token.startswith(MARK)  # the connector really carried a planted token
    assert audit_file.read_text().count("\n") >= 4
    texts.append(audit_file.read_text())
    texts += [str(event.to_dict()) for event in events]
    texts += debug_logs.lines
    assert debug_logs.lines, "nothing was logged at DEBUG: the log check proved nothing"
    leaks = [text for text in texts if MARK in text]
    assert not leaks, f"{kind}: a secret leaked into {len(leaks)} places, first: {leaks[0][:300]!r}"
