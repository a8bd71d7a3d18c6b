"""Three-way match: does a vendor bill agree with the purchase order and what was received?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from fincon.models import Bill, CanonicalEnum, LineItem, Money, PurchaseOrder, Receipt, ReceiptLine
from fincon.transform import normalize_vendor_name

__all__ = ["LineMatch", "MatchTolerance", "MatchVerdict", "ThreeWayMatchResult", "three_way_match"]

_HUNDRED = Decimal(100)


class MatchVerdict(CanonicalEnum):
    """The outcome of a match, from best to worst."""

    MATCH = "match"
    WITHIN_TOLERANCE = "within_tolerance"
    EXCEPTION = "exception"


def _worst(*verdicts: MatchVerdict) -> MatchVerdict:
    order = list(MatchVerdict)
    return max(verdicts, key=order.index, default=MatchVerdict.MATCH)


@dataclass(frozen=True)
class MatchTolerance:
    """How far a bill may stray from the order and the receipt before it is an exception.

    Percentages are of the expected value (``Decimal("2")`` is 2 %). ``amount_absolute`` is in
    the document currency; the total passes when within either the percentage or the absolute amount.
    """

    quantity_percent: Decimal = Decimal(0)
    """Billed quantity vs received quantity, per line."""
    price_percent: Decimal = Decimal(0)
    """Billed unit price vs ordered unit price, per line."""
    amount_percent: Decimal = Decimal(0)
    """Bill net total (including extra charges such as freight) vs payable quantities at order prices."""
    amount_absolute: Decimal = Decimal(0)
    """The same, as an absolute amount."""


@dataclass(frozen=True)
class LineMatch:
    """How one purchase-order line compares with what was received and billed."""

    purchase_order_line: LineItem | None
    """The ordered line (``None`` for a billed line that is not on the order)."""
    bill_line: LineItem | None
    """The billed line (``None`` when the order line is not billed yet)."""
    ordered_quantity: Decimal | None
    """Quantity ordered."""
    received_quantity: Decimal
    """Quantity received, summed over the receipts."""
    billed_quantity: Decimal | None
    """Quantity billed."""
    quantity_variance: Decimal | None
    """Billed minus received (positive: billed for goods not received)."""
    price_variance: Money | None
    """Billed unit price minus ordered unit price."""
    amount_variance: Money | None
    """Billed line amount minus the payable quantity (billed, at most received) at the ordered price."""
    verdict: MatchVerdict
    """This line's verdict."""
    reasons: tuple[str, ...] = ()
    """Why the line is not a plain match."""


@dataclass(frozen=True)
class ThreeWayMatchResult:
    """The verdict of a three-way match, with per-line detail."""

    verdict: MatchVerdict
    """Match, within tolerance, or exception."""
    lines: tuple[LineMatch, ...]
    """One entry per order line, plus one per billed line not on the order."""
    reasons: tuple[str, ...] = ()
    """Why the verdict is not a plain match (line reasons included)."""
    additional_charges: Money | None = None
    """Billed lines without an item and not on the order (freight, surcharges)."""
    total_variance: Money | None = None
    """Bill net total minus payable quantities (billed, at most received) at ordered prices."""
    expected_total: Money | None = None
    """Payable quantities (billed, at most received) at ordered prices."""


def _same_line(
    order_line: LineItem, other: LineItem | ReceiptLine, position: int, other_position: int
) -> bool:
    if other.purchase_order_line is not None:
        return other.purchase_order_line == order_line.id
    if other.item is not None and order_line.item is not None:
        if other.item.id is not None and order_line.item.id is not None:
            return other.item.id == order_line.item.id
        return other.item.name is not None and other.item.name == order_line.item.name
    if other.line_number is not None and order_line.line_number is not None:
        return other.line_number == order_line.line_number
    return position == other_position


def _unit_price(line: LineItem) -> Money | None:
    if line.unit_price is not None:
        return line.unit_price
    if line.amount is not None and line.quantity:
        return Money(line.amount.amount / line.quantity, line.amount.currency)
    return None


