"""The audit trail: one :class:`AuditEvent` per write (and, if asked, per read).

The transport builds an event when a call ends and hands it to an :class:`Auditor`, which fans
it out to sinks: :class:`LoggingSink`, :class:`CallbackSink` and :class:`JsonlAuditSink`, an
append-only JSON Lines file whose entries are hash-chained so that editing, deleting, reordering
or inserting a line is detected by :func:`verify_audit_file` (``fincon audit verify FILE``).

Chain format (see ``docs/audit.md``): each line is the canonical JSON of the event's
:meth:`AuditEvent.to_dict` plus ``prev`` and ``hash``, where ``prev`` is the previous line's
``hash`` (:data:`GENESIS_HASH` for the first line) and ``hash`` is the SHA-256, in lower-case
hex, of the canonical JSON of the entry without ``hash``. Canonical JSON is UTF-8, keys sorted,
no whitespace: ``json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from fincon.core.clock import SYSTEM_CLOCK, Clock
from fincon.core.redaction import redact

if sys.platform != "win32":
    import fcntl  # Windows has no flock: appends there are serialised between threads only

__all__ = [
    "GENESIS_HASH",
    "READ_ACTIONS",
    "AuditChainError",
    "AuditEvent",
    "AuditSink",
    "AuditVerification",
    "Auditor",
    "CallbackSink",
    "JsonlAuditSink",
    "LoggingSink",
    "describe_error",
    "verify_audit_file",
]

#: The ``prev`` of the first line of an audit file.
GENESIS_HASH = "0" * 64

#: Actions that are audited only when the :class:`Auditor` was created with ``audit_reads=True``.
READ_ACTIONS = frozenset({"read", "list", "get"})

_logger = logging.getLogger("fincon")
_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """What happened, to which record, with what result: one call to a finance system.

    ``error`` names the error class and code (see :func:`describe_error`), never its message,
    which may carry record data. ``timestamp`` must be timezone-aware; it is stored in UTC.
    """

    timestamp: datetime
    action: str
    system: str
    result: str
    duration_ms: float
    actor: str | None = None
    resource: str | None = None
    record_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    request_id: str | None = None
    error: str | None = None
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        offset = self.timestamp.utcoffset()
        if offset is None:
            raise ValueError("AuditEvent.timestamp must be timezone-aware")
        if offset != _ZERO or self.timestamp.tzinfo is not timezone.utc:
            object.__setattr__(self, "timestamp", self.timestamp.astimezone(timezone.utc))
        if isinstance(self.amount, float):
            raise TypeError("AuditEvent.amount must be a Decimal, never a float")

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-safe values: the Decimal amount as a string, the timestamp in ISO 8601."""
        return {
            "timestamp": self.timestamp.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "system": self.system,
            "resource": self.resource,
            "record_id": self.record_id,
            "amount": None if self.amount is None else str(self.amount),
            "currency": self.currency,
            "result": self.result,
            "duration_ms": self.duration_ms,
            "request_id": self.request_id,
            "error": self.error,
            "idempotency_key": self.idempotency_key,
        }


def describe_error(error: BaseException) -> str:
    """Name ``error`` for an audit event: its class, HTTP status and vendor code, never its message.

    ``RateLimited(..., status=429, code="GW-0010")`` gives ``"RateLimited 429 GW-0010"``.
    """
    parts = [type(error).__name__]
    status = getattr(error, "status", None)
    if isinstance(status, int):
        parts.append(str(status))
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        parts.append(redact(code))
    return " ".join(parts)


@runtime_checkable
class AuditSink(Protocol):
    """Where audit events go."""

    def emit(self, event: AuditEvent) -> None:
        """Record ``event``; raising is allowed (the :class:`Auditor` reports it and goes on)."""


def _safe_dict(event: AuditEvent) -> dict[str, Any]:
    # Events are built from ids and codes, but a secret must never reach a log or a file.
    return {key: redact(value) if isinstance(value, str) else value for key, value in event.to_dict().items()}


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class LoggingSink:
    """Logs each event as one line of canonical JSON: ``audit {"action":"create",...}``.

    The event's fields are also attached to the record as ``audit_event`` (a dict) for structured
    log handlers.
    """

    def __init__(self, logger: str | logging.Logger = "fincon.audit", level: int = logging.INFO) -> None:
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = level

    def emit(self, event: AuditEvent) -> None:
        """Log ``event`` if the logger is enabled for the sink's level."""
        if not self.logger.isEnabledFor(self.level):
            return
        fields = _safe_dict(event)
        self.logger.log(
            self.level, "audit %s", _canonical(fields).decode("utf-8"), extra={"audit_event": fields}
        )

    def __repr__(self) -> str:
        return f"LoggingSink(logger={self.logger.name!r}, level={logging.getLevelName(self.level)!r})"


