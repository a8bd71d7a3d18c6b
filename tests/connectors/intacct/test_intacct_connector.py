"""The Intacct connector against its sandbox: sessions, errors, paging, writes, hostile XML."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from intacct_testkit import emulator

import fincon
from fincon.connectors.intacct._envelope import GATEWAY_PATH
from fincon.connectors.intacct._xml import parse_xml
from fincon.core.clock import FakeClock
from fincon.core.pagination import decode_cursor
from fincon.errors import AuthError, NotFound, RemoteValidationError, ServerError, TransportError
from fincon.models import Bill, LineItem, Money, Ref, Vendor
from fincon.testing.conformance import ConformanceSuite


def _connect(emu, clock, **settings):
    return fincon.connect("intacct", sandbox=emu, clock=clock, share_limits=False, **settings)


def test_login_moves_calls_to_the_session_endpoint_and_reuses_the_session() -> None:
    clock = FakeClock()
    emu = emulator(size=30, clock=clock, endpoint_path="/dc2/ia/xml/xmlgw.phtml")
    with _connect(emu, clock) as connector:
        list(connector.vendors.list(page_size=10))
        connector.vendors.get("V000002")
    assert emu.sessions_issued == 1
    assert emu.paths_received[0] == GATEWAY_PATH
    assert set(emu.paths_received[1:]) == {"/dc2/ia/xml/xmlgw.phtml"}


def test_expired_session_inside_a_200_logs_in_again_once() -> None:
    clock = FakeClock()
    emu = emulator(size=30, clock=clock)
    with _connect(emu, clock) as connector:
        connector.vendors.get("V000001")
        emu.expire_sessions()
        assert connector.vendors.get("V000003").id == "V000003"
    assert emu.sessions_issued == 2


def test_session_timeout_is_honoured_before_the_server_refuses() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock, session_ttl=600)
    with _connect(emu, clock) as connector:
        connector.vendors.get("V000001")
        clock.advance(590)  # inside the minute before the timeout: renewed before use
        connector.vendors.get("V000002")
    assert emu.sessions_issued == 2


def test_entity_id_opens_the_session_in_that_entity() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock, entity_id="GB") as connector:
        assert connector.check().details["entity"] == "GB"
    with (
        _connect(emulator(size=5, clock=clock), clock, entity_id="XX") as connector,
        pytest.raises(AuthError),
    ):
        connector.check()


def test_an_existing_session_id_is_used_without_logging_in() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as first:
        first.check()
        session = first._core.auth.session.id
    settings = {k: v for k, v in emu.credentials().items() if k in ("sender_id", "sender_password")}
    with fincon.connect(
        "intacct",
        transport=first._core.settings.transport,
        base_url=emu.base_url,
        clock=clock,
        session_id=session,
        share_limits=False,
        **settings,
    ) as second:
        assert second.vendors.get("V000004").id == "V000004"
        emu.expire_sessions()
        with pytest.raises(AuthError, match="no user credentials"):
            second.vendors.get("V000004")
    assert emu.sessions_issued == 1


def test_wrong_credentials_are_an_auth_error_with_every_intacct_field() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with (
        _connect(emu, clock, user_password="wrong-password-canary") as connector,
        pytest.raises(AuthError) as caught,
    ):
        connector.check()
    error = caught.value
    assert error.code == "XL03000006"
    assert error.details["errors"][0].keys() == {"errorno", "description", "description2", "correction"}
    assert "wrong-password-canary" not in str(error)
    assert "wrong-password-canary" not in repr(error.details)


def test_result_failure_in_a_200_becomes_a_typed_error() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        with pytest.raises(RemoteValidationError) as caught:
            connector.bills.create(
                Bill(
                    vendor=Ref("V-NOBODY"),
                    issue_date=date(2026, 1, 1),
                    lines=[LineItem(account=Ref("6000"), amount=Money(Decimal("1.00"), "USD"))],
                )
            )
        assert caught.value.status == 200
        assert caught.value.code == "BL03000018"
        assert caught.value.details["function"] == "create"
        with pytest.raises(NotFound):
            connector.vendors.get("V999999")


def test_gateway_throttling_is_retried_with_backoff() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        connector.check()
        emu.faults.throttle(retry_after=3, times=2)
        started = clock.monotonic()
        assert connector.vendors.get("V000001").id == "V000001"
        assert clock.monotonic() - started >= 6
    assert emu.faults.kinds() == ["throttle", "throttle"]


def test_lost_read_more_continues_with_query_at_the_same_position() -> None:
    clock = FakeClock()
    emu = emulator(size=95, clock=clock)
    with _connect(emu, clock) as connector:
        # Set before the listing starts: a prefetching listing may send page 2 before page 1 is seen.
        emu.faults.drop_after(times=1, when=lambda request: b"<readMore>" in request.content)
        pages = connector.vendors.list(page_size=10).pages()
        first = next(pages)
        assert decode_cursor(first.next_cursor)[1]["via"] == "readMore"
        second = next(pages)
        assert decode_cursor(second.next_cursor)[1]["via"] == "query"
        rest = [record.id for page in pages for record in page.items]
    ids = [r.id for r in first.items] + [r.id for r in second.items] + rest
    assert ids == [f"V{n:06d}" for n in range(1, 96)]
    assert emu.functions_received.count("readMore") == 1


def test_updated_since_reads_use_query_on_whenmodified() -> None:
    clock = FakeClock()
    emu = emulator(size=400, clock=clock)
    since = datetime(2025, 6, 1, tzinfo=UTC)
    with _connect(emu, clock) as connector:
        listing = connector.vendors.list(updated_since=since, page_size=50)
        got = list(listing)
    assert got
    assert all(record.updated_at >= since for record in got)
    expected = [r.data.fields["VENDORID"] for r in emu.vendors.iter(updated_since=since)]
    assert [r.id for r in got] == expected
    assert "readByQuery" not in emu.functions_received


def test_create_lost_then_not_applied_is_sent_again_once() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        connector.check()
        emu.faults.timeout(applied=False, times=1, when=lambda r: b"<create>" in r.content)
        created = connector.vendors.create(Vendor(id="V-NEW-1", name="Retried Once Ltd"))
    assert created.id == "V-NEW-1"
    assert emu.functions_received.count("create") == 1
    assert sum(1 for data in emu.records("VENDOR") if data.fields["NAME"] == "Retried Once Ltd") == 1


def test_create_without_a_lookup_key_is_not_resent_after_a_lost_answer() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    bill = Bill(
        vendor=Ref("V000001"),
        issue_date=date(2026, 1, 1),
        lines=[LineItem(account=Ref("6000"), amount=Money(Decimal("2.50"), "USD"))],
    )
    with _connect(emu, clock) as connector:
        connector.check()
        emu.faults.drop_after(times=1, when=lambda r: b"<create>" in r.content)
        with pytest.raises(TransportError):
            connector.bills.create(bill)
    assert emu.functions_received.count("create") == 1


def test_amounts_and_dates_are_exact() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        created = connector.bills.create(
            Bill(
                number="EXACT-1",
                vendor=Ref("V000002"),
                issue_date=date(2026, 2, 28),
                due_date=date(2026, 3, 30),
                lines=[
                    LineItem(account=Ref("6000"), amount=Money(Decimal("0.10"), "USD")),
                    LineItem(
                        account=Ref("6100"),
                        amount=Money(Decimal("0.20"), "USD"),
                        dimensions={"project": "P1"},
                    ),
                ],
            )
        )
    assert created.total == Money(Decimal("0.30"), "USD")
    assert created.issue_date == date(2026, 2, 28)
    assert created.due_date == date(2026, 3, 30)
    assert created.lines[1].dimensions == {"project": "P1"}
    assert created.vendor == Ref("V000002", emu.vendors.get("2").data.fields["NAME"])


@pytest.mark.parametrize("body", ["xxe", "billion_laughs"])
def test_hostile_xml_is_refused_quickly_with_a_typed_error(body: str) -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        connector.check()
        emu.faults.malformed(body, times=None)
        started = time.perf_counter()
        with pytest.raises(ServerError, match="document type"):
            connector.vendors.get("V000001")
    # The refusal happens before parsing (microseconds); an expansion would take far longer.
    # The bound is the conformance suite's, generous for a loaded 2-core CI machine.
    assert time.perf_counter() - started < ConformanceSuite.hostile_body_deadline


def test_the_parser_refuses_entities_even_without_a_doctype_check() -> None:
    """Defence in depth: the lxml parser itself never resolves entities nor reads files."""
    from lxml import etree

    from fincon.connectors.intacct._xml import _parser

    root = etree.fromstring(
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', _parser()
    )
    assert "root:" not in (etree.tostring(root).decode())
    with pytest.raises(ServerError):
        parse_xml(b"<response><unclosed></response>")
    with pytest.raises(ServerError):
        parse_xml(b"<!-- x -->" * 10 + b"<!DOCTYPE r><r/>")


def test_html_5xx_from_the_gateway_is_a_retryable_server_error() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock, max_retries=0) as connector:
        connector.check()
        emu.faults.server_error(503)
        with pytest.raises(ServerError) as caught:
            connector.vendors.get("V000001")
    assert caught.value.status == 503
    assert caught.value.retryable


def test_secrets_never_reach_reprs_or_request_logs(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        connector.check()
        text = repr(connector) + repr(connector._core.auth) + repr(connector._core.settings)
    for secret in (emu.sender_password, emu.user_password):
        assert secret not in text
        assert secret not in caplog.text


def test_unmapped_operations_are_unsupported() -> None:
    clock = FakeClock()
    with _connect(emulator(size=5, clock=clock), clock) as connector:
        assert "create" not in connector.capabilities["account"]
        with pytest.raises(fincon.Unsupported):
            connector.accounts.create({"name": "x"})


def test_a_request_to_another_path_is_not_found() -> None:
    emu = emulator(size=1)
    response = emu.handle(httpx.Request("POST", f"{emu.base_url}/other", content=b"<request/>"))
    assert response.status_code == 404


def test_document_lines_are_the_same_however_the_documents_are_read() -> None:
    """``query`` answers may inline lines; the line query replaces them, never adds to them."""
    clock = FakeClock()
    emu = emulator(size=12, clock=clock)
    expected = [[line["TRX_AMOUNT"] for line in data.lines] for data in emu.records("APBILL")]
    with _connect(emu, clock) as connector:
        plain = list(connector.bills.list(page_size=5))
        since = list(connector.bills.list(updated_since=datetime(2000, 1, 1, tzinfo=UTC), page_size=5))
        single = connector.bills.get(plain[3].id)
    for listing in (plain, since):
        assert [[str(line.amount.amount) for line in bill.lines] for bill in listing] == expected
    assert [str(line.amount.amount) for line in single.lines] == expected[3]
