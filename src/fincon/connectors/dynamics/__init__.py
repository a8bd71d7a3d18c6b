"""Microsoft Dynamics 365: Business Central API v2.0 and Finance and Operations.

``fincon.connect("dynamics", flavor="business_central", tenant_id=..., client_id=...,
client_secret=..., environment=..., company=...)``; ``fincon.connect("dynamics", sandbox=True)``
for the in-process emulator. See ``docs/dynamics.md``.
"""

from fincon.core.registry import SystemSpec

__all__ = ["SPEC"]

SPEC = SystemSpec(
    name="dynamics",
    connector="fincon.connectors.dynamics.connector:DynamicsConnector",
    mapping="fincon.connectors.dynamics.mapping",
    sandbox="fincon.connectors.dynamics.sandbox:DynamicsEmulator",
    description="Microsoft Dynamics 365 Business Central (API v2.0) and Finance & Operations (OData)",
)
"""How the registry finds the Dynamics connector, mapping and sandbox (entry point ``fincon.connectors``)."""
