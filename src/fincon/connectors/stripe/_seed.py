"""Seeded Stripe objects for the sandbox, shaped after Stripe's own example objects.

The templates are read at run time from ``stripe/2023-09-12_api-2023-08-16/fixtures3.json``
in the specs folder (``$FINCON_SPECS`` or ``<repo>/../shared/specs``); each seeded record is
a shallow copy of its template with realistic values drawn per record (ids, names, amounts
in USD, EUR, GBP, JPY and KWD, timestamps). Without the specs folder the emulator falls
back to minimal built-in shapes and says so (:data:`SeedTemplates.source`).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fincon.sandbox import RecordSeed, SeedRandom

__all__ = ["FIXTURES", "ObjectFactory", "SeedTemplates", "load_templates"]

logger = logging.getLogger("fincon.sandbox.stripe")

FIXTURES = "stripe/2023-09-12_api-2023-08-16/fixtures3.json"
JSON = dict[str, Any]
DAY = 86_400

# Currency mix by percent, each with the range of a typical unit price in minor units.
_CURRENCIES = ("usd",) * 55 + ("eur",) * 15 + ("gbp",) * 10 + ("jpy",) * 10 + ("kwd",) * 10
_UNIT_RANGE = {
    "usd": (500, 250_000),
    "eur": (500, 250_000),
    "gbp": (500, 200_000),
    "jpy": (500, 300_000),
    "kwd": (1_000, 80_000),
}
_LINE_TEXT = (
    "Consulting hours",
    "Annual licence",
    "Support plan",
    "Implementation",
    "Training day",
    "Hosting",
    "Hardware",
    "Freight",
    "Maintenance",
    "Subscription",
)
_INVOICE_STATUS = ("draft",) * 5 + ("open",) * 25 + ("paid",) * 60 + ("void",) * 5 + ("uncollectible",) * 5
_PI_STATUS = ("succeeded",) * 80 + ("processing",) * 5 + ("requires_payment_method",) * 10 + ("canceled",) * 5
_TXN_TYPES = ("charge",) * 70 + ("refund",) * 10 + ("payout",) * 12 + ("adjustment",) * 8
_PAYOUT_STATUS = ("paid",) * 80 + ("in_transit",) * 10 + ("pending",) * 5 + ("failed",) * 5

_MINIMAL: dict[str, JSON] = {
    "customer": {
        "object": "customer",
        "livemode": False,
        "metadata": {},
        "balance": 0,
        "delinquent": False,
        "description": None,
        "discount": None,
        "invoice_prefix": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "default_source": None,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
    },
    "invoice": {
        "object": "invoice",
        "livemode": False,
        "metadata": {},
        "discounts": [],
        "customer_tax_ids": [],
        "total_tax_amounts": [],
        "total_discount_amounts": [],
        "default_tax_rates": [],
        "account_country": "US",
        "amount_shipping": 0,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": False,
        "billing_reason": "manual",
        "collection_method": "send_invoice",
    },
    "line_item": {
        "object": "line_item",
        "livemode": False,
        "metadata": {},
        "discountable": True,
        "discount_amounts": [],
        "discounts": [],
        "proration": False,
        "tax_rates": [],
        "type": "invoiceitem",
        "period": {"end": 0, "start": 0},
    },
    "price": {
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "livemode": False,
        "metadata": {},
        "type": "one_time",
        "tax_behavior": "unspecified",
    },
    "invoiceitem": {
        "object": "invoiceitem",
        "livemode": False,
        "metadata": {},
        "discountable": True,
        "discounts": [],
        "proration": False,
        "tax_rates": [],
        "period": {"end": 0, "start": 0},
    },
    "payment_intent": {
        "object": "payment_intent",
        "livemode": False,
        "metadata": {},
        "payment_method_types": ["card"],
        "capture_method": "automatic",
        "confirmation_method": "automatic",
    },
    "charge": {"object": "charge", "livemode": False, "metadata": {}, "paid": True, "captured": True},
    "balance_transaction": {"object": "balance_transaction", "exchange_rate": None, "fee_details": []},
    "payout": {
        "object": "payout",
        "livemode": False,
        "metadata": {},
        "automatic": True,
        "method": "standard",
        "type": "bank_account",
        "source_type": "card",
    },
    "account": {
        "object": "account",
        "country": "US",
        "default_currency": "usd",
        "metadata": {},
        "business_profile": {"name": None},
    },
    "balance": {"object": "balance", "livemode": False},
}


@dataclass(frozen=True)
class SeedTemplates:
    """Stripe example objects by name, and where they came from (``"fixtures3.json"`` or ``"builtin"``)."""

    objects: dict[str, JSON]
    source: str

    def __getitem__(self, name: str) -> JSON:
        return self.objects[name]


def _fixtures_path() -> Path | None:
    configured = os.environ.get("FINCON_SPECS")
    roots = [Path(configured)] if configured else []
    here = Path(__file__).resolve()
    roots += [
        folder.parent / "shared" / "specs" for folder in here.parents if (folder / "pyproject.toml").exists()
    ]
    roots += [
        folder.parent / "shared" / "specs"
        for folder in (Path.cwd(), *Path.cwd().parents)
        if (folder / "pyproject.toml").exists()
    ]
    for root in roots:
        candidate = root / FIXTURES
        if candidate.is_file():
            return candidate
    return None


def load_templates(path: str | os.PathLike[str] | None = None) -> SeedTemplates:
    """Stripe's example objects (fixtures3.json), or the built-in minimal shapes."""
    found = Path(path) if path is not None else _fixtures_path()
    if found is None or not found.is_file():
        logger.warning("Stripe fixtures3.json not found: the sandbox uses its minimal built-in shapes")
        return SeedTemplates(dict(_MINIMAL), "builtin")
    with found.open(encoding="utf-8") as handle:
        resources: dict[str, JSON] = json.load(handle)["resources"]
    objects = {name: dict(resources.get(name) or _MINIMAL[name]) for name in _MINIMAL}
    invoice_lines = (resources.get("invoice") or {}).get("lines", {}).get("data") or []
    if invoice_lines:
        objects["line_item"] = dict(invoice_lines[0])
        objects["price"] = dict(invoice_lines[0].get("price") or _MINIMAL["price"])
    return SeedTemplates(objects, found.name)


