"""Fixtures shared by the sandbox tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fincon.core.clock import FakeClock
from fincon.sandbox import FaultPlan, SandboxTransport
from fincon.testing.reference import ReferenceEmulator


@pytest.fixture
def plan() -> FaultPlan:
    return FaultPlan(seed=1)


@pytest.fixture
def reference(clock: FakeClock, plan: FaultPlan) -> ReferenceEmulator:
    return ReferenceEmulator(seed=3, size=50, clock=clock, faults=plan)


@pytest.fixture
def client(reference: ReferenceEmulator) -> Iterator[httpx.Client]:
    """A plain httpx client on the reference emulator, authenticated with its API key."""
    with httpx.Client(
        transport=SandboxTransport(reference),
        base_url="https://reference.test",
        headers={"Authorization": f"Bearer {reference.api_key}"},
    ) as client:
        yield client
