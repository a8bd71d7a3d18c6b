"""Canary secrets through the Intacct connector: sender password, user password, session id.

Every path that can show something to a user or an operator is collected (reprs, errors
with whole tracebacks, audit file and callback events, log records at DEBUG) while the
canaries travel in every request: the login, every ``control``, every ``<sessionid>``.
The marker must appear nowhere. (The suite-wide conftest check also fails any log record
that carries it.)
"""

from __future__ import annotations

import secrets
import traceback
from itertools import count
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from intacct_testkit import emulator

import fincon
import fincon.connectors.intacct.sandbox as intacct_sandbox
from fincon.core.clock import FakeClock
from fincon.errors import AuthError, NotFound
from fincon.models import Vendor
from fincon.sandbox import SandboxTransport

MARK = "CNRY" + "i7x3"  # split so that no source line shows a whole canary


def canary(name: str) -> str:
    return f"{MARK}-{name}-0b4e"


@pytest.fixture
def canary_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox hands out session ids that are canaries too."""
    numbers = count(1)
    fake = SimpleNamespace(
        token_urlsafe=lambda size: f"{canary('session')}{next(numbers)}", token_hex=secrets.token_hex
    )
    monkeypatch.setattr(intacct_sandbox, "secrets", fake)


def _texts(*objects: object) -> list[str]:
    return [text for obj in objects for text in (repr(obj), str(obj))]


def _error_texts(error: BaseException) -> list[str]:
    return ["".join(traceback.format_exception(error)), *_texts(error, getattr(error, "details", None))]


def test_no_intacct_canary_escapes(tmp_path: Path, logs: Any, canary_sessions: None) -> None:
    clock = FakeClock()
    emu = emulator(size=30, clock=clock)
    emu.sender_password = canary("sender")
    emu.user_password = canary("user")
    audit_file = tmp_path / "audit.jsonl"
    events: list[Any] = []
    evidence: list[str] = []
    connector = fincon.connect(
        "intacct",
        sandbox=emu,
        clock=clock,
        share_limits=False,
        audit=[str(audit_file), events.append, "log"],
        audit_reads=True,
        **emu.credentials(),
    )
    core = connector._core
    evidence += _texts(connector, core, core.settings, core.auth)
    with connector:
        evidence += _texts(connector.check())
        session = core.auth.session.id
        assert session.startswith(MARK)  # the session id in use is a canary
        emu.faults.throttle(retry_after=1, times=1)
        page = next(iter(connector.vendors.list(page_size=10).pages()))
        evidence += _texts(page.items[0], page.next_cursor)
        emu.expire_sessions()  # a re-login mid-run: a second canary session
        emu.faults.drop_after(times=1, when=lambda request: b"<create>" in request.content)
        created = connector.vendors.create(Vendor(id="V-CANARY", name="Canary Checks Ltd"))
        evidence += _texts(created, created.dump(include_raw=True, mode="json"))
        with pytest.raises(NotFound) as missing:
            connector.vendors.get("V999999")
        evidence += _error_texts(missing.value)
        evidence += _texts(core.auth, core.settings)
    # Refused credentials and an expired session nobody can renew: their errors quote nothing.
    wrong = {**emu.credentials(), "user_password": canary("wrong-user")}
    with fincon.connect("intacct", sandbox=emu, clock=clock, share_limits=False, **wrong) as refused:
        with pytest.raises(AuthError) as caught:
            refused.check()
        evidence += _error_texts(caught.value)
    given = {k: v for k, v in emu.credentials().items() if k.startswith("sender")}
    with fincon.connect(
        "intacct",
        transport=SandboxTransport(emu),  # not sandbox=, which would fill in the user login
        base_url=emu.base_url,
        clock=clock,
        share_limits=False,
        session_id=session,
        **given,
    ) as by_session:
        evidence += _texts(by_session, by_session._core.settings, by_session._core.auth)
        emu.expire_sessions()
        with pytest.raises(AuthError, match="no user credentials") as expired:
            by_session.vendors.get("V000001")
        evidence += _error_texts(expired.value)
    assert emu.sessions_issued >= 2
    audit_text = audit_file.read_text()
    assert audit_text.count("\n") >= 4, "the reads and the write should have been audited"
    evidence += [audit_text, *(str(event.to_dict()) for event in events), *logs.lines]
    assert logs.lines, "nothing was logged at DEBUG: the log check proved nothing"
    leaks = [text for text in evidence if MARK in text]
    assert not leaks, f"a canary leaked into {len(leaks)} places, first: {leaks[0][:300]!r}"
