"""fincon's pytest plugin (entry point ``pytest11``): fixtures for testing code that uses fincon.

Everything is imported inside the fixtures, so merely having fincon installed adds nothing
to a test session's start-up.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

__all__ = [
    "fincon_canary",
    "fincon_cassette",
    "fincon_clock",
    "fincon_connect",
    "fincon_faults",
    "fincon_reference_system",
    "fincon_sandbox",
]


@pytest.fixture
def fincon_clock() -> Any:
    """A :class:`~fincon.core.clock.FakeClock`: backoff, throttling and expiry cost no real time."""
    from fincon.core.clock import FakeClock

    return FakeClock()


@pytest.fixture
def fincon_faults() -> Any:
    """A fresh :class:`~fincon.sandbox.FaultPlan` (seed 0) to give to a sandbox."""
    from fincon.sandbox import FaultPlan

    return FaultPlan(seed=0)


@pytest.fixture
def fincon_sandbox(fincon_clock: Any) -> Callable[..., Any]:
    """Build a system's emulator: ``fincon_sandbox("stripe", size=1000, faults=plan)``."""
    from fincon.core.registry import get_system

    def build(system: str, *, seed: int = 0, size: int = 100, faults: Any = None, clock: Any = None) -> Any:
        emulator_class = get_system(system).load_sandbox()
        return emulator_class(seed=seed, size=size, clock=clock or fincon_clock, faults=faults)

    return build


@pytest.fixture
def fincon_connect(fincon_sandbox: Callable[..., Any], fincon_clock: Any) -> Iterator[Callable[..., Any]]:
    """Connect to a sandbox: ``fincon_connect("stripe", size=500)`` or ``fincon_connect(emulator)``.

    Connectors are closed at teardown; ``connector.sandbox`` is the emulator.
    """
    import fincon

    opened: list[Any] = []

    def connect(system_or_emulator: Any, *, size: int = 100, seed: int = 0, **settings: Any) -> Any:
        if isinstance(system_or_emulator, str):
            emulator = fincon_sandbox(system_or_emulator, size=size, seed=seed)
        else:
            emulator = system_or_emulator
        settings.setdefault("clock", emulator.clock)
        connector = fincon.connect(emulator.system, sandbox=emulator, **settings)
        opened.append(connector)
        return connector

    yield connect
    for connector in opened:
        connector.close()


@pytest.fixture
def fincon_reference_system() -> Iterator[str]:
    """Register the reference system for the test; yields its name."""
    from fincon.core.registry import unregister_system
    from fincon.testing.reference.connector import register

    register()
    yield "reference"
    unregister_system("reference")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def fincon_canary() -> Iterator[str]:
    """A unique fake secret, registered for redaction; at teardown the test fails if it
    appeared in any log record written through the ``fincon`` loggers during the test."""
    from fincon.core.redaction import register_secret

    canary = f"canary-{secrets.token_hex(12)}"
    register_secret(canary)
    capture = _Capture()
    capture.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("fincon")
    previous = logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.DEBUG)
    try:
        yield canary
    finally:
        logger.removeHandler(capture)
        logger.setLevel(previous)
    leaked = [line for line in capture.lines if canary in line]
    assert not leaked, (
        f"the canary secret leaked into {len(leaked)} fincon log lines, first: "
        f"{leaked[0].replace(canary, '<canary>')[:200]}"
    )


@pytest.fixture
def fincon_cassette(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``with fincon_cassette("name", canaries=[...]):`` records (or replays) a vcrpy cassette
    that scrubs secrets, in ``cassettes/`` beside the test module."""
    from fincon.testing.cassettes import use_cassette

    directory = request.path.parent / "cassettes"

    def cassette(name: str, **options: Any) -> Any:
        options.setdefault("cassette_dir", directory)
        return use_cassette(name, **options)

    return cassette
