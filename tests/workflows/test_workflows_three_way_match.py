"""Three-way match on realistic cases: exact, freight surcharge, partial receipt, price variance."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fincon.models import Bill, LineItem, Money, PurchaseOrder, Receipt, ReceiptLine, Ref
from fincon.workflows import MatchTolerance, MatchVerdict, three_way_match

VENDOR = Ref("V-100", "Northwind Traders")
TOLERANCE = MatchTolerance(quantity_percent=Decimal(0), price_percent=Decimal(2), amount_percent=Decimal(2))


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def _order() -> PurchaseOrder:
    return PurchaseOrder(
        number="PO-7001",
        vendor=VENDOR,
        issue_date=dt.date(2026, 3, 1),
        lines=[
            LineItem(
                id="1",
                item=Ref("WID-1", "Widget"),
                quantity=Decimal(100),
                unit_price=usd("12.50"),
                amount=usd("1250.00"),
            ),
            LineItem(
                id="2",
                item=Ref("GAD-2", "Gadget"),
                quantity=Decimal(20),
                unit_price=usd("40.00"),
                amount=usd("800.00"),
            ),
        ],
        total=usd("2050.00"),
    )


def _receipt(widgets: str = "100", gadgets: str = "20") -> Receipt:
    return Receipt(
        number="GR-1",
        purchase_order=Ref("PO-7001"),
        date=dt.date(2026, 3, 10),
        lines=[
            ReceiptLine(purchase_order_line="1", quantity=Decimal(widgets)),
            ReceiptLine(purchase_order_line="2", quantity=Decimal(gadgets)),
        ],
    )


def _bill(*extra: LineItem, widget_price: str = "12.50", widgets: str = "100") -> Bill:
    widget_amount = usd(widget_price) * Decimal(widgets)
    lines = [
        LineItem(
            purchase_order_line="1",
            item=Ref("WID-1"),
            quantity=Decimal(widgets),
            unit_price=usd(widget_price),
            amount=widget_amount,
        ),
        LineItem(
            purchase_order_line="2",
            item=Ref("GAD-2"),
            quantity=Decimal(20),
            unit_price=usd("40.00"),
            amount=usd("800.00"),
        ),
        *extra,
    ]
    subtotal = sum((line.amount for line in lines if line.amount is not None), usd("0"))
    return Bill(number="INV-555", vendor=VENDOR, lines=lines, subtotal=subtotal, total=subtotal)


def test_exact_match() -> None:
    result = three_way_match(_order(), _receipt(), _bill(), tolerance=TOLERANCE)
    assert result.verdict is MatchVerdict.MATCH
    assert result.reasons == ()
    assert result.total_variance == usd("0")
    assert [line.verdict for line in result.lines] == [MatchVerdict.MATCH, MatchVerdict.MATCH]


def test_freight_surcharge_within_tolerance() -> None:
    freight = LineItem(description="Freight", amount=usd("35.00"))  # 1.7 % of 2050.00
    result = three_way_match(_order(), _receipt(), _bill(freight), tolerance=TOLERANCE)
    assert result.verdict is MatchVerdict.WITHIN_TOLERANCE
    assert result.additional_charges == usd("35.00")
    assert result.total_variance == usd("35.00")
    assert any("Freight" in reason for reason in result.reasons)
    strict = three_way_match(
        _order(), _receipt(), _bill(freight), tolerance=MatchTolerance(amount_percent=Decimal(1))
    )
    assert strict.verdict is MatchVerdict.EXCEPTION


def test_partial_receipt_billed_in_full_is_an_exception() -> None:
    result = three_way_match(_order(), _receipt(widgets="60"), _bill(), tolerance=TOLERANCE)
    assert result.verdict is MatchVerdict.EXCEPTION
    widget = result.lines[0]
    assert widget.received_quantity == Decimal(60)
    assert widget.billed_quantity == Decimal(100)
    assert widget.quantity_variance == Decimal(40)
    assert widget.amount_variance == usd("500.00")
    assert widget.verdict is MatchVerdict.EXCEPTION
    assert "Widget: billed 100 but received 60" in result.reasons


def test_partial_receipt_billed_for_what_arrived_matches() -> None:
    result = three_way_match(_order(), [_receipt(widgets="60")], _bill(widgets="60"), tolerance=TOLERANCE)
    assert result.verdict is MatchVerdict.MATCH
    assert result.expected_total == usd("1550.00")


def test_receipts_add_up_across_deliveries() -> None:
    first = _receipt(widgets="60", gadgets="20")
    second = Receipt(lines=[ReceiptLine(purchase_order_line="1", quantity=Decimal(40))])
    assert (
        three_way_match(_order(), [first, second], _bill(), tolerance=TOLERANCE).verdict is MatchVerdict.MATCH
    )


def test_price_variance_over_tolerance() -> None:
    result = three_way_match(_order(), _receipt(), _bill(widget_price="13.00"), tolerance=TOLERANCE)
    assert result.verdict is MatchVerdict.EXCEPTION
    widget = result.lines[0]
    assert widget.price_variance == usd("0.50")
    assert widget.verdict is MatchVerdict.EXCEPTION
    assert any("+4.00%" in reason for reason in widget.reasons)


def test_small_price_variance_within_tolerance() -> None:
    result = three_way_match(_order(), _receipt(), _bill(widget_price="12.70"), tolerance=TOLERANCE)
    assert result.verdict is MatchVerdict.WITHIN_TOLERANCE
    assert result.lines[0].price_variance == usd("0.20")


def test_unordered_item_and_wrong_vendor_are_exceptions() -> None:
    extra = LineItem(item=Ref("SPR-9", "Sprocket"), quantity=Decimal(1), amount=usd("5.00"))
    result = three_way_match(_order(), _receipt(), _bill(extra), tolerance=TOLERANCE)
    assert result.verdict is MatchVerdict.EXCEPTION
    assert any("not on the purchase order" in reason for reason in result.reasons)
    other = _bill().model_copy(update={"vendor": Ref("V-999", "Someone Else")})
    assert three_way_match(_order(), _receipt(), other).verdict is MatchVerdict.EXCEPTION


def test_currency_mismatch_is_an_exception() -> None:
    euro_bill = Bill(vendor=VENDOR, total=Money("2050.00", "EUR"))
    result = three_way_match(_order(), _receipt(), euro_bill)
    assert result.verdict is MatchVerdict.EXCEPTION
    assert "EUR" in result.reasons[0]
