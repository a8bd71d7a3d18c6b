"""The Business Central emulator is built from BC's v2.0 ``$metadata`` (a vendor spec, not
shipped): without the specs folder these tests skip, saying where it was looked for."""

from __future__ import annotations

import pytest

from fincon.connectors.dynamics.sandbox import BC_METADATA
from fincon.testing.specs import require_spec


@pytest.fixture(autouse=True)
def _bc_metadata() -> None:
    require_spec(BC_METADATA)
