"""Project-wide test setup: the reference system is registered for the whole session."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fincon.core.clock import FakeClock

REPO = Path(__file__).resolve().parent.parent


def specs_dir() -> Path | None:
    """The vendors' specifications: $FINCON_SPECS, else ../shared/specs beside the repository."""
    configured = os.environ.get("FINCON_SPECS")
    path = Path(configured) if configured else REPO.parent / "shared" / "specs"
    return path if path.is_dir() else None


@pytest.fixture(scope="session", autouse=True)
def _reference_system() -> Iterator[None]:
    from fincon.core.registry import unregister_system
    from fincon.testing.reference.connector import register

    register()
    yield
    unregister_system("reference")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    """Time that moves only when slept on: backoff, limits and expiry without real waits."""
    return FakeClock()


# -- canary secrets, suite-wide ------------------------------------------------------------
# Tests plant fake secrets containing CANARY_MARKER. Every log record any test produces
# through the fincon and httpx loggers is watched; one containing the marker fails the run.

CANARY_MARKER = "CNRY"


class DebugLogs(logging.Handler):
    """Every DEBUG line of the fincon, httpx and httpcore loggers, formatted, for leak checks."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[DebugLogs]:
    """:class:`DebugLogs` attached (at DEBUG) for the test's duration."""
    capture = DebugLogs()
    loggers = [logging.getLogger(name) for name in ("fincon", "httpx", "httpcore")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(capture)
        logger.setLevel(logging.DEBUG)
    yield capture
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(capture)
        logger.setLevel(level)


class _CanaryWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted cannot leak through a handler either
            return
        if CANARY_MARKER in text:
            self.leaks.append(text.replace(CANARY_MARKER, "<marker>")[:300])


_watch = _CanaryWatch()


def pytest_configure(config: pytest.Config) -> None:
    for name, level in (("fincon", logging.DEBUG), ("httpx", logging.INFO)):
        logger = logging.getLogger(name)
        logger.addHandler(_watch)
        logger.setLevel(level)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _watch.leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _watch.leaks:
        terminalreporter.section("canary secrets leaked into log records", red=True)
        for line in _watch.leaks[:20]:
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"{len(_watch.leaks)} log records carried a planted canary secret")
