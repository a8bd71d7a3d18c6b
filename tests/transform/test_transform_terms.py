"""Payment terms: parsing the usual spellings, computing dates, writing each system's form."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fincon.errors import ValidationError
from fincon.models import PaymentTerms
from fincon.transform import format_terms, parse_terms, terms_fields


@pytest.mark.parametrize(
    ("text", "net", "percent", "discount_days", "eom"),
    [
        ("Net 30", 30, None, None, False),
        ("net30", 30, None, None, False),
        ("N30", 30, None, None, False),
        ("n/45", 45, None, None, False),
        ("30 Days", 30, None, None, False),
        ("2% 10 Net 30", 30, "2", 10, False),
        ("2%10 Net 30", 30, "2", 10, False),
        ("2/10N30", 30, "2", 10, False),
        ("2/10 n/30", 30, "2", 10, False),
        ("1.5% 15 days, net 45", 45, "1.5", 15, False),
        ("Due on Receipt", 0, None, None, False),
        ("Due upon receipt", 0, None, None, False),
        ("EOM", 0, None, None, True),
        ("Net EOM", 0, None, None, True),
        ("Net 30 EOM", 30, None, None, True),
        ("Net 30 end of month", 30, None, None, True),
        ("2/10 Net 30 EOM", 30, "2", 10, True),
    ],
)
def test_parse_usual_spellings(
    text: str, net: int, percent: str | None, discount_days: int | None, eom: bool
) -> None:
    terms = parse_terms(text)
    assert terms.net_days == net
    assert terms.discount_percent == (Decimal(percent) if percent else None)
    assert terms.discount_days == discount_days
    assert terms.end_of_month is eom
    assert terms.name == text


@pytest.mark.parametrize("text", ["2/10", "whenever", "", "Net thirty", "2% 40 Net 30"])
def test_unreadable_terms_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_terms(text)
    assert caught.value.field == "payment_terms"


def test_due_and_discount_dates_from_invoice_date() -> None:
    terms = parse_terms("2% 10 Net 30")
    assert terms.discount_date(dt.date(2026, 3, 15)) == dt.date(2026, 3, 25)
    assert terms.due_date(dt.date(2026, 3, 15)) == dt.date(2026, 4, 14)
    eom = parse_terms("2/10 Net 30 EOM")
    assert eom.discount_date(dt.date(2026, 2, 3)) == dt.date(2026, 3, 10)
    assert eom.due_date(dt.date(2026, 2, 3)) == dt.date(2026, 3, 30)
    assert parse_terms("Due on receipt").due_date(dt.date(2026, 1, 1)) == dt.date(2026, 1, 1)
    assert parse_terms("EOM").due_date(dt.date(2024, 2, 3)) == dt.date(2024, 2, 29)


def test_format_for_systems() -> None:
    terms = parse_terms("2/10N30")
    assert format_terms(terms, "netsuite") == "2% 10 Net 30"
    assert format_terms(terms, "compact") == "2/10N30"
    assert format_terms(parse_terms("due on receipt"), "intacct") == "Due on receipt"
    assert format_terms(parse_terms("Net 30 EOM"), "compact") == "N30EOM"
    assert terms_fields(terms, "sap") == {
        "NetPaymentDays": 30,
        "CashDiscount1Days": 10,
        "CashDiscount1Percent": Decimal(2),
    }
    assert terms_fields(parse_terms("Net 30 EOM"), "dynamics") == {
        "dueDateCalculation": "CM+30D",
        "discountDateCalculation": "",
        "discountPercent": Decimal(0),
    }
    assert terms_fields(parse_terms("Net 15"), "stripe") == {"days_until_due": 15}
    with pytest.raises(ValidationError, match="Stripe"):
        terms_fields(terms, "stripe")
    with pytest.raises(ValidationError, match="terms_fields"):
        format_terms(terms, "sap")


terms_values = st.builds(
    lambda net, discount, eom: PaymentTerms(
        net_days=net,
        discount_percent=discount[0] if discount else None,
        discount_days=min(discount[1], net) if discount else None,
        end_of_month=eom,
    ),
    st.integers(min_value=0, max_value=365),
    st.none() | st.tuples(st.decimals(min_value="0.25", max_value="10", places=2), st.integers(0, 365)),
    st.booleans(),
).filter(lambda t: not (t.discount_percent is not None and t.net_days == 0))


@given(terms_values, st.sampled_from(["text", "compact", "netsuite"]))
def test_formatted_terms_parse_back_to_the_same_terms(terms: PaymentTerms, style: str) -> None:
    parsed = parse_terms(format_terms(terms, style))
    assert parsed.model_copy(update={"name": None}) == terms
