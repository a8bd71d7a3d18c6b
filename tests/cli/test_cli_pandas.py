"""The pandas extra: Parquet export and ``Listing.to_pandas()``, amounts kept exact."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import fincon
from fincon.cli import main
from fincon.testing.reference.emulator import ReferenceEmulator

pq = pytest.importorskip("pyarrow.parquet", reason="the pandas extra (pandas, pyarrow) is not installed")


def test_export_parquet_streams_every_record_as_exact_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bills.parquet"
    assert (
        main(["export", "reference", "bill", "--sandbox", "--format", "parquet", "--out", str(target)]) == 0
    )
    assert "exported 100 bill records" in capsys.readouterr().err
    table = pq.read_table(target)
    assert table.num_rows == 100
    amounts = table.column("total.amount").to_pylist()
    assert all(isinstance(amount, str) for amount in amounts)  # never float
    assert all(Decimal(amount) > 0 for amount in amounts)
    assert len(set(table.column("id").to_pylist())) == 100


def test_to_pandas_keeps_decimals() -> None:
    with fincon.connect("reference", sandbox=ReferenceEmulator(size=30)) as ref:
        frame = ref.bills.list().to_pandas()
    assert len(frame) == 30
    first_total = frame.iloc[0]["total"]
    assert isinstance(first_total["amount"], Decimal)
    assert frame["id"].is_unique


@pytest.mark.anyio
async def test_async_to_pandas() -> None:
    async with fincon.connect_async("reference", sandbox=ReferenceEmulator(size=12)) as ref:
        frame = await ref.vendors.list().to_pandas()
    assert list(frame["id"]) == [f"ven_{index:08d}" for index in range(1, 13)]
