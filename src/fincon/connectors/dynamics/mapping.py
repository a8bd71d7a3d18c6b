"""Business Central API v2.0 payloads <-> canonical records (one mapper per resource).

Pure functions, no connection: ``fincon.to_record("dynamics", "bill", payload)`` works on a
``purchaseInvoice`` as BC sends it (lines under ``purchaseInvoiceLines`` when expanded,
dimensions under ``dimensionSetLines``). ``to_payload`` returns the full BC representation,
read-only fields included, so ``to_record(to_payload(r)) == r``; the connector drops the
read-only fields (:data:`READ_ONLY`) before writing.

Field choices (see ``docs/dynamics.md``):

- ``Bill.number`` is the vendor's invoice number (``vendorInvoiceNumber``), the number AP
  matches on; BC's own document number stays in ``raw["number"]``. ``Invoice.number`` is
  the sales invoice ``number`` the customer sees.
- ``total`` = ``totalAmountIncludingTax``, ``subtotal`` = ``totalAmountExcludingTax``,
  ``tax`` = ``totalTaxAmount``, ``balance`` = ``remainingAmount`` (when BC sends it).
- Amounts are exact whether BC sends JSON numbers or strings (``IEEE754Compatible``).
- Vendor payments and customer payments are journal lines in the company's local
  currency; their mappers need it (``local_currency``).

For Finance and Operations data entities see :mod:`fincon.connectors.dynamics.fo_mapping`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar

from fincon.connectors.dynamics._values import (
    decode_member,
    encode_member,
    exact_decimal,
    money,
    parse_date,
    parse_datetime,
    text,
)
from fincon.models import (
    Account,
    Address,
    Allocation,
    BankAccount,
    Bill,
    BillPayment,
    Customer,
    Invoice,
    JournalEntry,
    JournalLine,
    LineItem,
    Money,
    Payment,
    PurchaseOrder,
    Receipt,
    ReceiptLine,
    Record,
    Ref,
    Source,
    Vendor,
)

__all__ = [
    "MAPPERS",
    "READ_ONLY",
    "AccountMapper",
    "BankAccountMapper",
    "BillMapper",
    "BillPaymentMapper",
    "CustomerMapper",
    "GeneralLedgerEntryMapper",
    "InvoiceMapper",
    "PaymentMapper",
    "PurchaseOrderMapper",
    "ReceiptMapper",
    "VendorMapper",
    "is_guid",
    "mappers_for",
    "writable",
]

SYSTEM = "dynamics"
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")

#: Properties BC computes or assigns; never sent in a create or update body.
READ_ONLY: Mapping[str, frozenset[str]] = {
    "vendors": frozenset({"id", "balance", "lastModifiedDateTime", "currencyId", "paymentTermsId"}),
    "customers": frozenset({"id", "balanceDue", "lastModifiedDateTime", "currencyId"}),
    "purchaseInvoices": frozenset(
        {
            "id",
            "vendorName",
            "totalAmountExcludingTax",
            "totalTaxAmount",
            "totalAmountIncludingTax",
            "remainingAmount",
            "status",
            "lastModifiedDateTime",
            "currencyId",
            "orderNumber",
        }
    ),
    "salesInvoices": frozenset(
        {
            "id",
            "customerName",
            "totalAmountExcludingTax",
            "totalTaxAmount",
            "totalAmountIncludingTax",
            "remainingAmount",
            "status",
            "lastModifiedDateTime",
            "currencyId",
        }
    ),
    "lines": frozenset(
        {
            "id",
            "documentId",
            "amountExcludingTax",
            "totalTaxAmount",
            "amountIncludingTax",
            "netAmount",
            "netTaxAmount",
            "netAmountIncludingTax",
        }
    ),
    "vendorPayments": frozenset({"id", "lastModifiedDateTime", "appliesToInvoiceNumber"}),
    "customerPayments": frozenset({"id", "lastModifiedDateTime", "appliesToInvoiceNumber"}),
}


def is_guid(value: str | None) -> bool:
    """Whether ``value`` is a GUID (BC's ids are)."""
    return bool(value) and _GUID.fullmatch(str(value)) is not None


def writable(payload: Mapping[str, Any], entity_set: str) -> dict[str, Any]:
    """``payload`` without the properties BC assigns (and without ``@odata`` annotations)."""
    read_only = READ_ONLY.get(entity_set, frozenset({"id", "lastModifiedDateTime"}))
    result: dict[str, Any] = {}
    for key, value in payload.items():
        if key in read_only or "@odata." in key:
            continue
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            value = [writable(item, "lines") for item in value]
        result[key] = value
    return result


def _source(resource: str, payload: Mapping[str, Any]) -> Source:
    return Source(system=SYSTEM, resource=resource, id=text(payload.get("id")))


def _put(payload: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        payload[key] = value


def _currency(payload: Mapping[str, Any], fallback: str | None) -> str | None:
    return text(payload.get("currencyCode")) or fallback


class _Mapper:
    """Shared by the BC mappers: the local currency for amounts without their own."""

    resource: ClassVar[str] = ""
    entity_set: ClassVar[str] = ""

    def __init__(self, local_currency: str | None = None) -> None:
        self.local_currency = local_currency

    def changes_payload(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The BC properties for canonical ``changes``; fields BC cannot change are refused."""
        keys = _FIELD_KEYS.get(self.resource, {})
        unknown = [name for name in changes if name not in keys]
        if unknown:
            raise ValueError(f"Business Central cannot change {self.resource}.{unknown[0]}")
        model = _MODELS[self.resource]
        full = self.to_payload(model.model_construct(**{**_REQUIRED.get(self.resource, {}), **changes}))
        return {key: full[key] for name in changes for key in keys[name] if key in full}

    def to_payload(self, record: Any) -> dict[str, Any]:
        raise NotImplementedError

    def to_record(self, payload: Any) -> Any:
        raise NotImplementedError


# -- parties --------------------------------------------------------------------------------

_ADDRESS_KEYS = ("addressLine1", "addressLine2", "city", "state", "postalCode", "country")


def _address_of(payload: Mapping[str, Any]) -> list[Address]:
    values = [text(payload.get(key)) for key in _ADDRESS_KEYS]
    if not any(values):
        return []
    line1, line2, city, state, postal, country = values
    return [Address(line1=line1, line2=line2, city=city, region=state, postal_code=postal, country=country)]


def _address_payload(addresses: list[Address]) -> dict[str, Any]:
    if len(addresses) > 1:
        raise ValueError("Business Central holds one address per vendor or customer")
    if not addresses:
        return dict.fromkeys(_ADDRESS_KEYS, "")
    a = addresses[0]
    values = (a.line1, a.line2, a.city, a.region, a.postal_code, a.country)
    return {key: value or "" for key, value in zip(_ADDRESS_KEYS, values, strict=True)}


def _party_status(blocked: Any) -> str | None:
    if blocked is None:
        return None
    return "active" if decode_member(blocked) is None else "blocked"


def _blocked(status: Any, *, full: str) -> str | None:
    if status is None:
        return None
    value = str(getattr(status, "value", status))
    if value == "active":
        return encode_member(None)
    if value == "blocked":
        return full
    raise ValueError(f"Business Central cannot mark a party {value!r} (use active or blocked)")


class VendorMapper(_Mapper):
    """``vendor`` <-> :class:`~fincon.models.Vendor` (``blocked`` All/Payment is status blocked)."""

    resource = "vendor"
    entity_set = "vendors"

    def to_record(self, payload: Mapping[str, Any]) -> Vendor:
        return Vendor(
            id=text(payload.get("id")),
            name=str(payload.get("displayName") or ""),
            tax_id=text(payload.get("taxRegistrationNumber")),
            email=text(payload.get("email")),
            phone=text(payload.get("phoneNumber")),
            addresses=_address_of(payload),
            currency=text(payload.get("currencyCode")),
            status=_party_status(payload.get("blocked")),
            updated_at=parse_datetime(payload.get("lastModifiedDateTime")),
            source=_source("vendor", payload),
            raw=dict(payload),
        )

    def to_payload(self, record: Vendor) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        _put(payload, "id", record.id)
        payload["displayName"] = record.name
        payload.update(_address_payload(list(record.addresses or [])))
        payload["phoneNumber"] = record.phone or ""
        payload["email"] = record.email or ""
        payload["taxRegistrationNumber"] = record.tax_id or ""
        payload["currencyCode"] = record.currency or ""
        _put(payload, "blocked", _blocked(record.status, full="All"))
        if record.updated_at is not None:
            payload["lastModifiedDateTime"] = record.updated_at
        if record.legal_name is not None or record.bank_accounts or record.payment_terms is not None:
            raise ValueError(
                "Business Central's vendor API has no legal_name, bank_accounts or payment_terms "
                "(payment terms are referenced by paymentTermsId: set it through native)"
            )
        return payload


class CustomerMapper(VendorMapper):
    """``customer`` <-> :class:`~fincon.models.Customer` (``blocked`` Ship/Invoice/All is blocked)."""

    resource = "customer"
    entity_set = "customers"

    def to_record(self, payload: Mapping[str, Any]) -> Customer:  # type: ignore[override]
        vendor = super().to_record(payload)
        data = vendor.model_dump(exclude={"source"})
        return Customer(**data, source=_source("customer", payload), raw=dict(payload))

    def to_payload(self, record: Customer) -> dict[str, Any]:  # type: ignore[override]
        return super().to_payload(Vendor.model_construct(**dict(record)))


# -- documents ------------------------------------------------------------------------------

_DOCUMENT_STATUS = {
    "Draft": "draft",
    "In Review": "pending_approval",
    "Open": "open",
    "Paid": "paid",
    "Canceled": "void",
}
_STATUS_MEMBER = {canonical: member for member, canonical in _DOCUMENT_STATUS.items()}


def _status_of(value: Any, table: Mapping[str, str]) -> str | None:
    decoded = decode_member(value)
    if decoded is None:
        return None
    return table.get(decoded, decoded)


def _status_member(status: Any, table: Mapping[str, str]) -> str | None:
    if status is None:
        return None
    value = str(getattr(status, "value", status))
    reverse = {canonical: member for member, canonical in table.items()}
    return encode_member(reverse.get(value, value))


def _dimensions(payload: Mapping[str, Any]) -> dict[str, str]:
    lines = payload.get("dimensionSetLines")
    if not isinstance(lines, list):
        return {}
    return {str(line["code"]): str(line.get("valueCode") or "") for line in lines if line.get("code")}


def _dimension_payload(dimensions: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"code": code, "valueCode": value} for code, value in dimensions.items()]


_LINE_TYPE_ITEM = "Item"
_LINE_TYPE_ACCOUNT = "Account"


class _LinesMixin:
    lines_key: ClassVar[str] = ""
    price_key: ClassVar[str] = "unitPrice"

    def _line(self, line: Mapping[str, Any], currency: str | None) -> LineItem:
        where = f"{self.lines_key}.{line.get('sequence')}"
        line_type = decode_member(line.get("lineType"))
        target = Ref(
            id=text(line.get("itemId") or line.get("accountId")), name=text(line.get("lineObjectNumber"))
        )
        return LineItem(
            id=text(line.get("id")),
            line_number=line.get("sequence"),
            description=text(line.get("description")),
            item=target if line_type == _LINE_TYPE_ITEM else None,
            account=target if line_type == _LINE_TYPE_ACCOUNT else None,
            quantity=exact_decimal(line.get("quantity"), field=f"{where}.quantity"),
            unit_price=money(line.get(self.price_key), currency, field=f"{where}.{self.price_key}"),
            amount=money(line.get("amountExcludingTax"), currency, field=f"{where}.amountExcludingTax"),
            tax_amount=money(line.get("totalTaxAmount"), currency, field=f"{where}.totalTaxAmount"),
            tax_code=text(line.get("taxCode")),
            dimensions=_dimensions(line),
        )

    def _line_payload(self, line: LineItem) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        _put(payload, "id", line.id)
        _put(payload, "sequence", line.line_number)
        if line.item is not None and line.account is not None:
            raise ValueError("a Business Central line posts to an item or an account, not both")
        target = line.item or line.account
        if target is not None:
            payload["lineType"] = _LINE_TYPE_ITEM if line.item is not None else _LINE_TYPE_ACCOUNT
            if target.id and is_guid(target.id):
                payload["itemId" if line.item is not None else "accountId"] = target.id
            _put(payload, "lineObjectNumber", target.name or (None if is_guid(target.id) else target.id))
        _put(payload, "description", line.description)
        _put(payload, "quantity", line.quantity)
        if line.unit_price is not None:
            payload[self.price_key] = line.unit_price.amount
        if line.amount is not None:
            payload["amountExcludingTax"] = line.amount.amount
        if line.tax_amount is not None:
            payload["totalTaxAmount"] = line.tax_amount.amount
        _put(payload, "taxCode", line.tax_code)
        if line.dimensions:
            payload["dimensionSetLines"] = _dimension_payload(line.dimensions)
        return payload


class BillMapper(_LinesMixin, _Mapper):
    """``purchaseInvoice`` (+ ``purchaseInvoiceLines``) <-> :class:`~fincon.models.Bill`."""

    resource = "bill"
    entity_set = "purchaseInvoices"
    lines_key = "purchaseInvoiceLines"
    price_key = "unitCost"
    party_key = "vendor"

    def to_record(self, payload: Mapping[str, Any]) -> Any:
        currency = _currency(payload, self.local_currency)
        party = self.party_key
        lines = payload.get(self.lines_key)
        fields: dict[str, Any] = {
            "id": text(payload.get("id")),
            "number": text(payload.get(self._number_key)),
            party: Ref(id=text(payload.get(f"{party}Id")), name=text(payload.get(f"{party}Name"))),
            "issue_date": parse_date(payload.get("invoiceDate")),
            "due_date": parse_date(payload.get("dueDate")),
            "currency": currency,
            "lines": [self._line(line, currency) for line in lines] if isinstance(lines, list) else [],
            "subtotal": money(
                payload.get("totalAmountExcludingTax"), currency, field="totalAmountExcludingTax"
            ),
            "tax": money(payload.get("totalTaxAmount"), currency, field="totalTaxAmount"),
            "total": money(payload.get("totalAmountIncludingTax"), currency, field="totalAmountIncludingTax"),
            "balance": money(payload.get("remainingAmount"), currency, field="remainingAmount"),
            "status": _status_of(payload.get("status"), _DOCUMENT_STATUS),
            "purchase_order": _order_ref(payload),
            "updated_at": parse_datetime(payload.get("lastModifiedDateTime")),
            "source": _source(self.resource, payload),
            "raw": dict(payload),
        }
        return _MODELS[self.resource](**fields)

    _number_key: ClassVar[str] = "vendorInvoiceNumber"

    def to_payload(self, record: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        _put(payload, "id", record.id)
        _put(payload, self._number_key, record.number)
        party: Ref | None = getattr(record, self.party_key)
        if party is not None:
            if party.id and is_guid(party.id):
                payload[f"{self.party_key}Id"] = party.id
            elif party.id:
                payload[f"{self.party_key}Number"] = party.id
            _put(payload, f"{self.party_key}Name", party.name)
        _put(payload, "invoiceDate", record.issue_date)
        _put(payload, "dueDate", record.due_date)
        _put(payload, "currencyCode", record.currency)
        for key, value in (
            ("totalAmountExcludingTax", record.subtotal),
            ("totalTaxAmount", record.tax),
            ("totalAmountIncludingTax", record.total),
            ("remainingAmount", record.balance),
        ):
            if value is not None:
                payload[key] = value.amount
        _put(payload, "status", _status_member(record.status, _DOCUMENT_STATUS))
        order = record.purchase_order
        if order is not None:
            _put(payload, "orderId", order.id)
            _put(payload, "orderNumber", order.name)
        if record.updated_at is not None:
            payload["lastModifiedDateTime"] = record.updated_at
        if record.lines:
            payload[self.lines_key] = [self._line_payload(line) for line in record.lines]
        if record.payment_terms is not None or record.memo is not None:
            raise ValueError(
                f"Business Central's {self.entity_set} have no memo, and payment terms only by paymentTermsId"
            )
        return payload


def _order_ref(payload: Mapping[str, Any]) -> Ref | None:
    order_id, order_number = text(payload.get("orderId")), text(payload.get("orderNumber"))
    if order_id in (None, "00000000-0000-0000-0000-000000000000") and order_number is None:
        return None
    return Ref(id=order_id, name=order_number)


class InvoiceMapper(BillMapper):
    """``salesInvoice`` (+ ``salesInvoiceLines``) <-> :class:`~fincon.models.Invoice`."""

    resource = "invoice"
    entity_set = "salesInvoices"
    lines_key = "salesInvoiceLines"
    price_key = "unitPrice"
    party_key = "customer"
    _number_key = "number"


class PurchaseOrderMapper(_LinesMixin, _Mapper):
    """``purchaseOrder`` (+ ``purchaseOrderLines``) <-> :class:`~fincon.models.PurchaseOrder`."""

    resource = "purchase_order"
    entity_set = "purchaseOrders"
    lines_key = "purchaseOrderLines"
    price_key = "directUnitCost"
    _STATUS: ClassVar[Mapping[str, str]] = {"Draft": "draft", "In Review": "pending_approval", "Open": "open"}

    def to_record(self, payload: Mapping[str, Any]) -> PurchaseOrder:
        currency = _currency(payload, self.local_currency)
        lines = payload.get(self.lines_key)
        status = _status_of(payload.get("status"), self._STATUS)
        if payload.get("fullyReceived") is True and status == "open":
            status = "received"
        return PurchaseOrder(
            id=text(payload.get("id")),
            number=text(payload.get("number")),
            vendor=Ref(id=text(payload.get("vendorId")), name=text(payload.get("vendorName"))),
            issue_date=parse_date(payload.get("orderDate")),
            expected_date=parse_date(payload.get("requestedReceiptDate")),
            currency=currency,
            lines=[self._line(line, currency) for line in lines] if isinstance(lines, list) else [],
            subtotal=money(payload.get("totalAmountExcludingTax"), currency, field="totalAmountExcludingTax"),
            tax=money(payload.get("totalTaxAmount"), currency, field="totalTaxAmount"),
            total=money(payload.get("totalAmountIncludingTax"), currency, field="totalAmountIncludingTax"),
            status=status,
            updated_at=parse_datetime(payload.get("lastModifiedDateTime")),
            source=_source("purchase_order", payload),
            raw=dict(payload),
        )

    def to_payload(self, record: PurchaseOrder) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        _put(payload, "id", record.id)
        _put(payload, "number", record.number)
        if record.vendor is not None:
            _put(payload, "vendorId", record.vendor.id)
            _put(payload, "vendorName", record.vendor.name)
        _put(payload, "orderDate", record.issue_date)
        _put(payload, "requestedReceiptDate", record.expected_date)
        _put(payload, "currencyCode", record.currency)
        for key, value in (
            ("totalAmountExcludingTax", record.subtotal),
            ("totalTaxAmount", record.tax),
            ("totalAmountIncludingTax", record.total),
        ):
            if value is not None:
                payload[key] = value.amount
        status = None if record.status is None else str(getattr(record.status, "value", record.status))
        if status == "received":
            payload["status"], payload["fullyReceived"] = "Open", True
        else:
            _put(payload, "status", _status_member(record.status, self._STATUS))
        if record.updated_at is not None:
            payload["lastModifiedDateTime"] = record.updated_at
        if record.lines:
            payload[self.lines_key] = [self._line_payload(line) for line in record.lines]
        return payload


class ReceiptMapper(_Mapper):
    """``purchaseReceipt`` (+ ``purchaseReceiptLines``) <-> :class:`~fincon.models.Receipt`."""

    resource = "receipt"
    entity_set = "purchaseReceipts"

    def to_record(self, payload: Mapping[str, Any]) -> Receipt:
        lines = payload.get("purchaseReceiptLines")
        order = text(payload.get("orderNumber"))
        return Receipt(
            id=text(payload.get("id")),
            number=text(payload.get("number")),
            purchase_order=Ref(name=order) if order else None,
            vendor=Ref(id=text(payload.get("vendorNumber")), name=text(payload.get("vendorName"))),
            date=parse_date(payload.get("postingDate")),
            lines=[
                ReceiptLine(
                    id=text(line.get("id")),
                    line_number=line.get("sequence"),
                    description=text(line.get("description")),
                    item=Ref(id=text(line.get("lineObjectNumber"))) if line.get("lineObjectNumber") else None,
                    quantity=exact_decimal(line.get("quantity"), field="purchaseReceiptLines.quantity")
                    or Decimal(0),
                )
                for line in (lines if isinstance(lines, list) else [])
            ],
            updated_at=parse_datetime(payload.get("lastModifiedDateTime")),
            source=_source("receipt", payload),
            raw=dict(payload),
        )

    def to_payload(self, record: Receipt) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        _put(payload, "id", record.id)
        _put(payload, "number", record.number)
        if record.purchase_order is not None:
            _put(payload, "orderNumber", record.purchase_order.name)
        if record.vendor is not None:
            _put(payload, "vendorNumber", record.vendor.id)
            _put(payload, "vendorName", record.vendor.name)
        _put(payload, "postingDate", record.date)
        if record.updated_at is not None:
            payload["lastModifiedDateTime"] = record.updated_at
        if record.lines:
            payload["purchaseReceiptLines"] = [
                {
                    **({"id": line.id} if line.id else {}),
                    **({"sequence": line.line_number} if line.line_number is not None else {}),
                    **({"description": line.description} if line.description else {}),
                    **({"lineObjectNumber": line.item.id} if line.item is not None else {}),
                    "quantity": line.quantity,
                }
                for line in record.lines
            ]
        return payload


# -- payments -------------------------------------------------------------------------------


class BillPaymentMapper(_Mapper):
    """``vendorPayment`` (a payment journal line) <-> :class:`~fincon.models.BillPayment`.

    BC journal lines carry no currency: amounts are in the company's local currency. The
    applied invoice (``appliesToInvoiceId``) becomes one allocation of the whole amount.
    """

    resource = "bill_payment"
    entity_set = "vendorPayments"
    party_key = "vendor"
    document_type = "bill"

    def to_record(self, payload: Mapping[str, Any]) -> Any:
        currency = _currency(payload, self.local_currency)
        amount = money(payload.get("amount"), currency, field="amount")
        if amount is None:
            raise ValueError(f"a {self.entity_set} line without an amount")
        applied_id = text(payload.get("appliesToInvoiceId"))
        if applied_id == "00000000-0000-0000-0000-000000000000":
            applied_id = None
        applied_number = text(payload.get("appliesToInvoiceNumber"))
        allocations = []
        if applied_id or applied_number:
            allocations.append(
                Allocation(
                    document=Ref(id=applied_id, name=applied_number),
                    document_type=self.document_type,
                    amount=amount,
                )
            )
        party = self.party_key
        fields: dict[str, Any] = {
            "id": text(payload.get("id")),
            "date": parse_date(payload.get("postingDate")),
            "amount": amount,
            party: Ref(id=text(payload.get(f"{party}Id")), name=text(payload.get(f"{party}Number"))),
            "reference": text(payload.get("externalDocumentNumber")),
            "allocations": allocations,
            "status": "pending",
            "updated_at": parse_datetime(payload.get("lastModifiedDateTime")),
            "source": _source(self.resource, payload),
            "raw": dict(payload),
        }
        return _MODELS[self.resource](**fields)

    def to_payload(self, record: Any) -> dict[str, Any]:
        if self.local_currency and record.amount.currency != self.local_currency:
            raise ValueError(
                f"Business Central payment journal lines are in {self.local_currency}, "
                f"not {record.amount.currency}"
            )
        payload: dict[str, Any] = {}
        _put(payload, "id", record.id)
        party: Ref | None = getattr(record, self.party_key)
        if party is not None:
            _put(payload, f"{self.party_key}Id", party.id)
            _put(payload, f"{self.party_key}Number", party.name)
        _put(payload, "postingDate", record.date)
        payload["amount"] = record.amount.amount
        _put(payload, "externalDocumentNumber", record.reference)
        if len(record.allocations) > 1:
            raise ValueError("a Business Central payment line applies to one invoice at most")
        for allocation in record.allocations:
            if allocation.amount != record.amount:
                raise ValueError("a Business Central payment line applies its whole amount to its invoice")
            _put(payload, "appliesToInvoiceId", allocation.document.id)
            _put(payload, "appliesToInvoiceNumber", allocation.document.name)
        if record.updated_at is not None:
            payload["lastModifiedDateTime"] = record.updated_at
        return payload


class PaymentMapper(BillPaymentMapper):
    """``customerPayment`` (a payment journal line) <-> :class:`~fincon.models.Payment`."""

    resource = "payment"
    entity_set = "customerPayments"
    party_key = "customer"
    document_type = "invoice"


# -- ledger ---------------------------------------------------------------------------------

_CATEGORY = {
    "Assets": "asset",
    "Liabilities": "liability",
    "Equity": "equity",
    "Income": "income",
    "Cost of Goods Sold": "expense",
    "Expense": "expense",
}


class AccountMapper(_Mapper):
    """``account`` (G/L account) <-> :class:`~fincon.models.Account`.

    ``classification`` comes from ``category`` (Cost of Goods Sold is an expense; the
    exact category stays in ``type``); ``active`` is the opposite of ``blocked``.
    """

    resource = "account"
    entity_set = "accounts"

    def to_record(self, payload: Mapping[str, Any]) -> Account:
        category = decode_member(payload.get("category"))
        return Account(
            id=text(payload.get("id")),
            number=text(payload.get("number")),
            name=str(payload.get("displayName") or ""),
            classification=_CATEGORY.get(category or "", category),
            type="cost_of_goods_sold" if category == "Cost of Goods Sold" else None,
            active=None if payload.get("blocked") is None else not payload["blocked"],
            updated_at=parse_datetime(payload.get("lastModifiedDateTime")),
            source=_source("account", payload),
            raw=dict(payload),
        )

    def to_payload(self, record: Account) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        _put(payload, "id", record.id)
        _put(payload, "number", record.number)
        payload["displayName"] = record.name
        classification = (
            None
            if record.classification is None
            else str(getattr(record.classification, "value", record.classification))
        )
        kind = None if record.type is None else str(getattr(record.type, "value", record.type))
        if kind == "cost_of_goods_sold":
            payload["category"] = encode_member("Cost of Goods Sold")
        elif classification is not None:
            names = {
                canonical: member for member, canonical in _CATEGORY.items() if member != "Cost of Goods Sold"
            }
            payload["category"] = encode_member(names.get(classification, classification))
        if record.active is not None:
            payload["blocked"] = not record.active
        if record.updated_at is not None:
            payload["lastModifiedDateTime"] = record.updated_at
        return payload


class GeneralLedgerEntryMapper(_Mapper):
    """Posted ``generalLedgerEntries`` of one document <-> :class:`~fincon.models.JournalEntry`.

    BC posts one G/L entry per account line; entries sharing a document number and posting
    date form one journal entry, whose id is ``"<postingDate>/<documentNumber>"``. The
    payload of a journal entry is ``{"documentNumber", "postingDate", "entries": [...]}``.
    """

    resource = "journal_entry"
    entity_set = "generalLedgerEntries"

    def to_record(self, payload: Mapping[str, Any]) -> JournalEntry:
        currency = _currency(payload, self.local_currency)
        entries = payload.get("entries") or []
        lines = []
        for entry in entries:
            debit = exact_decimal(entry.get("debitAmount"), field="debitAmount") or 0
            credit = exact_decimal(entry.get("creditAmount"), field="creditAmount") or 0
            lines.append(
                JournalLine(
                    account=Ref(id=text(entry.get("accountId")), name=text(entry.get("accountNumber"))),
                    debit=Money(debit, currency) if debit and currency else None,
                    credit=Money(credit, currency) if credit and currency else None,
                    description=text(entry.get("description")),
                    dimensions=_dimensions(entry),
                )
            )
            if (debit or credit) and not currency:
                raise ValueError("G/L entries need the company's local currency")
        number = text(payload.get("documentNumber"))
        posted = parse_date(payload.get("postingDate"))
        stamps = [parse_datetime(entry.get("lastModifiedDateTime")) for entry in entries]
        known = [stamp for stamp in stamps if stamp is not None]
        return JournalEntry(
            id=f"{posted.isoformat() if posted else ''}/{number or ''}",
            number=number,
            date=posted,
            status="posted",
            lines=lines,
            updated_at=max(known) if known else None,
            source=Source(system=SYSTEM, resource="journal_entry", id=f"{posted}/{number}"),
            raw=dict(payload),
        )

    def to_payload(self, record: JournalEntry) -> dict[str, Any]:
        entries = []
        for line in record.lines:
            entry: dict[str, Any] = {
                "accountId": line.account.id,
                "accountNumber": line.account.name,
                "postingDate": record.date,
                "documentNumber": record.number,
                "debitAmount": line.debit.amount if line.debit is not None else 0,
                "creditAmount": line.credit.amount if line.credit is not None else 0,
            }
            _put(entry, "description", line.description)
            _put(entry, "lastModifiedDateTime", record.updated_at)
            if line.dimensions:
                entry["dimensionSetLines"] = _dimension_payload(line.dimensions)
            entries.append(entry)
        payload: dict[str, Any] = {
            "documentNumber": record.number,
            "postingDate": record.date,
            "entries": entries,
        }
        currencies = {m.currency for line in record.lines for m in (line.debit, line.credit) if m is not None}
        if len(currencies) == 1:
            payload["currencyCode"] = currencies.pop()
        return payload


class BankAccountMapper(_Mapper):
    """``bankAccount`` <-> :class:`~fincon.models.BankAccount`."""

    resource = "bank_account"
    entity_set = "bankAccounts"

    def to_record(self, payload: Mapping[str, Any]) -> BankAccount:
        blocked = payload.get("blocked")
        return BankAccount(
            id=text(payload.get("id")),
            name=text(payload.get("displayName")),
            currency=_currency(payload, self.local_currency),
            iban=text(payload.get("iban")),
            account_number=text(payload.get("bankAccountNumber")),
            active=None if blocked is None else not blocked,
            updated_at=parse_datetime(payload.get("lastModifiedDateTime")),
            source=_source("bank_account", payload),
            raw=dict(payload),
        )

    def to_payload(self, record: BankAccount) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        _put(payload, "id", record.id)
        _put(payload, "displayName", record.name)
        _put(payload, "currencyCode", record.currency)
        _put(payload, "iban", record.iban)
        _put(payload, "bankAccountNumber", record.account_number)
        if record.active is not None:
            payload["blocked"] = not record.active
        if record.updated_at is not None:
            payload["lastModifiedDateTime"] = record.updated_at
        return payload


_MODELS: dict[str, type[Record]] = {
    "vendor": Vendor,
    "customer": Customer,
    "bill": Bill,
    "invoice": Invoice,
    "purchase_order": PurchaseOrder,
    "receipt": Receipt,
    "bill_payment": BillPayment,
    "payment": Payment,
    "account": Account,
    "journal_entry": JournalEntry,
    "bank_account": BankAccount,
}

_PARTY_KEYS: dict[str, tuple[str, ...]] = {
    "name": ("displayName",),
    "email": ("email",),
    "phone": ("phoneNumber",),
    "tax_id": ("taxRegistrationNumber",),
    "addresses": _ADDRESS_KEYS,
    "currency": ("currencyCode",),
    "status": ("blocked",),
}
_DOCUMENT_KEYS: dict[str, tuple[str, ...]] = {
    "issue_date": ("invoiceDate",),
    "due_date": ("dueDate",),
    "currency": ("currencyCode",),
}
#: Canonical field -> the BC properties an update of it writes (fields not listed cannot be changed).
_FIELD_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "vendor": _PARTY_KEYS,
    "customer": _PARTY_KEYS,
    "bill": {**_DOCUMENT_KEYS, "number": ("vendorInvoiceNumber",), "vendor": ("vendorId", "vendorNumber")},
    "invoice": {**_DOCUMENT_KEYS, "number": ("number",), "customer": ("customerId", "customerNumber")},
    "bill_payment": {
        "date": ("postingDate",),
        "amount": ("amount",),
        "reference": ("externalDocumentNumber",),
    },
    "payment": {"date": ("postingDate",), "amount": ("amount",), "reference": ("externalDocumentNumber",)},
}
_REQUIRED: dict[str, dict[str, Any]] = {
    "vendor": {"name": ""},
    "customer": {"name": ""},
    "bill_payment": {"amount": Money("0", "USD")},
    "payment": {"amount": Money("0", "USD")},
}


@lru_cache(maxsize=16)
def mappers_for(local_currency: str | None = None) -> dict[str, Any]:
    """Every BC mapper, with ``local_currency`` for amounts BC sends without a currency."""
    return {
        "vendor": VendorMapper(local_currency),
        "customer": CustomerMapper(local_currency),
        "bill": BillMapper(local_currency),
        "invoice": InvoiceMapper(local_currency),
        "purchase_order": PurchaseOrderMapper(local_currency),
        "receipt": ReceiptMapper(local_currency),
        "bill_payment": BillPaymentMapper(local_currency),
        "payment": PaymentMapper(local_currency),
        "account": AccountMapper(local_currency),
        "journal_entry": GeneralLedgerEntryMapper(local_currency),
        "bank_account": BankAccountMapper(local_currency),
    }


#: The public mappers (``fincon.to_record("dynamics", ...)``): Business Central payloads.
MAPPERS: dict[str, Any] = mappers_for()
