"""Finance workflows over canonical records: three-way match and bank reconciliation.

Both are pure functions: no connector or network is needed. See ``docs/workflows.md``.
"""

from __future__ import annotations

from fincon.workflows._reconcile import ReconcileRules, ReconciliationMatch, ReconciliationResult, reconcile
from fincon.workflows._three_way_match import (
    LineMatch,
    MatchTolerance,
    MatchVerdict,
    ThreeWayMatchResult,
    three_way_match,
)

__all__ = [
    "LineMatch",
    "MatchTolerance",
    "MatchVerdict",
    "ReconcileRules",
    "ReconciliationMatch",
    "ReconciliationResult",
    "ThreeWayMatchResult",
    "reconcile",
    "three_way_match",
]