def _within(variance: Decimal, expected: Decimal, percent: Decimal) -> bool:
    return abs(variance) <= abs(expected) * percent / _HUNDRED


def _payable_quantity(billed: Decimal | None, received: Decimal) -> Decimal:
    """What may be paid for at the order price: the billed quantity, up to what was received."""
    return received if billed is None else min(billed, received)


def _compare_line(
    order_line: LineItem, bill_line: LineItem | None, received: Decimal, tolerance: MatchTolerance
) -> LineMatch:
    label = (
        order_line.description
        or (order_line.item.name if order_line.item else None)
        or order_line.id
        or "line"
    )
    ordered = order_line.quantity
    if bill_line is None:
        not_billed = ("not billed yet",)
        return LineMatch(
            order_line, None, ordered, received, None, None, None, None, MatchVerdict.MATCH, not_billed
        )
    verdicts, reasons = [MatchVerdict.MATCH], []
    billed = bill_line.quantity
    quantity_variance = billed - received if billed is not None else None
    # Billing less than was received is normal (partial billing); billing more is the risk.
    if quantity_variance is not None and quantity_variance > 0:
        ok = _within(quantity_variance, received, tolerance.quantity_percent)
        verdicts.append(MatchVerdict.WITHIN_TOLERANCE if ok else MatchVerdict.EXCEPTION)
        reasons.append(f"{label}: billed {billed} but received {received}")
    order_price, bill_price = _unit_price(order_line), _unit_price(bill_line)
    price_variance = bill_price - order_price if order_price is not None and bill_price is not None else None
    if price_variance is not None and price_variance.amount != 0 and order_price is not None:
        ok = _within(price_variance.amount, order_price.amount, tolerance.price_percent)
        verdicts.append(MatchVerdict.WITHIN_TOLERANCE if ok else MatchVerdict.EXCEPTION)
        percent = (price_variance.amount / order_price.amount * _HUNDRED).quantize(Decimal("0.01"))
        reasons.append(
            f"{label}: billed at {price_variance + order_price}, ordered at {order_price} ({percent:+}%)"
        )
    amount_variance = None
    if bill_line.amount is not None and order_price is not None:
        amount_variance = bill_line.amount - order_price * _payable_quantity(billed, received)
    if ordered is not None and billed is not None and billed > ordered:
        verdicts.append(MatchVerdict.EXCEPTION)
        reasons.append(f"{label}: billed {billed}, more than the {ordered} ordered")
    return LineMatch(
        order_line,
        bill_line,
        ordered,
        received,
        billed,
        quantity_variance,
        price_variance,
        amount_variance,
        _worst(*verdicts),
        tuple(reasons),
    )


def _has_reference(line: LineItem) -> bool:
    return line.purchase_order_line is not None or line.item is not None


def _pair_bill_lines(order: PurchaseOrder, bill: Bill) -> tuple[list[LineItem | None], list[LineItem]]:
    """The bill line for each order line (or ``None``), and the bill lines left over."""
    remaining = list(bill.lines)
    referenced = any(_has_reference(line) for line in bill.lines)
    paired: list[LineItem | None] = []
    for position, order_line in enumerate(order.lines):
        found = None
        for index, line in enumerate(remaining):
            # Lines carrying an item or an order-line id pair by reference; without any, by position.
            usable = _has_reference(line) if referenced else bill.lines.index(line) == position
            if usable and _same_line(order_line, line, position, bill.lines.index(line)):
                found = remaining.pop(index)
                break
        paired.append(found)
    return paired, remaining


