"""Benchmark for issue 3: validating Bill records and normalising vendor names.

Run: ``PYTHONPATH=src python benchmarks/bench_models.py [--records 100000]``.
Prints records per second for:

- validating ``Bill`` records with 5 lines each from plain dicts (amounts as strings, as a
  connector hands them over after parsing JSON with ``parse_float=Decimal``), streamed one by
  one and then kept all in memory;
- normalising vendor names with ``fincon.transform.normalize_vendor_name``.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable
from typing import Any

from fincon.models import Bill
from fincon.transform import normalize_vendor_name

_SUFFIXES = ["Inc.", "LLC", "Ltd", "GmbH", "S.A.", "Corp.", "& Co.", "", "Limited", "B.V."]
_WORDS = [
    "Acme",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Müller",
    "Société",
    "O'Brien",
    "Blue",
    "Global",
]


def _bill_payload(index: int) -> dict[str, Any]:
    lines = [
        {
            "description": f"Item {n}",
            "item": {"id": f"SKU-{n}", "name": f"Item {n}"},
            "quantity": str(n + 1),
            "unit_price": {"amount": "19.99", "currency": "USD"},
            "amount": {"amount": f"{19.99 * (n + 1):.2f}", "currency": "USD"},
            "account": {"id": "6000", "name": "Supplies"},
            "tax_code": "STD",
            "dimensions": {"department": "ops", "location": "NYC"},
        }
        for n in range(5)
    ]
    return {
        "id": str(index),
        "source": {"system": "bench", "resource": "bill", "id": str(index)},
        "updated_at": "2026-01-05T09:30:00Z",
        "number": f"INV-{index:07d}",
        "vendor": {"id": f"V{index % 500}", "name": "Acme Corp"},
        "issue_date": "2026-01-02",
        "due_date": "2026-02-01",
        "currency": "USD",
        "lines": lines,
        "subtotal": {"amount": "299.85", "currency": "USD"},
        "tax": {"amount": "0.00", "currency": "USD"},
        "total": {"amount": "299.85", "currency": "USD"},
        "balance": {"amount": "299.85", "currency": "USD"},
        "status": "open",
        "payment_terms": {"net_days": 30},
        "raw": None,
    }


def _vendor_names(count: int) -> list[str]:
    rng = random.Random(3)
    return [
        f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {index} {rng.choice(_SUFFIXES)}".strip()
        for index in range(count)
    ]


def _rate(label: str, count: int, work: Callable[[], None]) -> float:
    start = time.perf_counter()
    work()
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    print(f"{label}: {count:,} in {elapsed:.2f} s = {rate:,.0f} records/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    count = parser.parse_args().records

    payloads = [_bill_payload(index) for index in range(count)]
    Bill.model_validate(payloads[0])  # build the schema outside the timing
    gc.collect()
    gc.freeze()  # the inputs live all along: keep the collector from rescanning them during the timing

    def streaming() -> None:  # as a connector's lazy iterator hands records on one by one
        for payload in payloads:
            Bill.model_validate(payload)

    _rate("validate Bill (5 lines), streamed", count, streaming)
    kept: list[Bill] = []
    # Keeping every record alive makes Python's cyclic GC rescan them: a cost of the caller's choice.
    _rate(
        "validate Bill (5 lines), all kept in a list",
        count,
        lambda: kept.extend(map(Bill.model_validate, payloads)),
    )

    names = _vendor_names(count)
    gc.freeze()
    _rate("normalize_vendor_name", count, lambda: [normalize_vendor_name(n) for n in names] and None)


if __name__ == "__main__":
    main()
