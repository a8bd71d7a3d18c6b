"""fincon: typed connectors for finance systems, one protocol over all of them.

>>> import fincon
>>> erp = fincon.connect("netsuite", account=..., auth=...)   # doctest: +SKIP
>>> for bill in erp.bills.list(updated_since=...):            # doctest: +SKIP
...     print(bill.number, bill.total)

Submodules (``fincon.models``, ``fincon.auth``, ``fincon.transform``, ``fincon.validate``,
``fincon.sandbox``, ``fincon.testing``) load on first use, so ``import fincon`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fincon.errors import (
    AuthError,
    CircuitOpen,
    ConfigError,
    Conflict,
    FinconError,
    NotFound,
    PaginationError,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    RemoteValidationError,
    ServerError,
    TransportError,
    Unsupported,
    ValidationError,
)

if TYPE_CHECKING:
    from fincon import auth, models, sandbox, testing, transform, validate, workflows
    from fincon.core.client import AsyncConnector, Connector
    from fincon.core.connect import connect, connect_async, to_payload, to_record
    from fincon.core.registry import SystemInfo, systems

__version__ = "0.1.0"

__all__ = [
    "AsyncConnector",
    "AuthError",
    "CircuitOpen",
    "ConfigError",
    "Conflict",
    "Connector",
    "FinconError",
    "NotFound",
    "PaginationError",
    "PermissionDenied",
    "QuotaExceeded",
    "RateLimited",
    "RemoteValidationError",
    "ServerError",
    "SystemInfo",
    "TransportError",
    "Unsupported",
    "ValidationError",
    "__version__",
    "auth",
    "connect",
    "connect_async",
    "models",
    "sandbox",
    "systems",
    "testing",
    "to_payload",
    "to_record",
    "transform",
    "validate",
    "workflows",
]

# Public name -> the module that defines it; imported on first access (PEP 562).
_LAZY = {
    "connect": "fincon.core.connect",
    "connect_async": "fincon.core.connect",
    "to_record": "fincon.core.connect",
    "to_payload": "fincon.core.connect",
    "systems": "fincon.core.registry",
    "SystemInfo": "fincon.core.registry",
    "Connector": "fincon.core.client",
    "AsyncConnector": "fincon.core.client",
}
_SUBMODULES = {"auth", "models", "sandbox", "testing", "transform", "validate", "workflows"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"fincon.{name}")
    else:
        raise AttributeError(f"module 'fincon' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
