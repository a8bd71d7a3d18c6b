"""One Stripe account's objects in the emulator: the platform's, or a connected account's.

Stripe Connect scopes every object to an account: a request with ``Stripe-Account: acct_X``
reads and writes acct_X's customers, invoices and payments, never the platform's. The
emulator keeps one :class:`Books` per account, built on first use from a seed derived from
the emulator's seed and the account id (so each account has its own, reproducible data).
Ids follow one scheme in every account: the same id may name different objects in two
accounts, and an object of one account is not found from another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fincon.connectors.stripe._seed import ObjectFactory, SeedTemplates
from fincon.core.clock import Clock
from fincon.sandbox import IdScheme, SeededCollection, SeedRandom

__all__ = ["LISTABLES", "Books", "Listable"]

JSON = dict[str, Any]


@dataclass(frozen=True)
class Listable:
    """A listable object type: its path, object name, collection and list filters."""

    path: str
    object_name: str
    collection: str
    filters: frozenset[str]


LISTABLES: dict[str, Listable] = {
    "customers": Listable("/v1/customers", "customer", "customers", frozenset({"email", "created"})),
    "invoices": Listable(
        "/v1/invoices",
        "invoice",
        "invoices",
        frozenset({"customer", "status", "created", "collection_method", "subscription"}),
    ),
    "payment_intents": Listable(
        "/v1/payment_intents", "payment_intent", "payment_intents", frozenset({"customer", "created"})
    ),
    "balance_transactions": Listable(
        "/v1/balance_transactions",
        "balance_transaction",
        "balance_transactions",
        frozenset({"created", "currency", "payout", "source", "type"}),
    ),
    "payouts": Listable(
        "/v1/payouts", "payout", "payouts", frozenset({"created", "status", "arrival_date", "destination"})
    ),
}
"""Listable object types by their path segment."""


@dataclass
class Books:
    """The objects of one account."""

    account: str
    seed: int
    factory: ObjectFactory
    customers: SeededCollection[JSON]
    invoices: SeededCollection[JSON]
    invoice_items: SeededCollection[JSON]
    payment_intents: SeededCollection[JSON]
    balance_transactions: SeededCollection[JSON]
    payouts: SeededCollection[JSON]
    balance: JSON
    #: Charges of payment intents created through the API (seeded ones are built on demand).
    charges: dict[str, JSON] = field(default_factory=dict)

    @classmethod
    def build(cls, account: str, *, seed: int, size: int, templates: SeedTemplates, clock: Clock) -> Books:
        """Seeded books for ``account`` (``size`` objects of each kind, generated lazily)."""
        make = ObjectFactory(templates, customers=size)

        def collection(
            name: str, prefix: str, factory: Callable[..., JSON], count: int
        ) -> SeededCollection[JSON]:
            return SeededCollection(
                name, factory, seed=seed, size=count, ids=IdScheme(prefix, 10), clock=clock
            )

        return cls(
            account=account,
            seed=seed,
            factory=make,
            customers=collection("customers", "cus_", make.customer, size),
            invoices=collection("invoices", "in_", make.invoice, size),
            invoice_items=collection("invoiceitems", "ii_", make.customer, 0),
            payment_intents=collection("payment_intents", "pi_", make.payment_intent, size),
            balance_transactions=collection("balance_transactions", "txn_", make.balance_transaction, size),
            payouts=collection("payouts", "po_", make.payout, size),
            balance=make.balance(seed),
        )

    def records(self, listable: Listable) -> SeededCollection[JSON]:
        """The collection behind a listable object type."""
        found: SeededCollection[JSON] = getattr(self, listable.collection)
        return found


def connected_seed(seed: int, account: str) -> int:
    """The seed of a connected account's books: reproducible, different for every account."""
    return SeedRandom(seed, "connect", account).next64() % (2**31)
