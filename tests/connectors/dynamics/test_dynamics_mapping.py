"""Mapping BC and F&O payloads: round trips, and amounts exact whether numbers or strings."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

import fincon
from fincon.connectors.dynamics.fo_mapping import FO_MAPPERS
from fincon.connectors.dynamics.mapping import MAPPERS, mappers_for
from fincon.connectors.dynamics.sandbox import DynamicsEmulator
from fincon.core.clock import FakeClock
from fincon.core.responses import parse_json


def _bill(amount: object) -> dict[str, object]:
    return {
        "id": "0000b111-0000-4000-8000-000000000001",
        "vendorInvoiceNumber": "INV-1",
        "vendorId": "00007e4d-0000-4000-8000-000000000002",
        "invoiceDate": "2026-01-05",
        "currencyCode": "KWD",
        "totalAmountIncludingTax": amount,
        "status": "In_x0020_Review",
        "purchaseInvoiceLines": [
            {
                "sequence": 10000,
                "lineType": "Account",
                "accountId": "0000acc0-0000-4000-8000-000000000003",
                "quantity": 3,
                "unitCost": amount,
                "taxCode": "TAXABLE",
                "dimensionSetLines": [{"code": "DEPT", "valueCode": "ADM"}],
            },
        ],
    }


@pytest.mark.parametrize("wire", ['"1234567.891"', "1234567.891"])
def test_amounts_are_exact_from_numbers_and_strings(wire: str) -> None:
    body = json.dumps(_bill("PLACEHOLDER")).replace('"PLACEHOLDER"', wire)
    payload = parse_json(httpx.Response(200, content=body.encode()))
    bill = fincon.to_record("dynamics", "bill", payload)
    assert bill.total.amount == Decimal("1234567.891")
    assert str(bill.total.amount) == "1234567.891"
    assert bill.lines[0].unit_price.amount == Decimal("1234567.891")
    assert bill.status == "pending_approval"
    assert bill.lines[0].dimensions == {"DEPT": "ADM"}


def test_a_float_amount_is_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        MAPPERS["bill"].to_record(_bill(1234.5))


@pytest.mark.parametrize(
    "resource",
    [
        "vendor",
        "customer",
        "bill",
        "invoice",
        "bill_payment",
        "payment",
        "account",
        "journal_entry",
        "purchase_order",
        "receipt",
        "bank_account",
    ],
)
def test_bc_records_round_trip(resource: str) -> None:
    emulator = DynamicsEmulator(size=30, clock=FakeClock())
    mapper = mappers_for("USD")[resource]
    with fincon.connect("dynamics", sandbox=emulator, clock=emulator.clock, share_limits=False) as bc:
        records = list(bc.collection(resource).list(page_size=10, max_pages=1))
    assert records
    for record in records:
        again = mapper.to_record(
            json.loads(json.dumps(mapper.to_payload(record), default=str), parse_float=Decimal)
        )
        assert again.model_dump(exclude={"source", "raw"}) == record.model_dump(exclude={"source", "raw"})


@pytest.mark.parametrize("resource", sorted(FO_MAPPERS))
def test_fo_records_round_trip(resource: str) -> None:
    emulator = DynamicsEmulator(flavor="finance_operations", size=30, clock=FakeClock())
    with fincon.connect("dynamics", sandbox=emulator, clock=emulator.clock, share_limits=False) as fo:
        records = list(fo.collection(resource).list(page_size=10, max_pages=1))
    mapper = FO_MAPPERS[resource]
    for record in records:
        if resource == "bill":
            record = record.model_copy(update={"total": None})
        again = mapper.to_record(mapper.to_payload(record))
        assert again.model_dump(exclude={"source", "raw"}) == record.model_dump(exclude={"source", "raw"})


def test_decimals_arrive_exact_when_the_server_ignores_ieee754() -> None:
    emulator = DynamicsEmulator(size=5, clock=FakeClock(), honour_ieee754=False)
    with fincon.connect("dynamics", sandbox=emulator, clock=emulator.clock, share_limits=False) as bc:
        bill = next(iter(bc.bills.list()))
    raw_total = bill.raw["totalAmountIncludingTax"]
    # A JSON number, parsed exactly: Decimal, or int for a whole amount (JPY); never a float or a string.
    assert type(raw_total) in (Decimal, int)
    assert bill.total.amount == Decimal(raw_total)
