"""Holding emulators and connectors to the vendors' own specifications, in tests.

- :func:`specs_dir`, :func:`spec_path`, :func:`require_spec`: find ``$FINCON_SPECS`` or
  ``<repo>/../shared/specs`` (``require_spec`` skips the test when a file is absent).
- :class:`OpenAPIContract`: OpenAPI 3.0 (YAML/JSON); requests checked by fincon (Stripe's
  bracketed deepObject keys included), responses by openapi-core.
- :class:`ODataContract`: EDMX ``$metadata`` V2 and V4; payloads and URLs.
- :class:`XmlSchemaContract`: XML Schema via lxml.
- :class:`SpecCheckingTransport`: an httpx transport wrapper validating every exchange.
- :class:`SpecViolation`: what a failed check raises (an ``AssertionError``).

Every spec is loaded once per process; known quirks are patched in memory at load time
(``docs/spec-checks.md`` lists them). Importing this package loads none of openapi-core,
jsonschema, PyYAML or lxml; they load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fincon.testing.specs._errors import Problem, SpecLoadError, SpecViolation
    from fincon.testing.specs._locate import SpecNotFound, require_spec, spec_path, specs_dir
    from fincon.testing.specs._odata import ODataContract
    from fincon.testing.specs._openapi import OpenAPIContract
    from fincon.testing.specs._patches import OPENAPI_PATCHES, XSD_PATCHES, OpenAPIPatch, Patch, XsdPatch
    from fincon.testing.specs._transport import Contract, SpecCheckingTransport
    from fincon.testing.specs._xsd import XmlSchemaContract

__all__ = [
    "OPENAPI_PATCHES",
    "XSD_PATCHES",
    "Contract",
    "ODataContract",
    "OpenAPIContract",
    "OpenAPIPatch",
    "Patch",
    "Problem",
    "SpecCheckingTransport",
    "SpecLoadError",
    "SpecNotFound",
    "SpecViolation",
    "XmlSchemaContract",
    "XsdPatch",
    "require_spec",
    "spec_path",
    "specs_dir",
]

_WHERE = {
    "Problem": "_errors",
    "SpecLoadError": "_errors",
    "SpecViolation": "_errors",
    "SpecNotFound": "_locate",
    "require_spec": "_locate",
    "spec_path": "_locate",
    "specs_dir": "_locate",
    "ODataContract": "_odata",
    "OpenAPIContract": "_openapi",
    "OPENAPI_PATCHES": "_patches",
    "XSD_PATCHES": "_patches",
    "OpenAPIPatch": "_patches",
    "Patch": "_patches",
    "XsdPatch": "_patches",
    "Contract": "_transport",
    "SpecCheckingTransport": "_transport",
    "XmlSchemaContract": "_xsd",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'fincon.testing.specs' has no attribute {name!r}")
    return getattr(importlib.import_module(f"fincon.testing.specs.{module}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
