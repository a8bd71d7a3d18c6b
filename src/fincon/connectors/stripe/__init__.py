"""Stripe: payments and receivables through the fincon protocol.

``fincon.connect("stripe", api_key=..., stripe_account=None, api_version="2023-08-16")``;
``fincon.connect("stripe", sandbox=True)`` for the in-process emulator. Webhooks verify
without a connection: :func:`fincon.connectors.stripe.webhooks.construct_event`.
"""

from fincon.core.registry import SystemSpec

__all__ = ["SPEC"]

SPEC = SystemSpec(
    name="stripe",
    connector="fincon.connectors.stripe.connector:StripeConnector",
    mapping="fincon.connectors.stripe.mapping",
    sandbox="fincon.connectors.stripe.sandbox:StripeEmulator",
    description="Stripe payments and receivables (customers, invoices, payments, balance, webhooks)",
)
"""How the registry finds Stripe's connector, mapping and sandbox (entry point ``fincon.connectors``)."""
