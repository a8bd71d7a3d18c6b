"""The command line: every command, its output, its exit status and its one-line errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fincon.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_systems_lists_the_reference_system_with_capabilities(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "systems")
    assert status == 0
    assert "reference" in out
    assert "vendor[list/get/create/update/delete]" in out


def test_check_against_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "check", "reference", "--sandbox")
    assert status == 0
    assert out.strip() == "reference: connected as Reference Sandbox Ltd (acct_reference)"


def test_check_with_a_wrong_key_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "check", "reference", "--sandbox", "--set", "api_key=sk_wrong_key_123")
    assert status == 1
    assert out == ""
    assert err.startswith("fincon: AuthError: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "sk_wrong_key_123" not in err


def test_unknown_setting_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "check", "reference", "--sandbox", "--set", "api_kee=x")
    assert status == 1
    assert "ConfigError" in err
    assert "'api_kee'" in err


def test_bad_arguments_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "reference"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("fincon: error:")
    assert err.count("\n") == 1


def test_export_jsonl_is_exact_and_complete(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "export", "reference", "bills", "--sandbox", "--format", "jsonl")
    assert status == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 100  # the default sandbox size
    assert len({row["id"] for row in rows}) == 100
    total = rows[0]["total"]
    assert isinstance(total["amount"], str)  # exact decimal text, never a float
    assert "\r" not in err  # no progress bar when stderr is not a terminal


def test_export_csv_to_a_file_with_since(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "vendors.csv"
    status, out, err = run(
        capsys, "export", "reference", "vendor", "--sandbox", "--format", "csv", "--out", str(target),
        "--since", "2000-01-01",
    )  # fmt: skip
    assert status == 0
    assert out == ""
    assert "exported 100 vendor records" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(rows) == 100
    assert rows[0]["id"].startswith("ven_")
    assert "source.system" in rows[0]


def test_export_since_without_timezone_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(
        capsys, "export", "reference", "vendor", "--sandbox", "--since", "2026-01-01T10:00:00"
    )
    assert status == 1
    assert "timezone" in err


def test_export_unknown_resource(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "export", "reference", "widgets", "--sandbox")
    assert status == 1
    assert "unknown resource 'widgets'" in err


def test_export_parquet_needs_out(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "export", "reference", "vendor", "--sandbox", "--format", "parquet")
    assert status == 1
    assert "--out" in err


def test_audit_verify_reports_intact_and_tampered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fincon.core.audit import AuditEvent, JsonlAuditSink
    from fincon.core.clock import FakeClock

    path = tmp_path / "audit.jsonl"
    sink = JsonlAuditSink(path)
    clock = FakeClock()
    for index in range(3):
        sink.emit(
            AuditEvent(
                timestamp=clock.now(), actor="t", action="create", system="reference", resource="vendor",
                record_id=f"ven_{index}", amount=None, currency=None, result="success", duration_ms=1.0,
                request_id=None, error=None, idempotency_key=None,
            )
        )  # fmt: skip
    close = getattr(sink, "close", None)
    if close is not None:
        close()
    status, out, _ = run(capsys, "audit", "verify", str(path))
    assert status == 0
    assert "3 entries, hash chain intact" in out
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("ven_1", "ven_9")
    path.write_text("\n".join(lines) + "\n")
    status, _, err = run(capsys, "audit", "verify", str(path))
    assert status == 1
    assert "tampered at line 2" in err


def test_demo_runs_and_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "demo")
    assert status == 0
    assert "holds 1 Acme Corp" in out
    assert "chain intact" in out
    assert "a float amount is refused" in out
    assert "three_way_match(PO, receipt, bill with 18.75 freight): within_tolerance" in out
    assert "one digit changed is rejected" in out
    assert "a tampered copy is rejected" in out


def test_sandbox_serve_prints_one_json_line_and_serves(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "fincon.cli", "sandbox", "serve", "reference", "--port", "0", "--size", "25"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["base_url"].startswith("http://127.0.0.1:")
        assert first["size"] == 25
        import httpx

        key = first["credentials"]["api_key"]
        with httpx.Client(base_url=first["base_url"], headers={"Authorization": f"Bearer {key}"}) as client:
            ids: list[str] = []
            params: dict[str, str | int] = {"limit": 10}
            while True:
                body = client.get("/v1/vendors", params=params).json()
                ids.extend(item["id"] for item in body["data"])
                if not body["has_more"]:
                    break
                params = {"limit": 10, "starting_after": ids[-1]}
        assert len(ids) == len(set(ids)) == 25
    finally:
        process.terminate()
        assert process.wait(timeout=10) is not None
