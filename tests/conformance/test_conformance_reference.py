"""The conformance suite against the reference connector: it must pass."""

from __future__ import annotations

from typing import ClassVar

from reference_suite import ReferenceSuite


class TestReferenceVendors(ReferenceSuite):
    pass


class TestReferenceBills(ReferenceSuite):
    resource: ClassVar[str] = "bill"
