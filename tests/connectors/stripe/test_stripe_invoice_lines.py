"""Invoice lines beyond the embedded ones: an invoice is complete, or reading it fails.

The server below answers with an invoice whose ``lines`` list says ``has_more`` and a
``/lines`` endpoint that misbehaves in one way per test; the honest case is checked too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

import fincon
from fincon.connectors.stripe.sandbox import StripeEmulator
from fincon.core.clock import FakeClock
from fincon.errors import PaginationError, ServerError
from fincon.models import Invoice, LineItem, Money, Ref

KEY = "sk_test_lines_0123456789abcdef"


@pytest.fixture(scope="module")
def stored_invoice() -> dict[str, Any]:
    """A real draft invoice with 12 lines, as the emulator stores it (plain JSON)."""
    emulator = StripeEmulator(size=3, clock=FakeClock())
    with fincon.connect("stripe", sandbox=emulator, clock=emulator.clock, share_limits=False) as stripe:
        lines = [LineItem(description=f"Line {n}", amount=Money(Decimal(n), "USD")) for n in range(1, 13)]
        draft = stripe.invoices.create(
            Invoice(customer=Ref(id="cus_0000000001"), currency="USD", lines=lines)
        )
    stored = emulator.invoices.get(str(draft.id))
    assert stored is not None
    data: dict[str, Any] = json.loads(json.dumps(stored.data, default=str))
    assert len(data["lines"]["data"]) == 12
    return data


def serve(
    invoice: dict[str, Any], embedded: int, lines_page: Callable[[httpx.Request, list[Any]], dict[str, Any]]
) -> tuple[fincon.Connector, list[httpx.Request]]:
    """A connector whose server embeds ``embedded`` lines and pages the rest with ``lines_page``."""
    all_lines = invoice["lines"]["data"]
    head = {**invoice, "lines": {**invoice["lines"], "data": all_lines[:embedded], "has_more": True}}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/lines"):
            return httpx.Response(200, json=lines_page(request, all_lines))
        return httpx.Response(200, json=head)

    connector = fincon.connect(
        "stripe", api_key=KEY, transport=httpx.MockTransport(handler), clock=FakeClock(), share_limits=False
    )
    return connector, seen


def honest(request: httpx.Request, lines: list[Any]) -> dict[str, Any]:
    after = request.url.params.get("starting_after")
    start = 0 if after is None else [line["id"] for line in lines].index(after) + 1
    chunk = lines[start : start + 5]
    return {"object": "list", "data": chunk, "has_more": start + 5 < len(lines)}


def test_lines_are_paged_to_the_end(stored_invoice: dict[str, Any]) -> None:
    stripe, seen = serve(stored_invoice, 10, honest)
    with stripe:
        invoice = stripe.invoices.get(stored_invoice["id"])
    assert [line.description for line in invoice.lines] == [f"Line {n}" for n in range(1, 13)]
    assert [request.url.params.get("starting_after") for request in seen[1:]] == [
        stored_invoice["lines"]["data"][9]["id"]
    ]


def test_no_embedded_lines_reads_them_from_the_first(stored_invoice: dict[str, Any]) -> None:
    stripe, seen = serve(stored_invoice, 0, honest)
    with stripe:
        invoice = stripe.invoices.get(stored_invoice["id"])
    assert len(invoice.lines) == 12, "lines were dropped when the invoice embedded none"
    assert "starting_after" not in seen[1].url.params


def test_an_empty_page_while_more_were_promised_is_an_error(stored_invoice: dict[str, Any]) -> None:
    def empty(request: httpx.Request, lines: list[Any]) -> dict[str, Any]:
        return {"object": "list", "data": [], "has_more": True}

    stripe, _ = serve(stored_invoice, 10, empty)
    with stripe, pytest.raises(ServerError, match="has more lines but sent none"):
        stripe.invoices.get(stored_invoice["id"])


def test_a_lines_page_that_goes_round_is_an_error(stored_invoice: dict[str, Any]) -> None:
    def again(request: httpx.Request, lines: list[Any]) -> dict[str, Any]:
        return {"object": "list", "data": lines[8:10], "has_more": True}  # the embedded tail, forever

    stripe, seen = serve(stored_invoice, 10, again)
    with stripe, pytest.raises(PaginationError, match="twice"):
        stripe.invoices.get(stored_invoice["id"])
    assert len(seen) == 2, "the repeating page was fetched again"