def three_way_match(
    purchase_order: PurchaseOrder,
    receipts: Receipt | Sequence[Receipt],
    bill: Bill,
    tolerance: MatchTolerance | None = None,
) -> ThreeWayMatchResult:
    """Compare a bill with its purchase order and goods receipt(s), line by line.

    Bill lines pair with order lines by ``purchase_order_line`` id, else by item, else by line
    number; when no bill line carries an item or order-line id, by position. Receipt lines pair
    the same way. Per line: quantity billed vs received, unit price billed vs ordered. Billed
    lines left over without an item (freight, surcharges) are additional charges that count
    against the total tolerance; left-over lines with an item are exceptions. The verdict is the
    worst of the lines and the total.
    """
    tolerance = tolerance or MatchTolerance()
    receipt_list = [receipts] if isinstance(receipts, Receipt) else list(receipts)
    if purchase_order.currency and bill.currency and purchase_order.currency != bill.currency:
        reason = f"bill is in {bill.currency}, the order in {purchase_order.currency}"
        return ThreeWayMatchResult(MatchVerdict.EXCEPTION, (), (reason,))
    currency = bill.currency or purchase_order.currency or "XXX"
    verdicts, reasons = [MatchVerdict.MATCH], []
    if purchase_order.vendor and bill.vendor and not _same_party(purchase_order, bill):
        verdicts.append(MatchVerdict.EXCEPTION)
        reasons.append(f"bill vendor {bill.vendor.name or bill.vendor.id} is not the order's vendor")

    receipt_lines = [line for receipt in receipt_list for line in receipt.lines]
    paired, leftovers = _pair_bill_lines(purchase_order, bill)
    lines: list[LineMatch] = []
    for position, (order_line, bill_line) in enumerate(zip(purchase_order.lines, paired, strict=True)):
        received = sum(
            (r.quantity for i, r in enumerate(receipt_lines) if _same_line(order_line, r, position, i)),
            Decimal(0),
        )
        line = _compare_line(order_line, bill_line, received, tolerance)
        lines.append(line)
        verdicts.append(line.verdict)
        reasons.extend(line.reasons if line.verdict is not MatchVerdict.MATCH else ())

    charges = Money.zero(currency)
    for extra in leftovers:
        label = extra.description or "unnamed line"
        if _has_reference(extra):
            verdict, reason = MatchVerdict.EXCEPTION, f"billed line {label} is not on the purchase order"
        else:
            charges += extra.amount or Money.zero(currency)
            verdict, reason = MatchVerdict.WITHIN_TOLERANCE, f"additional charge {label}: {extra.amount}"
        verdicts.append(verdict)
        reasons.append(reason)
        lines.append(
            LineMatch(
                None, extra, None, Decimal(0), extra.quantity, None, None, extra.amount, verdict, (reason,)
            )
        )

    expected = Money.zero(currency)
    for line in lines:
        order_price = _unit_price(line.purchase_order_line) if line.purchase_order_line else None
        if line.bill_line is not None and order_price is not None:
            expected += order_price * _payable_quantity(line.billed_quantity, line.received_quantity)
    billed_net = bill.subtotal or sum(
        (line.amount for line in bill.lines if line.amount is not None), Money.zero(currency)
    )
    total_variance = billed_net - expected
    if total_variance.amount != 0:
        ok = abs(total_variance.amount) <= tolerance.amount_absolute or _within(
            total_variance.amount, expected.amount, tolerance.amount_percent
        )
        verdicts.append(MatchVerdict.WITHIN_TOLERANCE if ok else MatchVerdict.EXCEPTION)
        reasons.append(
            f"bill net {billed_net} differs from payable goods at order prices {expected} by "
            f"{total_variance} ({'within' if ok else 'over'} tolerance)"
        )
    return ThreeWayMatchResult(
        verdict=_worst(*verdicts),
        lines=tuple(lines),
        reasons=tuple(reasons),
        additional_charges=charges if charges.amount else None,
        total_variance=total_variance,
        expected_total=expected,
    )


def _same_party(order: PurchaseOrder, bill: Bill) -> bool:
    a, b = order.vendor, bill.vendor
    if a is None or b is None:
        return True
    if a.id is not None and b.id is not None:
        return a.id == b.id
    return (
        a.name is not None
        and b.name is not None
        and normalize_vendor_name(a.name) == normalize_vendor_name(b.name)
    )
