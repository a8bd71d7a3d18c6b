"""Shared helpers for the Stripe tests (a module with a unique name, unlike conftest)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from fincon.connectors.stripe._seed import _fixtures_path

SPEC = "stripe/2023-09-12_api-2023-08-16/spec3.yaml"


@lru_cache(maxsize=1)
def fixtures() -> dict[str, Any]:
    """Stripe's example objects by name (skips the test when the specs folder is absent)."""
    path = _fixtures_path()
    if path is None:
        pytest.skip("Stripe's fixtures3.json is not available (set FINCON_SPECS)")
    with Path(path).open(encoding="utf-8") as handle:
        resources: dict[str, Any] = json.load(handle)["resources"]
    return resources
