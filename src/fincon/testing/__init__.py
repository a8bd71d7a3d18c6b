"""Testing with fincon: a pytest plugin, the conformance suite, cassettes, the reference system.

- :mod:`fincon.testing.plugin`: fixtures (``fincon_clock``, ``fincon_sandbox``,
  ``fincon_connect``, ``fincon_faults``, ``fincon_canary``), loaded automatically by pytest.
- :mod:`fincon.testing.conformance`: :class:`~fincon.testing.conformance.ConformanceSuite`.
- :mod:`fincon.testing.cassettes`: vcrpy cassettes that scrub secrets.
- :mod:`fincon.testing.specs`: emulator responses and connector requests checked against the
  vendors' published specifications (OpenAPI, OData EDMX, XML Schema).
- :mod:`fincon.testing.reference`: a small JSON REST system proving the framework.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fincon.testing.conformance import ConformanceSuite

__all__ = ["ConformanceSuite"]


def __getattr__(name: str) -> Any:
    if name == "ConformanceSuite":
        return importlib.import_module("fincon.testing.conformance").ConformanceSuite
    raise AttributeError(f"module 'fincon.testing' has no attribute {name!r}")