def _suffix(record_id: str) -> str:
    return record_id.split("_", 1)[1]


class ObjectFactory:
    """Builds Stripe objects from :class:`RecordSeed` s and templates."""

    def __init__(self, templates: SeedTemplates, *, customers: int) -> None:
        self.t = templates
        self.customers = max(customers, 1)

    @staticmethod
    def customer_id(index: int) -> str:
        """The id of seeded customer ``index`` (the emulator's id scheme)."""
        return f"cus_{index + 1:010d}"

    def customer(self, seed: RecordSeed) -> JSON:
        """A customer: company name, e-mail, phone, billing address."""
        r = seed.random
        country = r.country()
        name = r.company_name()
        address = r.address(country)
        return {
            **self.t["customer"],
            "id": seed.id,
            "created": int(seed.created_at.timestamp()),
            "name": name,
            "email": r.email(name),
            "phone": r.phone(),
            "address": {
                "city": address["city"],
                "country": country,
                "line1": address["line1"],
                "line2": None,
                "postal_code": address["postal_code"],
                "state": None,
            },
            "currency": r.currency_for(country).lower(),
            "invoice_prefix": f"{seed.index % 0xFFFFFF:06X}",
            "metadata": {},
            "description": None,
            "test_clock": None,
        }

    def line(
        self,
        invoice_id: str,
        number: int,
        currency: str,
        quantity: int,
        unit: int,
        text: str,
        tax: int | None,
        created: int,
    ) -> JSON:
        """One invoice line (an invoice item) with its one-time price."""
        amount = quantity * unit
        suffix = f"{_suffix(invoice_id)}{number:02d}"
        price = {
            **self.t["price"],
            "id": f"price_{suffix}",
            "currency": currency,
            "created": created,
            "product": f"prod_{suffix}",
            "unit_amount": unit,
            "unit_amount_decimal": str(unit),
        }
        return {
            **self.t["line_item"],
            "id": f"il_{suffix}",
            "invoice_item": f"ii_{suffix}",
            "amount": amount,
            "amount_excluding_tax": amount,
            "currency": currency,
            "description": text,
            "quantity": quantity,
            "price": price,
            "period": {"end": created, "start": created},
            "tax_amounts": []
            if not tax
            else [
                {
                    "amount": tax,
                    "inclusive": False,
                    "tax_rate": "txr_fincon10",
                    "taxability_reason": None,
                    "taxable_amount": amount,
                }
            ],
            "unit_amount_excluding_tax": str(unit),
            "metadata": {},
        }

    def invoice(self, seed: RecordSeed) -> JSON:
        """An invoice with 1-3 lines, optional 10% tax, a status and consistent totals."""
        r = seed.random
        currency = r.choice(_CURRENCIES)
        low, high = _UNIT_RANGE[currency]
        created = int(seed.created_at.timestamp())
        taxed = r.chance(0.3)
        lines = []
        for number in range(1, r.between(1, 3) + 1):
            unit = r.between(low, high)
            if currency == "kwd":
                unit -= unit % 10  # Stripe's rule for three-decimal currencies: last digit 0
            quantity = r.between(1, 5)
            tax = quantity * unit // 10 if taxed else None
            lines.append(
                self.line(seed.id, number, currency, quantity, unit, r.choice(_LINE_TEXT), tax, created)
            )
        status = r.choice(_INVOICE_STATUS)
        customer_index = r.below(self.customers)
        return self.with_totals(
            {
                **self.t["invoice"],
                "id": seed.id,
                "created": created,
                "currency": currency,
                "customer": self.customer_id(customer_index),
                "customer_name": None,
                "customer_email": None,
                "description": None,
                "collection_method": "send_invoice",
                "due_date": created + 30 * DAY,
                "period_start": created,
                "period_end": created,
                "next_payment_attempt": None,
                "webhooks_delivered_at": created,
                "lines": {
                    "object": "list",
                    "data": lines,
                    "has_more": False,
                    "url": f"/v1/invoices/{seed.id}/lines",
                },
                "metadata": {},
                "test_clock": None,
            },
            status,
            created,
            partial=status == "open" and r.chance(0.2),
            number=f"{seed.index % 0xFFFFFF:06X}-{seed.index // 0xFFFFFF + 1:04d}",
        )

    @staticmethod
    def with_totals(
        invoice: JSON, status: str, when: int, *, partial: bool = False, number: str | None = None
    ) -> JSON:
        """``invoice`` with totals recomputed from its lines and the fields ``status`` implies."""
        lines = invoice["lines"]["data"]
        subtotal = sum(int(line["amount_excluding_tax"]) for line in lines)
        tax_items = [tax for line in lines for tax in line.get("tax_amounts") or []]
        tax = sum(int(item["amount"]) for item in tax_items)
        total = subtotal + tax
        paid = total if status == "paid" else (total // 2 if partial else 0)
        finalized = None if status == "draft" else when
        return {
            **invoice,
            "status": status,
            "subtotal": subtotal,
            "subtotal_excluding_tax": subtotal,
            "tax": tax if tax_items else None,
            "total": total,
            "total_excluding_tax": subtotal,
            "total_tax_amounts": tax_items,
            "amount_due": total,
            "amount_paid": paid,
            "amount_remaining": 0 if status == "void" else total - paid,
            "paid": status == "paid",
            "number": None if status == "draft" else (number or invoice.get("number")),
            "effective_at": finalized,
            "ending_balance": None if status == "draft" else 0,
            "status_transitions": {
                "finalized_at": finalized,
                "marked_uncollectible_at": when if status == "uncollectible" else None,
                "paid_at": when if status == "paid" else None,
                "voided_at": when if status == "void" else None,
            },
        }

    def payment_intent(self, seed: RecordSeed) -> JSON:
        """A PaymentIntent; succeeded ones have a charge (``ch_`` + the same number)."""
        r = seed.random
        currency = r.choice(_CURRENCIES)
        low, high = _UNIT_RANGE[currency]
        amount = r.between(low, high * 3)
        if currency == "kwd":
            amount -= amount % 10
        status = r.choice(_PI_STATUS)
        created = int(seed.created_at.timestamp())
        succeeded = status == "succeeded"
        return {
            **self.t["payment_intent"],
            "id": seed.id,
            "created": created,
            "amount": amount,
            "amount_received": amount if succeeded else 0,
            "amount_capturable": 0,
            "currency": currency,
            "status": status,
            "customer": self.customer_id(r.below(self.customers)),
            "latest_charge": f"ch_{_suffix(seed.id)}" if succeeded or status == "processing" else None,
            "canceled_at": created + 3600 if status == "canceled" else None,
            "cancellation_reason": "abandoned" if status == "canceled" else None,
            "client_secret": None,
            "description": f"Order {seed.index + 1000}",
            "invoice": None,
            "metadata": {},
        }

    def charge(self, intent: JSON, random: SeedRandom) -> JSON:
        """The latest charge of ``intent``; about one in ten is partly or fully refunded."""
        amount = int(intent["amount"])
        refunded = 0
        if intent["status"] == "succeeded" and random.chance(0.1):
            refunded = amount if random.chance(0.5) else amount // 2
            if intent["currency"] == "kwd":
                refunded -= refunded % 10
        return {
            **self.t["charge"],
            "id": intent["latest_charge"],
            "amount": amount,
            "amount_captured": amount if intent["status"] == "succeeded" else 0,
            "amount_refunded": refunded,
            "refunded": refunded == amount and amount > 0,
            "captured": intent["status"] == "succeeded",
            "paid": intent["status"] == "succeeded",
            "status": "succeeded" if intent["status"] == "succeeded" else "pending",
            "created": intent["created"],
            "currency": intent["currency"],
            "customer": intent["customer"],
            "payment_intent": intent["id"],
            "balance_transaction": None,
            "receipt_url": None,
            "refunds": {
                "data": [],
                "has_more": False,
                "object": "list",
                "url": f"/v1/charges/{intent['latest_charge']}/refunds",
            },
        }

    def balance_transaction(self, seed: RecordSeed) -> JSON:
        """A movement of the balance: charges in (with fees), refunds, payouts and adjustments out."""
        r = seed.random
        currency = r.choice(_CURRENCIES)
        low, high = _UNIT_RANGE[currency]
        gross = r.between(low, high * 3)
        if currency == "kwd":
            gross -= gross % 10
        kind = r.choice(_TXN_TYPES)
        created = int(seed.created_at.timestamp())
        fee = 0
        if kind == "charge":
            fee = gross * 29 // 1000 + (30 if currency not in ("jpy", "kwd") else 0)
            amount, source, category = gross, f"ch_{_suffix(seed.id)}", "charge"
        elif kind == "refund":
            amount, source, category = -gross, f"re_{_suffix(seed.id)}", "refund"
        elif kind == "payout":
            amount, source, category = -gross * 5, f"po_{_suffix(seed.id)}", "payout"
        else:
            amount = gross if r.chance(0.5) else -gross
            source, category = f"adj_{_suffix(seed.id)}", "other_adjustment"
        pending = r.chance(0.1)
        return {
            **self.t["balance_transaction"],
            "id": seed.id,
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "currency": currency,
            "created": created,
            "available_on": created + 2 * DAY,
            "description": {
                "charge": "Payment",
                "refund": "REFUND FOR CHARGE",
                "payout": "STRIPE PAYOUT",
            }.get(kind),
            "fee_details": []
            if not fee
            else [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ],
            "reporting_category": category,
            "source": source,
            "status": "pending" if pending else "available",
            "type": kind,
            "exchange_rate": None,
        }

    def payout(self, seed: RecordSeed) -> JSON:
        """A payout to the platform's bank account."""
        r = seed.random
        currency = r.choice(("usd",) * 6 + ("eur", "gbp", "jpy", "kwd"))
        low, high = _UNIT_RANGE[currency]
        amount = r.between(low * 10, high * 20)
        if currency == "kwd":
            amount -= amount % 10
        created = int(seed.created_at.timestamp())
        status = r.choice(_PAYOUT_STATUS)
        return {
            **self.t["payout"],
            "id": seed.id,
            "amount": amount,
            "arrival_date": created + 2 * DAY,
            "balance_transaction": f"txn_po{_suffix(seed.id)}",
            "created": created,
            "currency": currency,
            "description": "STRIPE PAYOUT",
            "destination": "ba_1FinconSandboxBank",
            "failure_balance_transaction": None,
            "failure_code": "account_closed" if status == "failed" else None,
            "failure_message": "The bank account has been closed." if status == "failed" else None,
            "original_payout": None,
            "reconciliation_status": "completed" if status == "paid" else "not_applicable",
            "reversed_by": None,
            "statement_descriptor": None,
            "status": status,
            "metadata": {},
        }

    def balance(self, seed: int) -> JSON:
        """The account balance: available and pending funds per currency."""
        r = SeedRandom(seed, "stripe-balance")
        available, pending = [], []
        for currency in ("usd", "eur", "jpy", "kwd"):
            low, high = _UNIT_RANGE[currency]
            amount = r.between(low * 100, high * 100)
            waiting = r.between(0, high * 10)
            if currency == "kwd":
                amount, waiting = amount - amount % 10, waiting - waiting % 10
            available.append({"amount": amount, "currency": currency, "source_types": {"card": amount}})
            pending.append({"amount": waiting, "currency": currency, "source_types": {"card": waiting}})
        return {
            **self.t["balance"],
            "available": available,
            "pending": pending,
            "connect_reserved": [{"amount": 0, "currency": "usd"}],
        }
