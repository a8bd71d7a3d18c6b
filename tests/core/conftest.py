"""Fixtures for the core tests: a registered test connector, its fake server and a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fincon_corekit import (
    MAPPING,
    NOKEY_SYSTEM,
    STRICT_SYSTEM,
    SYSTEM,
    CoreTestConnector,
    FakeServer,
    NoKeyConnector,
    StrictConnector,
)

import fincon
from fincon.core.clock import FakeClock
from fincon.core.registry import SystemSpec, register_system, unregister_system


@pytest.fixture
def server() -> FakeServer:
    return FakeServer(vendors=5)


@pytest.fixture
def registered() -> Iterator[None]:
    """The test systems, registered like any third-party connector and removed afterwards."""
    register_system(
        SystemSpec(name=SYSTEM, connector=CoreTestConnector, mapping=MAPPING, description="core test"),
        replace=True,
    )
    register_system(SystemSpec(name=NOKEY_SYSTEM, connector=NoKeyConnector), replace=True)
    register_system(SystemSpec(name=STRICT_SYSTEM, connector=StrictConnector), replace=True)
    yield
    for name in (SYSTEM, NOKEY_SYSTEM, STRICT_SYSTEM):
        unregister_system(name)


@pytest.fixture
def make(registered: None, server: FakeServer, clock: FakeClock) -> Iterator[Callable[..., fincon.Connector]]:
    """``make(system=SYSTEM, **settings)``: a connector on the fake server and the fake clock."""
    opened: list[fincon.Connector] = []

    def make(system: str = SYSTEM, **settings: Any) -> fincon.Connector:
        settings.setdefault("transport", server.transport())
        settings.setdefault("clock", clock)
        connector = fincon.connect(system, **settings)
        opened.append(connector)
        return connector

    yield make
    for connector in opened:
        connector.close()


@pytest.fixture
def make_async(
    registered: None, server: FakeServer, clock: FakeClock
) -> Callable[..., fincon.AsyncConnector]:
    """``make_async(system=SYSTEM, **settings)``: the async twin of ``make`` (use it with ``async with``)."""

    def make(system: str = SYSTEM, **settings: Any) -> fincon.AsyncConnector:
        settings.setdefault("transport", server.transport())
        settings.setdefault("clock", clock)
        return fincon.connect_async(system, **settings)

    return make
