"""``validate_record``: mappers validate records without pydantic's keyword-forwarding wrapper,
with the same result and the same errors, and a model's own ``model_validate`` still runs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pydantic
import pytest

from fincon.core.mapping import record_validator, validate_record
from fincon.models import Invoice, Money, Vendor

INVOICE = {
    "id": "in_1",
    "source": {"system": "stripe", "resource": "invoices", "id": "in_1"},
    "currency": "usd",
    "lines": [{"amount": {"amount": Decimal("10.50"), "currency": "USD"}}],
    "total": {"amount": Decimal("10.50"), "currency": "USD"},
    "raw": {"object": "invoice"},
}


def test_the_record_is_what_model_validate_gives() -> None:
    record = validate_record(Invoice, INVOICE)
    assert type(record) is Invoice
    assert record == Invoice.model_validate(INVOICE)
    assert record.currency == "USD"
    assert record.total == Money(Decimal("10.50"), "USD")
    assert record.model_fields_set == Invoice.model_validate(INVOICE).model_fields_set


def test_invalid_data_raises_pydantics_error_naming_the_field() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"total\.amount"):
        validate_record(Invoice, {**INVOICE, "total": {"amount": 10.5, "currency": "USD"}})
    with pytest.raises(pydantic.ValidationError, match=r"lines\.0\.amount is in EUR"):
        validate_record(Invoice, {**INVOICE, "lines": [{"amount": {"amount": 1, "currency": "EUR"}}]})


def _audited_vendor() -> tuple[type[Vendor], list[Any]]:
    """A ``Vendor`` with its own ``model_validate``, and the list of what went through it."""
    calls: list[Any] = []

    class AuditedVendor(Vendor):
        @classmethod
        def model_validate(cls, obj: Any, **kwargs: Any) -> AuditedVendor:
            calls.append(obj)
            return super().model_validate(obj, **kwargs)

    return AuditedVendor, calls


def test_a_model_with_its_own_model_validate_goes_through_it() -> None:
    AuditedVendor, calls = _audited_vendor()
    record = validate_record(AuditedVendor, {"name": "Acme"})
    assert type(record) is AuditedVendor
    assert record.name == "Acme"
    assert calls == [{"name": "Acme"}]
    assert validate_record(Vendor, {"name": "Plain"}).name == "Plain"
    assert calls == [{"name": "Acme"}]  # the plain model did not go through the override


def test_a_record_validator_gives_what_validate_record_gives_from_the_first_record_on() -> None:
    class LateVendor(Vendor):  # a fresh model: its validator is built on the first record
        pass

    validate = record_validator(LateVendor)
    for data in ({"name": "First"}, {"name": "Second", "status": "active"}):
        record = validate(data)
        assert type(record) is LateVendor
        assert record == validate_record(LateVendor, data)
    with pytest.raises(pydantic.ValidationError, match="name"):
        validate({"status": "active"})
    invoices = record_validator(Invoice)
    with pytest.raises(pydantic.ValidationError, match=r"total\.amount"):
        invoices({**INVOICE, "total": {"amount": 10.5, "currency": "USD"}})


def test_a_record_validator_keeps_going_through_a_models_own_model_validate() -> None:
    AuditedVendor, calls = _audited_vendor()
    validate = record_validator(AuditedVendor)
    assert [validate({"name": name}).name for name in ("A", "B")] == ["A", "B"]
    assert calls == [{"name": "A"}, {"name": "B"}]
