"""Wire protocols shared by several systems.

- :mod:`fincon.protocols.odata`: OData V2 and V4 clients (SAP S/4HANA, Microsoft Dynamics 365).

Nothing here is imported by ``import fincon``; connectors import what they use.
"""
