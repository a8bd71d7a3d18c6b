"""Reference system payloads <-> canonical records (the one place this mapping lives)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fincon.models import Bill, LineItem, Money, Ref, Source, Vendor

__all__ = ["MAPPERS", "BillMapper", "VendorMapper"]

SYSTEM = "reference"


def _drop_none(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if value is not None}


def _money(value: Any, currency: str) -> Money | None:
    if value is None:
        return None
    # Amounts arrive as JSON strings ("1234.50"); Decimal(str) keeps every digit.
    return Money(amount=Decimal(str(value)), currency=currency)


def _amount(money: Money | None) -> str | None:
    return None if money is None else str(money.amount)


class VendorMapper:
    """``/v1/vendors`` objects."""

    def to_record(self, payload: Mapping[str, Any]) -> Vendor:
        return Vendor(
            id=payload["id"],
            name=payload["name"],
            email=payload.get("email"),
            currency=payload.get("currency"),
            status=payload.get("status"),
            external_id=payload.get("external_id"),
            updated_at=payload.get("updated_at"),
            source=Source(system=SYSTEM, resource="vendors", id=payload["id"]),
            raw=dict(payload),
        )

    def to_payload(self, record: Vendor) -> dict[str, Any]:
        return _drop_none(
            {
                "name": record.name,
                "email": record.email,
                "currency": record.currency,
                "status": None
                if record.status is None
                else str(getattr(record.status, "value", record.status)),
                "external_id": record.external_id,
            }
        )

    def changes_payload(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        allowed = {"name", "email", "currency", "status", "external_id"}
        payload = {}
        for name, value in changes.items():
            if name not in allowed:
                from fincon.errors import Unsupported

                raise Unsupported(
                    f"reference cannot change a vendor's {name}", system=SYSTEM, operation="update"
                )
            payload[name] = str(getattr(value, "value", value)) if value is not None else None
        return payload


class BillMapper:
    """``/v1/bills`` objects (amounts as exact decimal strings)."""

    def to_record(self, payload: Mapping[str, Any]) -> Bill:
        currency = payload["currency"]
        lines = [
            LineItem(
                description=line.get("description"),
                quantity=None if line.get("quantity") is None else Decimal(str(line["quantity"])),
                unit_price=_money(line.get("unit_price"), currency),
                amount=_money(line.get("amount"), currency),
                account=None if line.get("account") is None else Ref(id=str(line["account"])),
            )
            for line in payload.get("lines", [])
        ]
        return Bill(
            id=payload["id"],
            number=payload.get("number"),
            vendor=Ref(id=payload["vendor_id"]) if payload.get("vendor_id") else None,
            currency=currency,
            total=_money(payload.get("total"), currency),
            issue_date=payload.get("issue_date"),
            due_date=payload.get("due_date"),
            status=payload.get("status"),
            lines=lines,
            updated_at=payload.get("updated_at"),
            source=Source(system=SYSTEM, resource="bills", id=payload["id"]),
            raw=dict(payload),
        )

    def to_payload(self, record: Bill) -> dict[str, Any]:
        return _drop_none(
            {
                "number": record.number,
                "vendor_id": record.vendor.id if record.vendor else None,
                "currency": record.currency,
                "total": _amount(record.total),
                "issue_date": None if record.issue_date is None else record.issue_date.isoformat(),
                "due_date": None if record.due_date is None else record.due_date.isoformat(),
                "status": None
                if record.status is None
                else str(getattr(record.status, "value", record.status)),
                "lines": [
                    _drop_none(
                        {
                            "description": line.description,
                            "quantity": None if line.quantity is None else str(line.quantity),
                            "unit_price": _amount(line.unit_price),
                            "amount": _amount(line.amount),
                            "account": line.account.id if line.account else None,
                        }
                    )
                    for line in record.lines
                ],
            }
        )

    def changes_payload(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        for name, value in changes.items():
            if name in ("number", "memo"):
                payload[name] = value
            elif name == "status":
                payload[name] = str(getattr(value, "value", value))
            elif name in ("due_date", "issue_date"):
                payload[name] = value.isoformat()
            else:
                from fincon.errors import Unsupported

                raise Unsupported(
                    f"reference cannot change a bill's {name}", system=SYSTEM, operation="update"
                )
        return payload


MAPPERS: dict[str, Any] = {"vendor": VendorMapper(), "bill": BillMapper()}
