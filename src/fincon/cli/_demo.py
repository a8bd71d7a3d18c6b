"""``fincon demo``: a short workflow on the built-in sandboxes, saying what it does.

No network and no credentials: everything runs against in-process emulators. Each
connector issue extends it with its system.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

__all__ = ["run_demo"]


def run_demo(out: TextIO) -> int:
    """Run the demo, printing to ``out``; returns the exit status."""
    import fincon
    from fincon.core.audit import verify_audit_file
    from fincon.models import Money, Vendor
    from fincon.testing.reference.connector import register
    from fincon.testing.reference.emulator import ReferenceEmulator

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    started = time.perf_counter()
    register()
    emulator = ReferenceEmulator(seed=42, size=250)
    with tempfile.TemporaryDirectory(prefix="fincon-demo-") as workdir:
        audit_file = Path(workdir) / "audit.jsonl"
        say("fincon demo: the reference system's sandbox (in process: no network, no credentials)")
        with fincon.connect("reference", sandbox=emulator, audit=[str(audit_file)], actor="demo") as ref:
            identity = ref.check()
            say(f"1. check(): connected to {identity.system} as {identity.user} ({identity.account})")

            pages = 0
            vendors: list[Vendor] = []
            for page in ref.vendors.list(page_size=100).pages():
                pages += 1
                vendors.extend(page.items)
            say(f"2. vendors.list(): {len(vendors)} vendors in {pages} pages, e.g. {vendors[0].name!r}")

            emulator.faults.throttle(retry_after=1, path="/v1/bills", times=1)
            emulator.faults.server_error(503, burst=2, path="/v1/bills", times=1)
            totals: dict[str, Money] = {}
            count = 0
            for bill in ref.bills.list(updated_since=datetime(2020, 1, 1, tzinfo=timezone.utc)):
                count += 1
                if bill.total is not None:
                    current = totals.get(bill.total.currency)
                    totals[bill.total.currency] = bill.total if current is None else current + bill.total
            injected = ", ".join(emulator.faults.kinds())
            say(f"3. bills.list(updated_since=...): {count} bills, read through injected faults ({injected})")
            for currency in sorted(totals):
                say(f"   total {currency}: {totals[currency].amount} (Decimal, exact)")

            emulator.faults.clear()
            emulator.faults.drop_after(method="POST", times=1)
            new = ref.vendors.create(
                Vendor(name="Acme Corp", email="ap@acme.example", currency="USD"),
                idempotency_key="demo-acme-1",
            )
            stored = sum(1 for record in emulator.vendors if record.data.get("name") == "Acme Corp")
            say(
                f"4. vendors.create(...): the answer was lost after the server applied it; the retry reused "
                f"the idempotency key and the system holds {stored} Acme Corp ({new.id})"
            )

            first_page = next(iter(ref.bills.list(page_size=50).pages()))
            cursor = first_page.next_cursor
        with fincon.connect("reference", sandbox=emulator) as later:
            rest = sum(1 for _ in later.bills.list(page_size=50, cursor=cursor))
        resumed = f"{len(first_page.items)} + {rest} = {count} bills"
        say(f"5. a new connector resumed from a page's cursor: {resumed}")

        _helpers_step(say, vendors)

        _stripe_step(say)

        verification = verify_audit_file(audit_file)
        state = "intact" if verification.ok else f"BROKEN at line {verification.first_bad_line}"
        say(f"10. audit trail: {verification.lines} hash-chained events in a JSON Lines file, chain {state}")
    say(f"done in {time.perf_counter() - started:.1f}s")
    return 0


def _helpers_step(say: Any, vendors: list[Any]) -> None:
    """Money rules, validation and a three-way match: pure functions, no connection needed."""
    import datetime as dt
    from decimal import Decimal

    from fincon.errors import ValidationError
    from fincon.models import Bill, LineItem, Money, PurchaseOrder, Receipt, ReceiptLine, Ref
    from fincon.validate import validate_iban
    from fincon.workflows import MatchTolerance, three_way_match

    usd = Money(amount="10.10", currency="USD")
    try:
        Money(amount=0.1, currency="USD")  # type: ignore[arg-type]
    except (ValidationError, ValueError):
        refused = "refused"
    else:  # pragma: no cover - the model must refuse floats
        refused = "ACCEPTED (bug)"
    say(f"6. Money: 10.10 USD * 3 = {usd * 3}; a float amount is {refused}")

    iban = next(
        v.raw["bank_account"]["iban"] for v in vendors if "iban" in (v.raw or {}).get("bank_account", {})
    )
    altered = iban[:-1] + ("0" if iban[-1] != "0" else "1")
    try:
        validate_iban(altered)
    except ValidationError as error:
        verdict = f"rejected ({error.message})"
    else:  # pragma: no cover - a changed digit must fail mod-97
        verdict = "ACCEPTED (bug)"
    say(f"7. validate_iban: a seeded vendor's {validate_iban(iban)} is valid; one digit changed is {verdict}")

    def money(amount: str) -> Money:
        return Money(amount, "USD")

    order = PurchaseOrder(
        number="PO-7001",
        lines=[LineItem(id="1", quantity=Decimal(100), unit_price=money("12.50"), amount=money("1250.00"))],
        total=money("1250.00"),
    )
    receipt = Receipt(
        date=dt.date(2026, 3, 10), lines=[ReceiptLine(purchase_order_line="1", quantity=Decimal(100))]
    )
    bill = Bill(
        number="INV-555",
        vendor=Ref("V-100", "Northwind Traders"),
        lines=[
            LineItem(
                purchase_order_line="1",
                quantity=Decimal(100),
                unit_price=money("12.50"),
                amount=money("1250.00"),
            ),
            LineItem(description="Freight", amount=money("18.75")),
        ],
        total=money("1268.75"),
    )
    tolerance = MatchTolerance(
        quantity_percent=Decimal(0), price_percent=Decimal(2), amount_percent=Decimal(2)
    )
    result = three_way_match(order, receipt, bill, tolerance=tolerance)
    say(f"8. three_way_match(PO, receipt, bill with 18.75 freight): {result.verdict.value}")


def _stripe_step(say: Any) -> None:
    """Stripe's sandbox: receivables in canonical records, and a webhook verified."""
    import json
    import time as clock

    import fincon
    from fincon.connectors.stripe.webhooks import SignatureVerificationError, construct_event, sign_payload

    with fincon.connect("stripe", sandbox=True) as stripe:
        open_total: dict[str, Any] = {}
        count = 0
        for invoice in stripe.invoices.list(filters={}):
            if invoice.balance is not None and invoice.balance.amount > 0:
                count += 1
                current = open_total.get(invoice.balance.currency)
                open_total[invoice.balance.currency] = (
                    invoice.balance if current is None else current + invoice.balance
                )
        customer = next(iter(stripe.customers.list(page_size=1)))
    owed = ", ".join(f"{money.amount} {currency}" for currency, money in sorted(open_total.items()))
    say(f"9. stripe (sandbox): {count} invoices with a balance due: {owed}")
    secret = "whsec_demo_0123456789"  # noqa: S105 - a demo secret, shown on purpose
    customer_id = customer.id or ""
    data = {"object": {"id": customer_id, "object": "customer", "name": customer.name}}
    body = json.dumps(
        {"id": "evt_demo_1", "object": "event", "type": "customer.updated", "created": int(clock.time()),
         "livemode": False, "data": data}
    )  # fmt: skip
    event = construct_event(body, sign_payload(body, secret, int(clock.time())), secret)
    try:
        signature = sign_payload(body, secret, int(clock.time()))
        construct_event(body.replace(customer_id, "cus_tampered"), signature, secret)
    except SignatureVerificationError:
        tampered = "rejected"
    else:  # pragma: no cover - a changed body must fail verification
        tampered = "ACCEPTED (bug)"
    say(
        f"   webhook {event.type} verified and mapped to {type(event.record).__name__} {event.record.id}; "
        f"a tampered copy is {tampered}"
    )
