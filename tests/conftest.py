"""Project-wide test setup: the reference system is registered for the whole session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