class CallbackSink:
    """Calls ``fn(event)`` for each event (to feed a database, a queue or a test)."""

    def __init__(self, fn: Callable[[AuditEvent], object]) -> None:
        self.fn = fn

    def emit(self, event: AuditEvent) -> None:
        """Pass ``event`` to the callback."""
        self.fn(event)

    def __repr__(self) -> str:
        return f"CallbackSink({self.fn!r})"


class AuditChainError(Exception):
    """An audit file's last line cannot be chained to (it is truncated or not an audit entry)."""


class JsonlAuditSink:
    """Appends events to a hash-chained JSON Lines file.

    The chain continues across restarts: on open, and before each append if the file grew, the
    last line's ``hash`` is read by seeking back from the end of the file. Appends are serialised
    between threads by a lock and, on POSIX, between processes by ``flock`` held around
    read-last-hash plus append; the file is opened with ``O_APPEND`` (mode 0600 when created).
    With ``fsync=True`` every line is forced to disk before :meth:`emit` returns.

    Raises :class:`AuditChainError` if the file's last line is not a complete audit entry:
    extending a damaged chain would hide the damage.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._lock = threading.Lock()
        flags = (
            os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        )
        self._fd: int | None = os.open(self.path, flags, 0o600)
        # The file size after our last append and the hash then at the end: if the size is still
        # the same, nobody appended in between and the tail need not be read again.
        self._size = -1
        self._last_hash = GENESIS_HASH
        try:
            with self._lock, self._file_lock():
                self._refresh_last_hash()
        except BaseException:
            self.close()
            raise

    def emit(self, event: AuditEvent) -> None:
        """Append ``event`` to the chain."""
        entry = _safe_dict(event)
        with self._lock, self._file_lock():
            entry["prev"] = self._refresh_last_hash()
            entry_hash = hashlib.sha256(_canonical(entry)).hexdigest()
            entry["hash"] = entry_hash
            self._append(_canonical(entry) + b"\n", before=self._size)
            self._last_hash = entry_hash
            self._size = os.fstat(self._require_fd()).st_size

    def close(self) -> None:
        """Close the file. Further :meth:`emit` calls raise ``ValueError``."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> JsonlAuditSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JsonlAuditSink({str(self.path)!r}, fsync={self.fsync!r})"

    def _require_fd(self) -> int:
        if self._fd is None:
            raise ValueError(f"audit file {self.path} is closed")
        return self._fd

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        fd = self._require_fd()
        if sys.platform == "win32":  # pragma: no cover
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _refresh_last_hash(self) -> str:
        fd = self._require_fd()
        size = os.fstat(fd).st_size
        if size != self._size:
            self._last_hash = _last_hash(fd, size, self.path)
            self._size = size
        return self._last_hash

    def _append(self, data: bytes, *, before: int) -> None:
        fd = self._require_fd()
        view = memoryview(data)
        try:
            while view:  # os.write may write less than asked; O_APPEND keeps the pieces together
                written = os.write(fd, view)
                view = view[written:]
        except OSError:
            # A half-written line (disk full) would block the chain for good: take it back.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, before)
            raise
        if self.fsync:
            os.fsync(fd)


_TAIL_BLOCK = 4096


def _last_hash(fd: int, size: int, path: Path) -> str:
    """The ``hash`` of the last line of the file open as ``fd``, reading backwards from the end."""
    if size == 0:
        return GENESIS_HASH
    blocks: list[bytes] = []
    position = size
    while position > 0:
        start = max(0, position - _TAIL_BLOCK)
        block = _read_at(fd, position - start, start)
        blocks.append(block)
        position = start
        # The last line is complete once the newline before it is in view (its own final
        # newline, the last byte of the file, does not count).
        if b"\n" in (block[:-1] if len(blocks) == 1 else block):
            break
    tail = b"".join(reversed(blocks))
    if not tail.endswith(b"\n"):
        raise AuditChainError(f"{path}: the last line is incomplete (no trailing newline)")
    line = tail[:-1].rsplit(b"\n", 1)[-1]
    try:
        entry = json.loads(line)
    except ValueError as error:
        raise AuditChainError(f"{path}: the last line is not valid JSON") from error
    last = entry.get("hash") if isinstance(entry, dict) else None
    if not isinstance(last, str):
        raise AuditChainError(f"{path}: the last line has no hash")
    return last


def _read_at(fd: int, length: int, offset: int) -> bytes:
    pread = getattr(os, "pread", None)
    if pread is not None:
        data: bytes = pread(fd, length, offset)
        return data
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - Windows; O_APPEND writes ignore it
    return os.read(fd, length)  # pragma: no cover


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """The outcome of :func:`verify_audit_file`.

    ``lines`` counts every line of the file; ``first_bad_line`` (1-based) and ``reason`` describe
    the first line that breaks the chain, or are ``None`` when ``ok``.
    """

    ok: bool
    lines: int
    first_bad_line: int | None = None
    reason: str | None = None


