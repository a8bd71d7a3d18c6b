"""Session-wide contracts for the spec-check tests: each big spec is loaded once per session.

Specs come from $FINCON_SPECS, else <repo>/../shared/specs; a missing file skips the test that
needs it, with the reason.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from specs_testkit import STRIPE_2023

from fincon.testing.specs import ODataContract, OpenAPIContract, XmlSchemaContract, require_spec


@pytest.fixture(scope="session")
def stripe() -> OpenAPIContract:
    """Stripe's spec3.yaml (4 MB) for API version 2023-08-16, patched."""
    return OpenAPIContract(require_spec(f"{STRIPE_2023}/spec3.yaml"))


@pytest.fixture(scope="session")
def stripe_fixtures() -> dict[str, Any]:
    """Stripe's example objects for the same spec, by object name."""
    with require_spec(f"{STRIPE_2023}/fixtures3.json").open(encoding="utf-8") as handle:
        resources: dict[str, Any] = json.load(handle)["resources"]
    return resources


@pytest.fixture(scope="session")
def obie_accounts() -> OpenAPIContract:
    """UK Open Banking v4.0 account-information API."""
    return OpenAPIContract(require_spec("obie/v4.0/account-info-openapi.yaml"))


@pytest.fixture(scope="session")
def business_partner() -> ODataContract:
    """SAP S/4HANA Business Partner (A2X) OData V2 $metadata."""
    return ODataContract(require_spec("sap-s4hana/API_BUSINESS_PARTNER.edmx"))


@pytest.fixture(scope="session")
def business_central() -> ODataContract:
    """Dynamics 365 Business Central API v2.0 OData V4 $metadata."""
    return ODataContract(require_spec("dynamics365-bc/api-v2.0/metadata.xml"))


@pytest.fixture(scope="session")
def intacct() -> XmlSchemaContract:
    """Sage Intacct XML API v3.0 schema, patched."""
    return XmlSchemaContract(require_spec("sage-intacct/v3.0/api.xsd"))
