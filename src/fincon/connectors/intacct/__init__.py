"""Sage Intacct through the fincon protocol (XML Web Services API 3.0).

``fincon.connect("intacct", sender_id=..., sender_password=..., company_id=..., user_id=...,
user_password=..., entity_id=None)`` or with ``session_id=``; ``fincon.connect("intacct",
sandbox=True)`` for the in-process emulator. See ``docs/intacct.md``.
"""

from fincon.core.registry import SystemSpec

__all__ = ["SPEC"]

SPEC = SystemSpec(
    name="intacct",
    connector="fincon.connectors.intacct.connector:IntacctConnector",
    mapping="fincon.connectors.intacct.mapping",
    sandbox="fincon.connectors.intacct.sandbox:IntacctEmulator",
    description="Sage Intacct (XML API 3.0): vendors, customers, bills, invoices, payments, GL, POs",
)
"""How the registry finds Intacct's connector, mapping and sandbox (entry point ``fincon.connectors``)."""
