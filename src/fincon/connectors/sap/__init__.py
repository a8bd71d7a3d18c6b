"""SAP S/4HANA through the fincon protocol (OData V2 APIs).

``fincon.connect("sap", base_url=..., user=..., password=..., sap_client="100", language="EN")``
(or ``client_id``/``client_secret`` for OAuth2, or ``auth=``); ``sandbox=True`` for the emulator,
which needs SAP's EDMX files (``$FINCON_SPECS``).
"""

from fincon.core.registry import SystemSpec

__all__ = ["SPEC"]

SPEC = SystemSpec(
    name="sap",
    connector="fincon.connectors.sap.connector:SapConnector",
    mapping="fincon.connectors.sap.mapping",
    sandbox="fincon.connectors.sap.sandbox:SapEmulator",
    description="SAP S/4HANA OData V2 APIs (business partners, supplier invoices, orders, ledger)",
)
"""How the registry finds SAP's connector, mapping and sandbox (entry point ``fincon.connectors``)."""
