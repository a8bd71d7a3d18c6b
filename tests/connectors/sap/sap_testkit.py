"""Shared helpers for the SAP tests (a module with a unique name, unlike conftest)."""

from __future__ import annotations

from typing import Any

import pytest

from fincon.testing.specs import SpecNotFound, spec_path

BP = "sap-s4hana/API_BUSINESS_PARTNER.edmx"
INVOICES = "sap-s4hana/API_SUPPLIERINVOICE_PROCESS_SRV.edmx"


def require_sap_specs() -> None:
    """Skip (with the reason) when SAP's EDMX files are not on this machine."""
    try:
        spec_path(BP)
    except SpecNotFound as error:
        pytest.skip(f"the SAP sandbox needs SAP's EDMX files: {error}")


def emulator(**options: Any) -> Any:
    require_sap_specs()
    from fincon.connectors.sap.sandbox import SapEmulator

    return SapEmulator(**options)
