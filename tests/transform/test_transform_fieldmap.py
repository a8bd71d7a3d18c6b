"""FieldMap: declarative mapping from dicts or YAML, per-record results, never raising for a batch."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincon.errors import ValidationError
from fincon.models import Bill, Money
from fincon.transform import FieldMap, FieldRule

YAML_MAP = """
model: bill
fields:
  - {source: DocNo, target: number, transform: str, required: true}
  - {source: DocDate, target: issue_date, transform: "date:us", required: true}
  - {source: Vendor.Name, target: vendor.name, transform: strip}
  - {source: Amount, target: total.amount, transform: amount, required: true}
  - {source: Currency, target: total.currency, transform: currency, default: USD}
  - {source: "Lines[0].Qty", target: lines.0.quantity, transform: decimal}
  - {source: "Lines[0].Amount", target: lines.0.amount.amount, transform: "amount:de_DE"}
  - {source: Currency, target: lines.0.amount.currency, default: USD}
"""


def test_yaml_map_applies_to_many_records_and_reports_per_field() -> None:
    field_map = FieldMap.from_yaml(YAML_MAP)
    records: list[Any] = [
        {
            "DocNo": 1001,
            "DocDate": "01/31/2026",
            "Vendor": {"Name": " Acme "},
            "Amount": "$1,234.50",
            "Lines": [{"Qty": "3", "Amount": "1.234,50"}],
        },
        {"DocNo": "1002", "DocDate": "31/01/2026", "Amount": "12.5"},
        {
            "DocNo": "1003",
            "DocDate": "02/01/2026",
            "Amount": "12.50",
            "Currency": "usd",
            "Lines": [{"Qty": 0.5}],
        },
        "not a record at all",
    ]
    results = field_map.apply(records)
    assert [r.index for r in results] == [0, 1, 2, 3]

    first = results[0]
    assert first.ok
    assert isinstance(first.record, Bill)
    assert first.record.number == "1001"
    assert first.record.issue_date == dt.date(2026, 1, 31)
    assert first.record.total == Money("1234.50", "USD")
    assert first.record.lines[0].amount == Money("1234.50", "USD")
    assert first.record.vendor is not None
    assert first.record.vendor.name == "Acme"

    second = results[1]
    assert not second.ok
    assert [e.target for e in second.errors] == ["issue_date"]
    assert "MM/DD/YYYY" in second.errors[0].message
    assert second.errors[0].source == "DocDate"
    assert second.output["total"] == {"amount": Decimal("12.5"), "currency": "USD"}

    third = results[2]
    assert [e.target for e in third.errors] == ["lines.0.quantity"]
    assert "float" in third.errors[0].message

    fourth = results[3]
    assert {e.target for e in fourth.errors} == {"number", "issue_date", "total.amount"}
    assert all(e.message == "required value is missing" for e in fourth.errors)


def test_model_validation_errors_are_reported_per_field() -> None:
    field_map = FieldMap.from_dict(
        {"model": "bill", "fields": {"number": "No", "total.amount": "Amt", "total.currency": "Cur"}}
    )
    [result] = field_map.apply([{"No": "1", "Amt": "10", "Cur": "ZZZ"}])
    assert result.record is None
    assert [e.target for e in result.errors] == ["total.currency"]
    assert "ISO 4217" in result.errors[0].message


def test_rules_from_python_with_custom_transforms(tmp_path: Path) -> None:
    field_map = FieldMap(
        [
            FieldRule(target="name", source="n", transforms=("strip|upper",)),
            FieldRule(target="code", source="c", transforms=(lambda v: v[::-1],)),
            FieldRule(target="tag", source="t", transforms=("shout",)),
        ],
        transforms={"shout": lambda v: f"{v}!"},
    )
    [result] = field_map.apply([{"n": " acme ", "c": "abc", "t": "hi"}])
    assert result.output == {"name": "ACME", "code": "cba", "tag": "hi!"}
    path = tmp_path / "map.yaml"
    path.write_text("fields:\n  - {source: a, target: b, transform: int}\n", encoding="utf-8")
    assert FieldMap.from_yaml(path).apply([{"a": "7"}])[0].output == {"b": 7}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"fields": [{"source": "a", "target": "b", "transform": "nope"}]}, "unknown transform"),
        ({"fields": [{"source": "a", "target": "b", "transform": "date:martian"}]}, "unknown date format"),
        ({"fields": [{"source": "a", "target": "b", "transform": "truncate"}]}, "needs an argument"),
        ({"fields": [{"source": "a", "target": "b", "typo": 1}]}, "unknown keys"),
        ({"fields": [{"target": "b"}]}, "source or a default"),
        ({"fields": [{"source": "a", "target": "b"}, {"source": "c", "target": "b"}]}, "mapped twice"),
        ({"fields": [], "model": "unicorn"}, "unknown model"),
        ({"rules": []}, "needs a 'fields' list"),
    ],
)
def test_configuration_mistakes_are_raised_when_the_map_is_built(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        FieldMap.from_dict(config)


def test_invalid_yaml_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="not valid YAML"):
        FieldMap.from_yaml("fields: [unclosed")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.decimals(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("abcxy"), children, max_size=4)
    ),
    max_leaves=6,
)
transform_names = st.sampled_from(
    [
        "str",
        "strip",
        "upper",
        "int",
        "decimal",
        "bool",
        "amount",
        "amount:de_DE",
        "currency",
        "date:us",
        "date:sap",
        "datetime:iso",
        "datetime:unix",
        "terms",
        "vendor_name",
        "truncate:3",
        "minor_units:USD",
    ]
)
paths = st.lists(st.sampled_from(["a", "b", "c", "x", "y", "0", "1"]), min_size=1, max_size=3).map(".".join)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"source": paths, "target": paths, "transform": transform_names, "required": st.booleans()}
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda rule: rule["target"],
    ),
    st.lists(json_values, max_size=6),
    st.sampled_from([None, "bill", "vendor"]),
)
def test_a_batch_never_raises_it_reports(
    rules: list[dict[str, Any]], records: list[Any], model: str | None
) -> None:
    field_map = FieldMap.from_dict({"fields": rules, "model": model} if model else {"fields": rules})
    results = field_map.apply(records)
    assert len(results) == len(records)
    for index, result in enumerate(results):
        assert result.index == index
        assert result.ok == (not result.errors)
        if model and result.ok:
            assert result.record is not None