def verify_audit_file(path: str | os.PathLike[str]) -> AuditVerification:
    """Check the hash chain of an audit file written by :class:`JsonlAuditSink`.

    Reports the first line that is not valid JSON, whose ``hash`` does not match its content, or
    whose ``prev`` is not the previous line's ``hash``. Removing lines from the end of the file
    leaves a valid chain: compare the last ``hash`` with one kept elsewhere to detect that.
    """
    expected_prev = GENESIS_HASH
    first_bad: int | None = None
    reason: str | None = None
    lines = 0
    with open(path, "rb") as file:
        for lines, raw in enumerate(file, start=1):
            if first_bad is not None:
                continue  # keep counting lines
            problem, entry_hash = _check_line(raw, expected_prev)
            if problem is not None:
                first_bad, reason = lines, problem
            else:
                expected_prev = entry_hash
    return AuditVerification(first_bad is None, lines, first_bad, reason)


def _check_line(raw: bytes, expected_prev: str) -> tuple[str | None, str]:
    """``(problem, hash)``: what is wrong with one line, or ``None`` and the line's hash."""
    if not raw.endswith(b"\n"):
        return "incomplete line (no trailing newline): the file was truncated", ""
    try:
        entry = json.loads(raw)
    except ValueError:
        return "not valid JSON", ""
    if not isinstance(entry, dict):
        return "not a JSON object", ""
    stored, prev = entry.pop("hash", None), entry.get("prev")
    if not isinstance(stored, str) or not isinstance(prev, str):
        return "missing hash or prev", ""
    # Lines are written in canonical form; anything else (a duplicate key that readers may take
    # for the real value, reformatting) is an edit even if the parsed content still hashes right.
    if raw[:-1] != _canonical({**entry, "hash": stored}):
        return "not in canonical form (reformatted, or a duplicate key was added)", ""
    if hashlib.sha256(_canonical(entry)).hexdigest() != stored:
        return "hash mismatch: the line was modified", ""
    if prev != expected_prev:
        return (
            "broken chain: prev is not the previous line's hash (a line was removed, moved or inserted)",
            "",
        )
    return None, stored


class Auditor:
    """Sends audit events to every sink.

    A sink that raises does not break the call being audited, nor stop the other sinks: the
    failure is logged as a warning on the ``fincon`` logger, naming the sink's type.

    Reads (``read``, ``list``, ``get``) are audited only with ``audit_reads=True``; the transport
    asks :meth:`enabled_for` before building an event. ``actor`` and ``clock`` fill in the events
    built by :meth:`event`.
    """

    def __init__(
        self,
        sinks: Iterable[AuditSink],
        *,
        audit_reads: bool = False,
        actor: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.sinks = tuple(sinks)
        self.audit_reads = audit_reads
        self.actor = actor
        self.clock = clock

    def enabled_for(self, action: str) -> bool:
        """Whether an event for ``action`` would be recorded (so whether to build one at all)."""
        if not self.sinks:
            return False
        return self.audit_reads or action not in READ_ACTIONS

    def event(
        self,
        *,
        action: str,
        system: str,
        result: str,
        duration_ms: float,
        resource: str | None = None,
        record_id: str | None = None,
        amount: Decimal | None = None,
        currency: str | None = None,
        request_id: str | None = None,
        error: BaseException | str | None = None,
        idempotency_key: str | None = None,
    ) -> AuditEvent:
        """Build an event stamped with the clock's time and this auditor's actor.

        An exception given as ``error`` is reduced to :func:`describe_error`.
        """
        return AuditEvent(
            timestamp=self.clock.now(),
            actor=self.actor,
            action=action,
            system=system,
            resource=resource,
            record_id=record_id,
            amount=amount,
            currency=currency,
            result=result,
            duration_ms=duration_ms,
            request_id=request_id,
            error=describe_error(error) if isinstance(error, BaseException) else error,
            idempotency_key=idempotency_key,
        )

    def emit(self, event: AuditEvent) -> None:
        """Send ``event`` to every sink; a failing sink is reported and skipped."""
        for sink in self.sinks:
            try:
                sink.emit(event)
            except Exception as failure:
                _logger.warning(
                    "audit sink %s failed (%s: %s); event %s %s/%s was not recorded by it",
                    type(sink).__name__,
                    type(failure).__name__,
                    redact(str(failure)),
                    event.action,
                    event.system,
                    event.resource,
                )

    def __repr__(self) -> str:
        return f"Auditor(sinks={list(self.sinks)!r}, audit_reads={self.audit_reads!r}, actor={self.actor!r})"
