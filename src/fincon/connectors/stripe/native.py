"""``connector.native`` for Stripe: what has no canonical home.

Every method returns what ``run`` returns: the value for a sync connector, an awaitable for
an async one (``await stripe.native.finalize_invoice(...)``).

- invoices: :meth:`StripeNative.finalize_invoice`, :meth:`StripeNative.void_invoice`;
- payments: :meth:`StripeNative.confirm_payment`;
- search (``/v1/<object>/search``, paged by ``next_page``): :meth:`StripeNative.search_page`;
- payouts, as bank transactions of the Stripe balance: :meth:`StripeNative.payouts_page`,
  :meth:`StripeNative.get_payout`;
- webhooks: ``native.webhooks.construct_event(payload, sig_header, secret, tolerance=300)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fincon.connectors.stripe.connector import form_call
from fincon.connectors.stripe.mapping import MAPPERS, PayoutMapper
from fincon.connectors.stripe.webhooks import Webhooks
from fincon.core.flow import Flow
from fincon.core.mapping import map_payloads
from fincon.core.responses import parse_json
from fincon.core.transport import AuditInfo, Call
from fincon.errors import PaginationError, ValidationError

if TYPE_CHECKING:
    from fincon.connectors.stripe.connector import StripeConnector

__all__ = ["SearchPage", "StripeNative"]

#: Searchable Stripe objects -> (path, canonical resource).
SEARCHABLE = {
    "customers": ("/v1/customers/search", "customer"),
    "invoices": ("/v1/invoices/search", "invoice"),
    "payment_intents": ("/v1/payment_intents/search", "payment"),
}
#: Expansions a search needs for exact records (a payment's refunds live on its charge).
_SEARCH_EXPAND = {"payment_intents": ["data.latest_charge"]}


@dataclass(frozen=True)
class SearchPage:
    """One page of search results: canonical records and the ``next_page`` token (None at the end)."""

    items: list[Any]
    next_page: str | None


@dataclass(frozen=True)
class PayoutPage:
    """One page of payouts (as bank transactions) and the id to continue after (None at the end)."""

    items: list[Any]
    next_after: str | None


class StripeNative:
    """Stripe's extras, bound to one connector."""

    def __init__(self, core: StripeConnector, run: Callable[[Flow[Any]], Any]) -> None:
        self._core = core
        self._run = run
        self.webhooks = Webhooks(core.clock)

    # -- invoices ------------------------------------------------------------------------

    def finalize_invoice(self, invoice_id: str, *, idempotency_key: str | None = None) -> Any:
        """Finalize a draft invoice (``POST /v1/invoices/{id}/finalize``); returns the ``Invoice``."""
        return self._run(self._invoice_action(invoice_id, "finalize", idempotency_key))

    def void_invoice(self, invoice_id: str, *, idempotency_key: str | None = None) -> Any:
        """Void a finalized invoice (``POST /v1/invoices/{id}/void``); returns the ``Invoice``."""
        return self._run(self._invoice_action(invoice_id, "void", idempotency_key))

    def _invoice_action(self, invoice_id: str, action: str, key: str | None) -> Flow[Any]:
        if not isinstance(invoice_id, str) or not invoice_id:
            raise ValidationError("an invoice id is a non-empty string", field="id", system="stripe")
        url = f"/v1/invoices/{quote(invoice_id, safe='')}/{action}"
        response = yield from self._core.requestor.call(
            form_call(url, {}, idempotency_key=key, audit=AuditInfo(action, "invoice", record_id=invoice_id))
        )
        body = parse_json(response, system="stripe")
        return map_payloads(MAPPERS["invoice"], [body], system="stripe", resource="invoice")[0]

    # -- payments ------------------------------------------------------------------------

    def confirm_payment(
        self, payment_id: str, *, payment_method: str | None = None, idempotency_key: str | None = None
    ) -> Any:
        """Confirm a PaymentIntent (``POST /v1/payment_intents/{id}/confirm``); returns the ``Payment``.

        ``payment_method`` is a ``pm_...`` id (Stripe's test ids such as ``pm_card_visa`` work
        in test mode); one idempotency key covers every retry, so the customer is charged once.
        """
        return self._run(self._confirm_flow(payment_id, payment_method, idempotency_key))

    def _confirm_flow(self, payment_id: str, payment_method: str | None, key: str | None) -> Flow[Any]:
        if not isinstance(payment_id, str) or not payment_id:
            raise ValidationError("a payment intent id is a non-empty string", field="id", system="stripe")
        params: dict[str, Any] = {"expand": ["latest_charge"]}
        if payment_method is not None:
            params["payment_method"] = payment_method
        response = yield from self._core.requestor.call(
            form_call(
                f"/v1/payment_intents/{quote(payment_id, safe='')}/confirm",
                params,
                idempotency_key=key,
                audit=AuditInfo("confirm", "payment", record_id=payment_id),
            )
        )
        body = parse_json(response, system="stripe")
        return map_payloads(MAPPERS["payment"], [body], system="stripe", resource="payment")[0]

    # -- search --------------------------------------------------------------------------

    def search_page(self, objects: str, query: str, *, page: str | None = None, limit: int = 100) -> Any:
        """One page of ``GET /v1/<objects>/search?query=...`` as canonical records.

        ``objects`` is ``"customers"``, ``"invoices"`` or ``"payment_intents"``; pass the
        returned ``next_page`` as ``page`` for the next one.
        """
        return self._run(self._search_flow(objects, query, page, limit))

    def search(self, objects: str, query: str, *, limit: int = 100) -> Iterator[Any]:
        """Every search result, page by page (sync connectors only)."""
        page: str | None = None
        seen: set[str] = set()
        while True:
            result: SearchPage = self.search_page(objects, query, page=page, limit=limit)
            yield from result.items
            if result.next_page is None:
                return
            if result.next_page in seen:
                raise PaginationError("Stripe search returned a next_page seen before", system="stripe")
            seen.add(result.next_page)
            page = result.next_page

    def _search_flow(self, objects: str, query: str, page: str | None, limit: int) -> Flow[SearchPage]:
        if objects not in SEARCHABLE:
            raise ValidationError(
                f"Stripe search covers {', '.join(SEARCHABLE)}, not {objects!r}",
                field="objects",
                system="stripe",
            )
        if not 1 <= limit <= 100:
            raise ValidationError("limit must be from 1 to 100", field="limit", system="stripe")
        path, resource = SEARCHABLE[objects]
        params: dict[str, Any] = {"query": query, "limit": limit}
        if page is not None:
            params["page"] = page
        if objects in _SEARCH_EXPAND:
            params["expand[]"] = _SEARCH_EXPAND[objects]
        response = yield from self._core.requestor.call(
            Call("GET", path, params=params, audit=AuditInfo("read", resource))
        )
        body = parse_json(response, system="stripe")
        data = body.get("data") or []
        if resource == "invoice":  # an invoice record always carries all its lines
            data = yield from self._core.handlers["invoice"].complete(data)  # type: ignore[attr-defined]
        records = map_payloads(MAPPERS[resource], data, system="stripe", resource=resource)
        following = body.get("next_page") if body.get("has_more") else None
        return SearchPage(records, None if following in (None, "") else str(following))

    # -- payouts -------------------------------------------------------------------------

    def payouts_page(self, *, after: str | None = None, limit: int = 100, status: str | None = None) -> Any:
        """One page of payouts, as negative bank transactions of the Stripe balance."""
        return self._run(self._payouts_flow(after, limit, status))

    def get_payout(self, payout_id: str) -> Any:
        """One payout as a bank transaction."""
        return self._run(self._payout_flow(payout_id))

    def _payouts_flow(self, after: str | None, limit: int, status: str | None) -> Flow[PayoutPage]:
        if not 1 <= limit <= 100:
            raise ValidationError("limit must be from 1 to 100", field="limit", system="stripe")
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["starting_after"] = after
        if status is not None:
            params["status"] = status
        response = yield from self._core.requestor.call(
            Call("GET", "/v1/payouts", params=params, audit=AuditInfo("read", "payout"))
        )
        body = parse_json(response, system="stripe")
        data = body.get("data") or []
        records = map_payloads(PayoutMapper(), data, system="stripe", resource="payout")
        following = str(data[-1]["id"]) if body.get("has_more") and data else None
        return PayoutPage(records, following)

    def _payout_flow(self, payout_id: str) -> Flow[Any]:
        response = yield from self._core.requestor.call(
            Call("GET", f"/v1/payouts/{quote(payout_id, safe='')}", audit=AuditInfo("read", "payout"))
        )
        body = parse_json(response, system="stripe")
        return map_payloads(PayoutMapper(), [body], system="stripe", resource="payout")[0]
