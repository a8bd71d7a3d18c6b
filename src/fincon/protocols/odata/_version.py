"""The two OData versions fincon speaks."""

from __future__ import annotations

from enum import Enum

__all__ = ["ODataVersion"]


class ODataVersion(str, Enum):
    """OData protocol version: ``V2`` (SAP Gateway) or ``V4`` (Dynamics 365, newer SAP services)."""

    V2 = "2.0"
    V4 = "4.0"

    @property
    def is_v4(self) -> bool:
        """True for OData V4."""
        return self is ODataVersion.V4
