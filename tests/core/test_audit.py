"""The audit trail: events, sinks, the hash-chained JSON Lines file and its verification."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import logging
import multiprocessing
import os
import re
import sys
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fincon.core.audit import (
    GENESIS_HASH,
    AuditChainError,
    AuditEvent,
    Auditor,
    AuditSink,
    CallbackSink,
    JsonlAuditSink,
    LoggingSink,
    describe_error,
    verify_audit_file,
)
from fincon.core.clock import FakeClock
from fincon.core.redaction import register_secret
from fincon.errors import RateLimited

CANARY = "fincon-audit-canary-R8t2Lq"
register_secret(CANARY)

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def make_event(n: int = 0, **changes: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "timestamp": START + timedelta(seconds=n),
        "actor": "ap-clerk",
        "action": "create",
        "system": "netsuite",
        "resource": "bill",
        "record_id": f"bill-{n}",
        "amount": Decimal("15250.00"),
        "currency": "USD",
        "result": "success",
        "duration_ms": 12.5,
        "request_id": f"req-{n}",
        "idempotency_key": f"idem-{n}",
    }
    fields.update(changes)
    return AuditEvent(**fields)


def write_chain(path: Path, count: int) -> list[bytes]:
    with JsonlAuditSink(path) as sink:
        for n in range(count):
            sink.emit(make_event(n))
    return path.read_bytes().splitlines(keepends=True)


def entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


# -- AuditEvent ------------------------------------------------------------------------------


def test_to_dict_is_json_safe() -> None:
    data = make_event(0).to_dict()
    assert data == {
        "timestamp": "2026-01-01T00:00:00+00:00",
        "actor": "ap-clerk",
        "action": "create",
        "system": "netsuite",
        "resource": "bill",
        "record_id": "bill-0",
        "amount": "15250.00",
        "currency": "USD",
        "result": "success",
        "duration_ms": 12.5,
        "request_id": "req-0",
        "error": None,
        "idempotency_key": "idem-0",
    }
    assert json.loads(json.dumps(data)) == data


def test_event_is_frozen_and_slotted() -> None:
    event = make_event()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.action = "delete"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")


def test_timestamps_are_aware_and_stored_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    event = make_event(timestamp=datetime(2026, 1, 1, 13, 0, tzinfo=paris))
    assert event.timestamp == datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert event.to_dict()["timestamp"] == "2026-01-01T12:00:00+00:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        make_event(timestamp=datetime(2026, 1, 1))


def test_amount_is_never_a_float() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        make_event(amount=15250.0)


def test_describe_error_names_class_status_and_code_but_never_the_message() -> None:
    error = RateLimited("limit reached for customer ACME-42", system="intacct", status=429, code="GW-0010")
    assert describe_error(error) == "RateLimited 429 GW-0010"
    assert describe_error(ValueError("card 4111111111111111 rejected")) == "ValueError"


# -- the JSON Lines sink ---------------------------------------------------------------------


def test_lines_are_canonical_and_hashes_are_independently_checkable(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = write_chain(path, 3)
    previous = GENESIS_HASH
    for raw in lines:
        line = raw.decode("utf-8").rstrip("\n")
        entry = json.loads(line)
        assert line == json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert entry["prev"] == previous
        # The recipe of docs/audit.md: the hashed bytes are the line without its "hash" member.
        body = re.sub(r',"hash":"[0-9a-f]{64}"', "", line)
        assert hashlib.sha256(body.encode("utf-8")).hexdigest() == entry["hash"]
        previous = entry["hash"]
    assert verify_audit_file(path).ok


def test_chain_continues_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_chain(path, 3)
    with JsonlAuditSink(path) as sink:
        sink.emit(make_event(3))
        sink.emit(make_event(4))
    written = entries(path)
    assert [entry["record_id"] for entry in written] == [f"bill-{n}" for n in range(5)]
    assert written[0]["prev"] == GENESIS_HASH
    assert written[3]["prev"] == written[2]["hash"]
    assert verify_audit_file(path) == verify_audit_file(path)
    result = verify_audit_file(path)
    assert (result.ok, result.lines, result.first_bad_line, result.reason) == (True, 5, None, None)


def test_two_sinks_on_one_file_in_one_process_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with JsonlAuditSink(path) as first, JsonlAuditSink(path) as second:
        for n in range(10):
            (first if n % 3 else second).emit(make_event(n))
    result = verify_audit_file(path)
    assert result.ok, result
    assert result.lines == 10


def test_non_ascii_values_are_kept_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with JsonlAuditSink(path) as sink:
        sink.emit(make_event(resource="Lieferant Müller ✓"))
    assert "Müller ✓".encode() in path.read_bytes()
    assert verify_audit_file(path).ok


def test_open_reads_only_the_tail(tmp_path: Path) -> None:
    # Everything before the last line is garbage: the sink must not need it.
    source = tmp_path / "source.jsonl"
    last = write_chain(source, 2)[-1]
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"not json at all, and long\n" * 5000 + last)
    with JsonlAuditSink(path) as sink:
        sink.emit(make_event(9))
    assert json.loads(path.read_bytes().splitlines()[-1])["prev"] == json.loads(last)["hash"]


def test_a_last_line_longer_than_the_read_block_is_found(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with JsonlAuditSink(path) as sink:
        sink.emit(make_event(0))
        sink.emit(make_event(1, resource="r" * 20_000))
    with JsonlAuditSink(path) as sink:
        sink.emit(make_event(2))
    assert verify_audit_file(path).ok
    assert verify_audit_file(path).lines == 3


@pytest.mark.parametrize("line_length", [4095, 4096, 4097, 8191, 8192, 8193])
@pytest.mark.parametrize("lines_before", [0, 1])
def test_last_lines_around_the_read_block_size_are_found(
    tmp_path: Path, line_length: int, lines_before: int
) -> None:
    path = tmp_path / "audit.jsonl"
    with JsonlAuditSink(path) as sink:
        for n in range(lines_before):
            sink.emit(make_event(n))
        before = path.stat().st_size
        sink.emit(make_event(7, resource=""))
        overhead = path.stat().st_size - before  # the line with an empty resource, newline included
    path.write_bytes(path.read_bytes()[:before])
    with JsonlAuditSink(path) as sink:
        sink.emit(make_event(7, resource="r" * (line_length - overhead)))
    assert path.stat().st_size - before == line_length
    with JsonlAuditSink(path) as sink:
        sink.emit(make_event(8))
    result = verify_audit_file(path)
    assert result.ok, result
    assert result.lines == lines_before + 2


def test_a_failed_append_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path)
    sink.emit(make_event(0))
    intact = path.read_bytes()
    real_write = os.write
    calls: list[int] = []

    def half_then_disk_full(fd: int, data: Any) -> int:
        calls.append(fd)
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_disk_full)
    with pytest.raises(OSError, match="No space"):
        sink.emit(make_event(1))
    monkeypatch.setattr(os, "write", real_write)
    assert path.read_bytes() == intact  # the half line was taken back
    sink.emit(make_event(2))
    sink.close()
    result = verify_audit_file(path)
    assert result.ok, result
    assert [entry["record_id"] for entry in entries(path)] == ["bill-0", "bill-2"]


@pytest.mark.parametrize(
    "tail",
    [b'{"action":"create","hash":"ab', b"garbage\n", b'{"no":"hash"}\n', b"\n"],
    ids=["truncated", "garbage", "no-hash", "blank"],
)
def test_sink_refuses_to_extend_a_damaged_chain(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "audit.jsonl"
    write_chain(path, 2)
    with path.open("ab") as file:
        file.write(tail)
    with pytest.raises(AuditChainError):
        JsonlAuditSink(path)


def test_new_file_is_private_and_fsync_is_optional(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    path = tmp_path / "audit.jsonl"
    with JsonlAuditSink(path) as sink:
        sink.emit(make_event(0))
    assert synced == []
    with JsonlAuditSink(path, fsync=True) as sink:
        sink.emit(make_event(1))
        sink.emit(make_event(2))
    assert len(synced) == 2
    if sys.platform != "win32":
        assert path.stat().st_mode & 0o777 == 0o600
    assert verify_audit_file(path).ok


def test_emit_after_close_raises(tmp_path: Path) -> None:
    sink = JsonlAuditSink(tmp_path / "audit.jsonl")
    sink.close()
    sink.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        sink.emit(make_event())


def test_secrets_never_reach_the_audit_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with JsonlAuditSink(path) as sink:
        sink.emit(make_event(record_id=f"id-{CANARY}", error=f"AuthError {CANARY}"))
    content = path.read_text("utf-8")
    assert CANARY not in content
    assert "id-***" in content
    assert verify_audit_file(path).ok


# -- tamper detection --------------------------------------------------------------------------


def tampered(tmp_path: Path, edit: Any) -> Any:
    path = tmp_path / "audit.jsonl"
    lines = write_chain(path, 10)
    path.write_bytes(b"".join(edit(lines)))
    return verify_audit_file(path)


def _edit_amount(lines: list[bytes]) -> list[bytes]:
    lines[3] = lines[3].replace(b'"amount":"15250.00"', b'"amount":"95250.00"')
    return lines


def _rewrite_amount_as_json(lines: list[bytes]) -> list[bytes]:
    entry = json.loads(lines[3])
    entry["amount"] = "1.00"
    lines[3] = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    return lines


def _forge(lines: list[bytes]) -> list[bytes]:
    # A well-formed entry chained to line 5: only the next line can betray it.
    entry = make_event(99).to_dict()
    entry["prev"] = json.loads(lines[4])["hash"]
    body = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    entry["hash"] = hashlib.sha256(body.encode()).hexdigest()
    forged = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    return [*lines[:5], forged, *lines[5:]]


def _duplicate_key(lines: list[bytes]) -> list[bytes]:
    # Readers that take the first of two keys would see 1.00; json.loads takes the last.
    lines[6] = lines[6].replace(b"{", b'{"amount":"1.00",', 1)
    return lines


@pytest.mark.parametrize(
    ("edit", "lines", "first_bad", "reason"),
    [
        (_edit_amount, 10, 4, "hash mismatch"),
        (_rewrite_amount_as_json, 10, 4, "hash mismatch"),
        (lambda ls: ls[:4] + ls[5:], 9, 5, "broken chain"),
        (lambda ls: ls[1:], 9, 1, "broken chain"),
        (lambda ls: [*ls[:2], ls[3], ls[2], *ls[4:]], 10, 3, "broken chain"),
        (lambda ls: [*ls[:5], ls[1], *ls[5:]], 11, 6, "broken chain"),
        (_forge, 11, 7, "broken chain"),
        (lambda ls: [*ls[:-1], ls[-1][:-12]], 10, 10, "incomplete line"),
        (lambda ls: [*ls[:-1], ls[-1][:-1]], 10, 10, "incomplete line"),
        (lambda ls: [*ls[:6], b"{this is not json\n", *ls[7:]], 10, 7, "not valid JSON"),
        (lambda ls: [*ls[:6], b"\n", *ls[6:]], 11, 7, "not valid JSON"),
        (lambda ls: [*ls[:6], b"[1, 2]\n", *ls[6:]], 11, 7, "not a JSON object"),
        (_duplicate_key, 10, 7, "canonical"),
        (lambda ls: [*ls[:2], ls[2].replace(b'","', b'", "', 1), *ls[3:]], 10, 3, "canonical"),
    ],
    ids=[
        "edited-field",
        "edited-field-reserialised",
        "deleted-line",
        "deleted-first-line",
        "swapped-lines",
        "inserted-copy",
        "inserted-forgery",
        "truncated-last-line",
        "last-newline-removed",
        "garbage-json",
        "inserted-blank-line",
        "not-an-object",
        "duplicate-key",
        "reformatted",
    ],
)
def test_tampering_is_detected_at_the_first_bad_line(
    tmp_path: Path, edit: Any, lines: int, first_bad: int, reason: str
) -> None:
    result = tampered(tmp_path, edit)
    assert not result.ok
    assert result.first_bad_line == first_bad
    assert result.lines == lines
    assert result.reason is not None
    assert reason in result.reason


def test_verify_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"")
    result = verify_audit_file(path)
    assert (result.ok, result.lines, result.first_bad_line) == (True, 0, None)


# -- concurrency ---------------------------------------------------------------------------------


def test_threads_append_one_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    barrier = threading.Barrier(8)
    with JsonlAuditSink(path) as sink:

        def work(thread: int) -> None:
            barrier.wait()
            for n in range(200):
                sink.emit(make_event(n, record_id=f"t{thread}-{n}"))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    result = verify_audit_file(path)
    assert result.ok, result
    assert result.lines == 1600
    assert {entry["record_id"] for entry in entries(path)} == {
        f"t{t}-{n}" for t in range(8) for n in range(200)
    }


def _append_from_process(path: str, worker: int, count: int, start: Any) -> None:
    start.wait()
    with JsonlAuditSink(path) as sink:
        for n in range(count):
            sink.emit(make_event(n, record_id=f"p{worker}-{n}"))


@pytest.mark.skipif(sys.platform == "win32", reason="cross-process locking needs flock")
def test_processes_append_one_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [
        context.Process(target=_append_from_process, args=(str(path), worker, 300, start))
        for worker in range(2)
    ]
    for process in workers:
        process.start()
    start.set()
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    result = verify_audit_file(path)
    assert result.ok, result
    assert result.lines == 600
    ids = [entry["record_id"] for entry in entries(path)]
    assert set(ids) == {f"p{worker}-{n}" for worker in range(2) for n in range(300)}


# -- other sinks and the auditor -----------------------------------------------------------------


def test_logging_sink_logs_one_json_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fincon.audit")
    event = make_event(1)
    LoggingSink().emit(event)
    (record,) = [r for r in caplog.records if r.name == "fincon.audit"]
    assert record.levelno == logging.INFO
    prefix, _, payload = record.getMessage().partition(" ")
    assert prefix == "audit"
    assert json.loads(payload) == event.to_dict()
    assert record.__dict__["audit_event"] == event.to_dict()


def test_logging_sink_honours_level_and_accepts_a_logger(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("fincon.audit.custom")
    caplog.set_level(logging.INFO, logger="fincon.audit.custom")
    LoggingSink(logger, level=logging.DEBUG).emit(make_event())
    assert not [r for r in caplog.records if r.name == "fincon.audit.custom"]
    LoggingSink(logger, level=logging.WARNING).emit(make_event())
    assert [r.levelno for r in caplog.records if r.name == "fincon.audit.custom"] == [logging.WARNING]


def test_sinks_satisfy_the_protocol(tmp_path: Path) -> None:
    with JsonlAuditSink(tmp_path / "a.jsonl") as jsonl:
        for sink in (LoggingSink(), CallbackSink(print), jsonl):
            assert isinstance(sink, AuditSink)


class ExplodingSink:
    def emit(self, event: AuditEvent) -> None:
        raise OSError("disk full")


def test_a_failing_sink_does_not_stop_the_others_and_is_not_silent(caplog: pytest.LogCaptureFixture) -> None:
    before: list[AuditEvent] = []
    after: list[AuditEvent] = []
    auditor = Auditor([CallbackSink(before.append), ExplodingSink(), CallbackSink(after.append)])
    event = make_event()
    with caplog.at_level(logging.WARNING, logger="fincon"):
        auditor.emit(event)
    assert before == [event]
    assert after == [event]
    warnings = [r for r in caplog.records if r.name == "fincon" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "ExplodingSink" in warnings[0].getMessage()
    assert "OSError" in warnings[0].getMessage()


def test_reads_are_audited_only_when_asked() -> None:
    sinks = [CallbackSink(lambda event: None)]
    default = Auditor(sinks)
    assert default.enabled_for("create")
    assert default.enabled_for("update")
    assert default.enabled_for("delete")
    assert default.enabled_for("request")
    assert not default.enabled_for("read")
    assert not default.enabled_for("list")
    assert Auditor(sinks, audit_reads=True).enabled_for("read")
    assert not Auditor([]).enabled_for("create")  # nothing to send it to


def test_auditor_builds_events_from_its_clock_and_actor() -> None:
    clock = FakeClock(START)
    auditor = Auditor([], actor="svc-payables", clock=clock)
    clock.advance(90)
    event = auditor.event(
        action="create",
        system="stripe",
        result="failure",
        duration_ms=3.25,
        resource="payment_order",
        amount=Decimal("10.00"),
        currency="EUR",
        error=RateLimited("customer ACME-42 over limit", status=429, code="rate_limit"),
    )
    assert event.timestamp == START + timedelta(seconds=90)
    assert event.actor == "svc-payables"
    assert event.error == "RateLimited 429 rate_limit"
    assert auditor.event(
        action="read", system="x", result="success", duration_ms=0, error="Timeout"
    ).error == ("Timeout")
