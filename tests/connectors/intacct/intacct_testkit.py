"""Shared helpers for the Intacct tests (a module with a unique name, unlike conftest)."""

from __future__ import annotations

from typing import Any

import fincon
from fincon.connectors.intacct.sandbox import IntacctEmulator
from fincon.core.clock import FakeClock
from fincon.sandbox import SandboxTransport

API_XSD = "sage-intacct/v3.0/api.xsd"


def connect_checked(emulator: IntacctEmulator, contract: Any, **settings: Any) -> tuple[Any, Any]:
    """A connector whose every request is validated against ``api.xsd`` (responses cannot be: see docs)."""
    from fincon.testing.specs import SpecCheckingTransport

    checking = SpecCheckingTransport(SandboxTransport(emulator), contract, check_responses=False)
    merged = {**emulator.credentials(), "base_url": emulator.base_url, "share_limits": False, **settings}
    return fincon.connect("intacct", transport=checking, **merged), checking


def emulator(size: int = 50, **options: Any) -> IntacctEmulator:
    return IntacctEmulator(seed=3, size=size, clock=options.pop("clock", FakeClock()), **options)
