"""Listings to pandas DataFrames (the ``pandas`` extra), imported only when asked for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fincon.errors import ConfigError

__all__ = ["records_to_frame"]


def records_to_frame(records: Iterable[Any]) -> Any:
    """One row per record, amounts kept as ``Decimal`` objects (never float)."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ConfigError('to_pandas() needs the pandas extra: pip install "fincon[pandas]"') from exc
    rows = [record.dump() for record in records]
    return pd.DataFrame.from_records(rows)
