"""Stripe objects <-> canonical records: the one place this mapping lives.

Amounts are integer minor units converted with the currency's exponent (see
:mod:`fincon.connectors.stripe._amounts`); Unix timestamps become aware UTC datetimes and
calendar dates are their UTC date. Every record keeps the Stripe object in ``raw``.

- ``customer``: Stripe has no ``updated`` field, so ``updated_at`` stays None; a customer
  without a name is named by its e-mail, else its id (the model requires a name).
  ``external_id`` lives in ``metadata[external_id]``.
- ``invoice``: ``subtotal``/``total`` are tax-exclusive subtotal and the total; ``balance``
  is ``amount_remaining``; ``open`` with something paid is ``partially_paid``.
- ``payment`` (PaymentIntent): before success the amount is the amount asked for; after,
  what was received minus what was refunded (from the expanded ``latest_charge``). A fully
  refunded payment has status ``refunded``.
- ``bank_transaction`` (balance transaction): signed ``amount``, ``fee`` as charged,
  direction from the sign; a payout is a debit of the Stripe balance.
- ``balance``: one record per entry of ``GET /v1/balance`` (``available``/``pending`` x currency).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fincon.connectors.stripe._amounts import (
    EXACT_MINOR,
    date_of,
    from_timestamp,
    minor_decimal_text,
    minor_to_decimal,
    stripe_exponent,
    to_minor,
    to_timestamp,
)
from fincon.core.mapping import validate_record
from fincon.errors import Unsupported
from fincon.models import (
    Address,
    Balance,
    BankTransaction,
    Customer,
    Invoice,
    LineItem,
    Payment,
)

__all__ = [
    "MAPPERS",
    "BalanceMapper",
    "BankTransactionMapper",
    "CustomerMapper",
    "InvoiceMapper",
    "PaymentMapper",
    "PayoutMapper",
    "balance_entries",
    "customer_create_params",
    "invoice_create_params",
    "invoice_item_params",
    "payment_intent_create_params",
]

SYSTEM = "stripe"
BALANCE_ACCOUNT = {"id": "stripe_balance", "name": "Stripe balance"}

JSON = dict[str, Any]


def _money(minor: Any, currency: str) -> JSON | None:
    if minor is None:
        return None
    if type(minor) is int:  # what Stripe sends: exact by construction, checked by _EXACT's traps
        return {
            "amount": Decimal(minor).scaleb(-stripe_exponent(currency), EXACT_MINOR),
            "currency": currency,
        }
    return {"amount": minor_to_decimal(minor, currency), "currency": currency}


def _is_mapping(value: Any) -> bool:
    # JSON objects are dicts: answer those without the ABC machinery (a hot path per line).
    return type(value) is dict or isinstance(value, Mapping)


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def _id_of(value: Any) -> str | None:
    """An expandable field: an id string, or the expanded object."""
    if type(value) is str:
        return value
    if _is_mapping(value):
        found = value.get("id")
        return None if found is None else str(found)
    return None if value is None else str(value)


def _drop_none(payload: JSON) -> JSON:
    return {key: value for key, value in payload.items() if value is not None}


# Customers ---------------------------------------------------------------------------------


def _address(value: Any, kind: str) -> JSON | None:
    if not isinstance(value, Mapping):
        return None
    fields = {
        "line1": value.get("line1"),
        "line2": value.get("line2"),
        "city": value.get("city"),
        "region": value.get("state"),
        "postal_code": value.get("postal_code"),
        "country": value.get("country"),
    }
    if all(item is None for item in fields.values()):
        return None
    return {"type": kind, **fields}


def _stripe_address(address: Address) -> JSON:
    return _drop_none(
        {
            "line1": address.line1,
            "line2": address.line2,
            "city": address.city,
            "state": address.region,
            "postal_code": address.postal_code,
            "country": address.country,
        }
    )


class CustomerMapper:
    """``customer`` objects (``/v1/customers``)."""

    def to_record(self, payload: Mapping[str, Any]) -> Customer:
        """The canonical customer; a deleted customer comes back ``inactive``."""
        ident = payload.get("id")
        deleted = bool(payload.get("deleted"))
        addresses = [
            found
            for found in (
                _address(payload.get("address"), "billing"),
                _address((payload.get("shipping") or {}).get("address"), "shipping"),
            )
            if found is not None
        ]
        metadata = payload.get("metadata") or {}
        currency = payload.get("currency")
        return validate_record(
            Customer,
            {
                "id": ident,
                "external_id": metadata.get("external_id"),
                "source": {"system": SYSTEM, "resource": "customers", "id": ident},
                "name": payload.get("name") or payload.get("email") or str(ident or ""),
                "email": payload.get("email"),
                "phone": payload.get("phone"),
                "addresses": addresses,
                "currency": currency.upper() if isinstance(currency, str) else None,
                "status": "inactive" if deleted else "active",
                "raw": dict(payload),
            },
        )

    def to_payload(self, record: Customer) -> JSON:
        """The customer as a Stripe object (what ``POST /v1/customers`` takes, plus ``currency``)."""
        payload: JSON = {
            "object": "customer",
            "id": record.id,
            "name": record.name,
            "email": record.email,
            "phone": record.phone,
        }
        for address in record.addresses:
            kind = _value(address.type)
            if kind == "shipping" and "shipping" not in payload:
                payload["shipping"] = {"name": record.name, "address": _stripe_address(address)}
            elif kind in (None, "billing") and "address" not in payload:
                payload["address"] = _stripe_address(address)
        if record.external_id is not None:
            payload["metadata"] = {"external_id": record.external_id}
        if record.currency is not None:
            payload["currency"] = record.currency.lower()
        return _drop_none(payload)

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        """``POST /v1/customers/{id}`` parameters for canonical changes."""
        payload: JSON = {}
        for name, value in changes.items():
            if name in ("name", "email", "phone"):
                payload[name] = value  # None unsets (sent as an empty string)
            elif name == "external_id":
                payload["metadata"] = {"external_id": value}
            elif name == "addresses":
                current = customer_create_params(Customer(name="-", addresses=value))
                payload["address"] = current.get("address", "")
                if "shipping" in current:
                    payload["shipping"] = current["shipping"]
            else:
                raise Unsupported(
                    f"stripe cannot change a customer's {name}", system=SYSTEM, operation="customer.update"
                )
        return payload


def customer_create_params(record: Customer) -> JSON:
    """What ``POST /v1/customers`` accepts for ``record`` (Stripe sets ``currency`` itself)."""
    payload = CustomerMapper().to_payload(record)
    for read_only in ("object", "id", "currency"):
        payload.pop(read_only, None)
    return payload


# Invoices ----------------------------------------------------------------------------------


def _line(line: Mapping[str, Any], currency: str, number: int) -> JSON:
    get = line.get
    price = get("price")
    if not _is_mapping(price):
        price = None
    unit = price.get("unit_amount_decimal") if price else get("unit_amount_excluding_tax")
    amount = get("amount_excluding_tax")
    taxes = get("tax_amounts")
    quantity = get("quantity")
    product = price.get("product") if price else None
    return {
        "id": get("id"),
        "line_number": number,
        "description": get("description"),
        "item": {"id": _id_of(product)} if product else None,
        "quantity": None if quantity is None else Decimal(quantity),
        "unit_price": None if unit is None else _money(unit, currency),
        "amount": _money(get("amount") if amount is None else amount, currency),
        "tax_amount": _money(sum(int(tax["amount"]) for tax in taxes), currency) if taxes else None,
    }


_INVOICE_STATUS = {"draft": "draft", "open": "open", "paid": "paid", "void": "void"}


class InvoiceMapper:
    """``invoice`` objects (``/v1/invoices``)."""

    def to_record(self, payload: Mapping[str, Any]) -> Invoice:
        """The canonical invoice (lines as present in ``payload``; the connector completes them)."""
        currency = str(payload["currency"]).upper()
        ident = payload.get("id")
        status = payload.get("status")
        if status == "open" and (payload.get("amount_paid") or 0) > 0:
            status = "partially_paid"
        else:
            status = _INVOICE_STATUS.get(status, status) if isinstance(status, str) else None
        lines = (payload.get("lines") or {}).get("data") or []
        customer = payload.get("customer")
        total_tax = payload.get("total_tax_amounts") or []
        tax = payload.get("tax")
        if tax is None and total_tax:
            tax = sum(int(item["amount"]) for item in total_tax)
        subtotal = payload.get("subtotal_excluding_tax")
        metadata = payload.get("metadata") or {}
        return validate_record(
            Invoice,
            {
                "id": ident,
                "external_id": metadata.get("external_id"),
                "source": {"system": SYSTEM, "resource": "invoices", "id": ident},
                "number": payload.get("number"),
                "customer": None
                if customer is None
                else {"id": _id_of(customer), "name": payload.get("customer_name")},
                "issue_date": date_of(payload.get("effective_at") or payload.get("created")),
                "due_date": date_of(payload.get("due_date")),
                "currency": currency,
                "lines": [_line(line, currency, index + 1) for index, line in enumerate(lines)],
                "subtotal": _money(payload.get("subtotal") if subtotal is None else subtotal, currency),
                "tax": _money(tax, currency),
                "total": _money(payload.get("total"), currency),
                "balance": _money(payload.get("amount_remaining"), currency),
                "status": status,
                "memo": payload.get("description"),
                "raw": dict(payload),
            },
        )

    def to_payload(self, record: Invoice) -> JSON:
        """The invoice as a Stripe object (amounts in minor units)."""
        currency = record.currency or "USD"

        def minor(money: Any, field: str) -> int | None:
            return None if money is None else to_minor(money.amount, currency, field=field)

        status = _value(record.status)
        paid = None
        if record.total is not None and record.balance is not None:
            paid = minor(record.total - record.balance, "balance")
        lines = []
        for index, line in enumerate(record.lines):
            item: JSON = {
                "id": line.id,
                "description": line.description,
                "quantity": None if line.quantity is None else int(line.quantity),
                "amount_excluding_tax": minor(line.amount, f"lines.{index}.amount"),
            }
            if line.unit_price is not None:
                item["price"] = {
                    "unit_amount_decimal": minor_decimal_text(line.unit_price.amount, currency),
                    "product": line.item.id if line.item else None,
                }
            if line.tax_amount is not None:
                item["tax_amounts"] = [{"amount": minor(line.tax_amount, f"lines.{index}.tax_amount")}]
            lines.append(_drop_none(item))
        payload: JSON = {
            "object": "invoice",
            "id": record.id,
            "number": record.number,
            "customer": record.customer.id if record.customer else None,
            "customer_name": record.customer.name if record.customer else None,
            "currency": currency.lower(),
            "effective_at": None if record.issue_date is None else to_timestamp(record.issue_date),
            "due_date": None if record.due_date is None else to_timestamp(record.due_date),
            "description": record.memo,
            "subtotal_excluding_tax": minor(record.subtotal, "subtotal"),
            "tax": minor(record.tax, "tax"),
            "total": minor(record.total, "total"),
            "amount_remaining": minor(record.balance, "balance"),
            "amount_paid": paid,
            "status": "open" if status == "partially_paid" else status,
            "lines": {"object": "list", "data": lines, "has_more": False},
            "metadata": {"external_id": record.external_id} if record.external_id else None,
        }
        return _drop_none(payload)

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        """``POST /v1/invoices/{id}`` parameters for canonical changes to a draft invoice.

        ``memo``, ``due_date`` (``None`` goes back to charging automatically) and
        ``external_id`` change; amounts, lines, the customer and the currency follow from
        invoice items or are fixed at creation, so they are :class:`Unsupported` here.
        """
        payload: JSON = {}
        for name, value in changes.items():
            if name == "memo":
                payload["description"] = value  # None unsets (sent as an empty string)
            elif name == "due_date":
                if value is None:
                    payload["collection_method"] = "charge_automatically"
                else:
                    payload["collection_method"] = "send_invoice"
                    payload["due_date"] = to_timestamp(value)
            elif name == "external_id":
                payload["metadata"] = {"external_id": value}
            else:
                raise Unsupported(
                    f"stripe cannot change an invoice's {name} (lines and amounts come from invoice items)",
                    system=SYSTEM,
                    operation="invoice.update",
                )
        return payload


def invoice_create_params(record: Invoice) -> JSON:
    """``POST /v1/invoices`` parameters for a draft of ``record`` (its lines become invoice items)."""
    if record.customer is None or not record.customer.id:
        raise ValueError("a Stripe invoice needs customer.id")
    params: JSON = {
        "customer": record.customer.id,
        "currency": (record.currency or "USD").lower(),
        "auto_advance": False,  # stays a draft until finalized through native
        "pending_invoice_items_behavior": "exclude",
    }
    if record.memo is not None:
        params["description"] = record.memo
    if record.due_date is not None:
        params["collection_method"] = "send_invoice"
        params["due_date"] = to_timestamp(record.due_date)
    if record.external_id is not None:
        params["metadata"] = {"external_id": record.external_id}
    return params


def invoice_item_params(line: LineItem, index: int, invoice_id: str, customer: str, currency: str) -> JSON:
    """``POST /v1/invoiceitems`` parameters adding ``line`` to a draft invoice."""
    params: JSON = {"customer": customer, "invoice": invoice_id, "currency": currency.lower()}
    if line.description is not None:
        params["description"] = line.description
    where = f"lines.{index}"
    if line.tax_amount is not None:
        raise ValueError(f"{where}.tax_amount: Stripe computes tax from tax rates; leave it out")
    if line.unit_price is not None:
        quantity = Decimal(1) if line.quantity is None else line.quantity
        if quantity != quantity.to_integral_value() or quantity <= 0:
            raise ValueError(f"{where}.quantity: Stripe invoice items need a positive whole quantity")
        if line.amount is not None and line.amount.amount != line.unit_price.amount * quantity:
            raise ValueError(f"{where}.amount {line.amount.amount} is not quantity x unit_price")
        params["quantity"] = int(quantity)
        params["unit_amount_decimal"] = minor_decimal_text(line.unit_price.amount, currency)
    elif line.amount is not None:
        if line.quantity not in (None, Decimal(1)):
            raise ValueError(f"{where}: give unit_price with a quantity other than 1")
        params["amount"] = to_minor(line.amount.amount, currency, field=f"{where}.amount")
    else:
        raise ValueError(f"{where}: a line needs amount or unit_price")
    return params


# Payments ----------------------------------------------------------------------------------

_PAYMENT_STATUS = {
    "succeeded": "completed",
    "canceled": "void",
    "processing": "pending",
    "requires_capture": "pending",
    "requires_confirmation": "pending",
    "requires_action": "pending",
    "requires_payment_method": "pending",
}
_PAYMENT_METHODS = {
    "card": "card",
    "us_bank_account": "ach",
    "ach_debit": "ach",
    "sepa_debit": "sepa_direct_debit",
    "bacs_debit": "bacs",
    "customer_balance": "other",
}
#: Canonical method -> the payment method type a new PaymentIntent accepts.
_CREATE_METHOD_TYPES = {
    "card": "card",
    "ach": "us_bank_account",
    "sepa_direct_debit": "sepa_debit",
    "bacs": "bacs_debit",
}


class PaymentMapper:
    """``payment_intent`` objects, refunds read from an expanded ``latest_charge``."""

    def to_record(self, payload: Mapping[str, Any]) -> Payment:
        """The canonical payment received."""
        currency = str(payload["currency"]).upper()
        ident = payload.get("id")
        stripe_status = payload.get("status")
        charge = payload.get("latest_charge")
        refunded = int(charge.get("amount_refunded") or 0) if isinstance(charge, Mapping) else 0
        if stripe_status == "succeeded":
            minor = int(payload.get("amount_received") or 0) - refunded
            status: Any = "refunded" if minor <= 0 and refunded else "completed"
        else:
            minor = int(payload["amount"])
            status = _PAYMENT_STATUS.get(stripe_status, stripe_status) if stripe_status else None
        amount = _money(minor, currency)
        types = payload.get("payment_method_types") or []
        method = _PAYMENT_METHODS.get(types[0], types[0]) if types else None
        invoice = _id_of(payload.get("invoice"))
        allocations = []
        if invoice is not None and minor > 0:
            allocations.append({"document": {"id": invoice}, "document_type": "invoice", "amount": amount})
        customer = _id_of(payload.get("customer"))
        metadata = payload.get("metadata") or {}
        return validate_record(
            Payment,
            {
                "id": ident,
                "external_id": metadata.get("external_id"),
                "source": {"system": SYSTEM, "resource": "payment_intents", "id": ident},
                "date": date_of(payload.get("created")),
                "amount": amount,
                "customer": None if customer is None else {"id": customer},
                "method": method,
                "reference": _id_of(charge) or payload.get("description"),
                "status": status,
                "allocations": allocations,
                "raw": dict(payload),
            },
        )

    def to_payload(self, record: Payment) -> JSON:
        """The payment as a Stripe PaymentIntent object (completed ones as ``succeeded``)."""
        currency = record.amount.currency
        minor = to_minor(record.amount.amount, currency)
        status = _value(record.status)
        stripe_status = {"completed": "succeeded", "void": "canceled", "pending": "processing"}.get(
            status, status
        )
        method = _value(record.method)
        method_type = next((k for k, v in _PAYMENT_METHODS.items() if v == method), method)
        invoice = record.allocations[0].document.id if record.allocations else None
        return _drop_none(
            {
                "object": "payment_intent",
                "id": record.id,
                "amount": minor,
                "amount_received": minor if stripe_status == "succeeded" else 0,
                "currency": currency.lower(),
                "created": None if record.date is None else to_timestamp(record.date),
                "customer": record.customer.id if record.customer else None,
                "status": stripe_status,
                "payment_method_types": None if method_type is None else [method_type],
                "invoice": invoice,
                "latest_charge": record.reference if (record.reference or "").startswith("ch_") else None,
                "description": None if (record.reference or "").startswith("ch_") else record.reference,
                "metadata": {"external_id": record.external_id} if record.external_id else None,
            }
        )

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        """Payments are not updated through the canonical protocol."""
        raise Unsupported("stripe payments are not updated here", system=SYSTEM, operation="payment.update")


def payment_intent_create_params(record: Payment) -> JSON:
    """``POST /v1/payment_intents`` parameters asking ``record.customer`` to pay ``record.amount``.

    The PaymentIntent starts as ``requires_payment_method`` (a ``pending`` payment); what
    Stripe decides itself (the date, the status, invoice allocations) is refused rather
    than silently dropped. Raises ``ValueError`` naming the field.
    """
    if record.allocations:
        raise ValueError("allocations: Stripe links a payment to an invoice when the invoice is paid")
    if record.date is not None:
        raise ValueError("date: Stripe dates a PaymentIntent when it is created; leave it out")
    status = _value(record.status)
    if status not in (None, "pending"):
        raise ValueError(f"status: a new PaymentIntent is pending, not {status}")
    currency = record.amount.currency
    minor = to_minor(record.amount.amount, currency, field="amount")
    if minor <= 0:
        raise ValueError("amount: a PaymentIntent asks for a positive amount")
    params: JSON = {"amount": minor, "currency": currency.lower()}
    if record.customer is not None:
        if not record.customer.id:
            raise ValueError("customer.id: a Stripe customer is named by its id")
        params["customer"] = record.customer.id
    method = _value(record.method)
    if method is not None:
        method_type = _CREATE_METHOD_TYPES.get(method)
        if method_type is None:
            raise ValueError(f"method: Stripe has no payment method type for {method!r}")
        params["payment_method_types"] = [method_type]
    if record.reference is not None:
        params["description"] = record.reference
    if record.external_id is not None:
        params["metadata"] = {"external_id": record.external_id}
    return params


# Balance transactions and payouts -----------------------------------------------------------

_TRANSACTION_STATUS = {"available": "booked", "pending": "pending"}


class BankTransactionMapper:
    """``balance_transaction`` objects: movements of the Stripe balance."""

    def to_record(self, payload: Mapping[str, Any]) -> BankTransaction:
        """The canonical transaction: signed amount, fee, direction from the sign."""
        currency = str(payload["currency"]).upper()
        ident = payload.get("id")
        status = payload.get("status")
        created = from_timestamp(payload.get("created"))
        return validate_record(
            BankTransaction,
            {
                "id": ident,
                "source": {"system": SYSTEM, "resource": "balance_transactions", "id": ident},
                "updated_at": created,  # balance transactions never change
                "account": BALANCE_ACCOUNT,
                "amount": _money(payload["amount"], currency),
                "status": _TRANSACTION_STATUS.get(status, status) if isinstance(status, str) else None,
                "booking_date": None if created is None else created.date(),
                "value_date": date_of(payload.get("available_on")),
                "reference": _id_of(payload.get("source")),
                "description": payload.get("description"),
                "fee": _money(payload.get("fee"), currency),
                "raw": dict(payload),
            },
        )

    def to_payload(self, record: BankTransaction) -> JSON:
        """The transaction as a Stripe balance transaction object."""
        currency = record.amount.currency
        amount = to_minor(record.amount.amount, currency)
        fee = 0 if record.fee is None else to_minor(record.fee.amount, currency, field="fee")
        status = _value(record.status)
        return _drop_none(
            {
                "object": "balance_transaction",
                "id": record.id,
                "amount": amount,
                "fee": fee,
                "net": amount - fee,
                "currency": currency.lower(),
                "status": {"booked": "available", "pending": "pending"}.get(status, status),
                "created": _created(record),
                "available_on": None if record.value_date is None else to_timestamp(record.value_date),
                "source": record.reference,
                "description": record.description,
            }
        )

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        """Balance transactions never change."""
        raise Unsupported("balance transactions are immutable", system=SYSTEM, operation="update")


def _created(record: BankTransaction) -> int | None:
    # ``updated_at`` keeps the time of day; the booking date alone would lose it.
    if record.updated_at is not None:
        return to_timestamp(record.updated_at)
    return None if record.booking_date is None else to_timestamp(record.booking_date)


_PAYOUT_STATUS = {"paid": "booked", "in_transit": "pending", "pending": "pending"}


class PayoutMapper:
    """``payout`` objects as debits of the Stripe balance (money sent to a bank account)."""

    def to_record(self, payload: Mapping[str, Any]) -> BankTransaction:
        """A payout as a negative bank transaction on the Stripe balance."""
        currency = str(payload["currency"]).upper()
        ident = payload.get("id")
        status = payload.get("status")
        created = from_timestamp(payload.get("created"))
        return validate_record(
            BankTransaction,
            {
                "id": ident,
                "source": {"system": SYSTEM, "resource": "payouts", "id": ident},
                "account": BALANCE_ACCOUNT,
                "amount": _money(-int(payload["amount"]), currency),
                "status": _PAYOUT_STATUS.get(status, status) if isinstance(status, str) else None,
                "booking_date": None if created is None else created.date(),
                "value_date": date_of(payload.get("arrival_date")),
                "reference": payload.get("statement_descriptor") or ident,
                "description": payload.get("description"),
                "raw": dict(payload),
            },
        )

    def to_payload(self, record: BankTransaction) -> JSON:
        """The payout as a Stripe object (a positive amount)."""
        currency = record.amount.currency
        return _drop_none(
            {
                "object": "payout",
                "id": record.id,
                "amount": -to_minor(record.amount.amount, currency),
                "currency": currency.lower(),
                "created": None if record.booking_date is None else to_timestamp(record.booking_date),
                "arrival_date": None if record.value_date is None else to_timestamp(record.value_date),
                "description": record.description,
            }
        )

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        """Payouts are not changed through the canonical protocol."""
        raise Unsupported("payouts are not updated here", system=SYSTEM, operation="update")


# Balances ----------------------------------------------------------------------------------


def balance_entries(balance: Mapping[str, Any]) -> list[JSON]:
    """The entries of a ``balance`` object, each ``{"type", "amount", "currency", ...}``."""
    entries = []
    for kind in ("available", "pending", "connect_reserved", "instant_available"):
        for entry in balance.get(kind) or []:
            entries.append({"type": kind, "livemode": balance.get("livemode"), **entry})
    return entries


class BalanceMapper:
    """One entry of the ``balance`` object: ``{"type": "available", "amount": 0, "currency": "usd"}``."""

    def to_record(self, payload: Mapping[str, Any]) -> Balance:
        """The canonical balance; its id is ``<type>_<currency>``."""
        currency = str(payload["currency"]).upper()
        kind = payload.get("type", "available")
        ident = f"{kind}_{currency.lower()}"
        return validate_record(
            Balance,
            {
                "id": ident,
                "source": {"system": SYSTEM, "resource": "balance", "id": ident},
                "account": BALANCE_ACCOUNT,
                "amount": _money(payload["amount"], currency),
                "type": kind,
                "raw": dict(payload),
            },
        )

    def to_payload(self, record: Balance) -> JSON:
        """The balance entry in Stripe's shape."""
        currency = record.amount.currency
        return {
            "type": _value(record.type) or "available",
            "amount": to_minor(record.amount.amount, currency),
            "currency": currency.lower(),
        }

    def changes_payload(self, changes: Mapping[str, Any]) -> JSON:
        """Balances are read-only."""
        raise Unsupported("balances are read-only", system=SYSTEM, operation="update")


MAPPERS: dict[str, Any] = {
    "customer": CustomerMapper(),
    "invoice": InvoiceMapper(),
    "payment": PaymentMapper(),
    "bank_transaction": BankTransactionMapper(),
    "balance": BalanceMapper(),
}
"""Resource name -> mapper, for :func:`fincon.to_record` and :func:`fincon.to_payload`."""
