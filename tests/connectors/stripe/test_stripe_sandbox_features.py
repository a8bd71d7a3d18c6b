"""The emulator's paging backwards (``ending_before``), search, and Connect accounts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import fincon
from fincon.connectors.stripe._search import SearchQuery, SearchSyntaxError
from fincon.connectors.stripe.sandbox import StripeEmulator
from fincon.core.clock import FakeClock
from fincon.errors import RemoteValidationError
from fincon.models import Customer
from fincon.sandbox import SandboxTransport

CONNECTED = "acct_1ConnectedShop01"


@pytest.fixture
def emulator() -> StripeEmulator:
    return StripeEmulator(size=60, seed=3, clock=FakeClock())


@pytest.fixture
def http(emulator: StripeEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=SandboxTransport(emulator),
        base_url=emulator.base_url,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
    ) as client:
        yield client


def ids(body: Any) -> list[str]:
    return [item["id"] for item in body["data"]]


# -- ending_before --------------------------------------------------------------------------------------


def test_ending_before_walks_back_page_by_page(http: httpx.Client) -> None:
    forward: list[str] = []
    params: dict[str, Any] = {"limit": 7}
    while True:
        body = http.get("/v1/customers", params=params).json()
        forward.extend(ids(body))
        if not body["has_more"]:
            break
        params["starting_after"] = body["data"][-1]["id"]
    assert len(forward) == 60
    backward: list[str] = []
    params = {"limit": 7, "ending_before": forward[-1]}
    while True:
        body = http.get("/v1/customers", params=params).json()
        page = ids(body)
        assert page == sorted(page), "a page went backwards: Stripe keeps list order within a page"
        backward = page + backward
        if not body["has_more"]:
            break
        params["ending_before"] = page[0]
    assert backward == forward[:-1], "paging back lost or repeated records"


def test_ending_before_honours_filters_and_deletions(http: httpx.Client, emulator: StripeEmulator) -> None:
    open_ids = [record.id for record in emulator.invoices.iter(where=lambda r: r.data["status"] == "open")]
    assert len(open_ids) >= 4
    body = http.get(
        "/v1/invoices", params={"limit": 2, "status": "open", "ending_before": open_ids[3]}
    ).json()
    assert ids(body) == open_ids[1:3]
    assert body["has_more"] is True
    emulator.customers.delete("cus_0000000009")
    body = http.get("/v1/customers", params={"limit": 3, "ending_before": "cus_0000000011"}).json()
    assert ids(body) == ["cus_0000000007", "cus_0000000008", "cus_0000000010"]
    first = http.get("/v1/customers", params={"limit": 3, "ending_before": "cus_0000000001"}).json()
    assert first["data"] == []
    assert first["has_more"] is False


def test_ending_before_refuses_nonsense(http: httpx.Client) -> None:
    both = http.get(
        "/v1/customers", params={"starting_after": "cus_0000000002", "ending_before": "cus_0000000009"}
    )
    assert both.status_code == 400
    assert both.json()["error"]["param"] == "ending_before"
    missing = http.get("/v1/customers", params={"ending_before": "cus_9999999999"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "resource_missing"


# -- search -------------------------------------------------------------------------------------------


def test_the_query_language_subset() -> None:
    invoice = {
        "status": "open",
        "total": 1500,
        "currency": "usd",
        "customer": {"id": "cus_1"},
        "metadata": {"k": "v"},
    }
    assert SearchQuery("status:'open' AND total>1000", "invoices").matches(invoice)
    assert not SearchQuery("status:'open' AND total<1000", "invoices").matches(invoice)
    assert SearchQuery("status:'paid' OR total>=1500", "invoices").matches(invoice)
    assert SearchQuery("customer:'cus_1' AND metadata['k']:'V'", "invoices").matches(invoice)
    assert SearchQuery("-status:'paid'", "invoices").matches(invoice)
    assert not SearchQuery('-currency:"usd"', "invoices").matches(invoice)
    assert SearchQuery("total:1500", "invoices").matches(invoice)
    for bad in (
        "status:'open' AND total>1 OR currency:'usd'",  # AND and OR mixed
        "amount>5",  # not an invoice search field
        "status>'open'",  # comparing text
        "total:'x' AND",  # dangling join
        "number~'ab'",  # substring too short
        "metadata:'x'",  # metadata needs a key
        "currency:usd",  # unquoted text
    ):
        with pytest.raises(SearchSyntaxError):
            SearchQuery(bad, "invoices")


def test_search_invoices_and_payment_intents_through_native(emulator: StripeEmulator) -> None:
    with fincon.connect("stripe", sandbox=emulator) as stripe:
        expected = [
            record.id
            for record in emulator.invoices
            if record.data["status"] == "open" and record.data["total"] > 50_000
        ]
        found = list(stripe.native.search("invoices", "status:'open' AND total>50000", limit=2))
        assert [invoice.id for invoice in found] == expected
        assert len(expected) > 2, "the search did not need a second page"
        assert all(invoice.status in ("open", "partially_paid") for invoice in found)

        customer = emulator.payment_intents.get("pi_0000000005")
        assert customer is not None
        wanted = customer.data["customer"]
        intents = list(stripe.native.search("payment_intents", f"customer:'{wanted}'"))
        truth = [record.id for record in emulator.payment_intents if record.data["customer"] == wanted]
        assert [payment.id for payment in intents] == truth
        listed = {payment.id: payment for payment in stripe.payments.list(filters={"customer": wanted})}
        assert [listed[payment.id] for payment in intents] == intents, (
            "search and listing disagree on amounts"
        )

        page = stripe.native.search_page("payment_intents", "amount>0", limit=3)
        assert len(page.items) == 3
        assert page.next_page is not None
        following = stripe.native.search_page("payment_intents", "amount>0", limit=3, page=page.next_page)
        assert {p.id for p in following.items}.isdisjoint({p.id for p in page.items})
        with pytest.raises(RemoteValidationError, match="unsupported search field"):
            stripe.native.search_page("payment_intents", "email:'x@y.example'")


# -- Connect --------------------------------------------------------------------------------------------


def test_each_connected_account_has_its_own_objects(emulator: StripeEmulator) -> None:
    platform = fincon.connect("stripe", sandbox=emulator)
    shop = fincon.connect("stripe", sandbox=emulator, stripe_account=CONNECTED)
    other = fincon.connect("stripe", sandbox=emulator, stripe_account="acct_1ConnectedShop02")
    with platform, shop, other:
        assert shop.check().account == CONNECTED
        assert platform.check().account == emulator.account_id
        mine = shop.customers.create(Customer(name="Only In The Shop", email="shop@connect.example"))
        assert shop.customers.get(mine.id).name == "Only In The Shop"
        assert mine.id not in {customer.id for customer in platform.customers.list()}
        assert "Only In The Shop" not in {customer.name for customer in other.customers.list()}
        platform_names = [customer.name for customer in platform.customers.list(max_pages=1, page_size=10)]
        shop_names = [customer.name for customer in shop.customers.list(max_pages=1, page_size=10)]
        assert platform_names != shop_names, "a connected account showed the platform's data"
        again = fincon.connect("stripe", sandbox=emulator, stripe_account=CONNECTED)
        with again:  # the same account's data, reproducibly
            assert [c.name for c in again.customers.list(max_pages=1, page_size=10)] == shop_names
        invoices = list(shop.invoices.list(max_pages=1, page_size=5))
        assert {invoice.id for invoice in invoices}
    assert CONNECTED in emulator.books


# -- prefetching over a real loopback connection ----------------------------------------------------------


def test_breaking_out_of_a_prefetching_listing_leaves_no_busy_connection() -> None:
    import threading

    from fincon.sandbox import serve

    emulator = StripeEmulator(size=450, seed=9)
    with (
        serve(emulator) as server,
        fincon.connect(
            "stripe", api_key=emulator.api_key, base_url=server.base_url, share_limits=False
        ) as stripe,
    ):
        assert stripe.invoices.list().prefetch == "auto"
        listing = stripe.invoices.list(page_size=100, prefetch=True)
        for _invoice in listing:
            break
        assert not [t for t in threading.enumerate() if t.name.startswith("fincon-prefetch")]
        pool = stripe._client._transport._pool  # type: ignore[attr-defined]
        assert pool.connections, "nothing was fetched over the pool"
        assert all(connection.is_idle() for connection in pool.connections), "a connection stayed busy"
        ids = [invoice.id for invoice in stripe.invoices.list(page_size=100)]
        assert ids == [record.id for record in emulator.invoices]


# -- page cache -----------------------------------------------------------------------------------------


def test_an_unchanged_listing_is_served_from_the_page_cache_with_the_same_bytes(
    emulator: StripeEmulator, http: httpx.Client
) -> None:
    first = http.get("/v1/invoices", params={"limit": 5})
    assert len(emulator.page_cache) == 1
    again = http.get("/v1/invoices", params={"limit": 5})
    assert again.content == first.content
    assert len(emulator.page_cache) == 1  # served from the cache, not rendered again
    assert again.headers["content-type"] == "application/json"
    assert int(again.headers["content-length"]) == len(again.content)


def test_a_change_is_listed_at_once_though_the_page_was_cached(
    emulator: StripeEmulator, http: httpx.Client
) -> None:
    before = http.get("/v1/customers", params={"limit": 3}).json()
    first = before["data"][0]["id"]
    http.post(f"/v1/customers/{first}", data={"name": "Renamed After Caching"})
    after = http.get("/v1/customers", params={"limit": 3}).json()
    assert after["data"][0]["name"] == "Renamed After Caching"
    assert ids(after) == ids(before)


def test_filtered_and_expanded_listings_are_not_cached(emulator: StripeEmulator, http: httpx.Client) -> None:
    customer = http.get("/v1/invoices", params={"limit": 1}).json()["data"][0]["customer"]
    cached = len(emulator.page_cache)
    filtered = http.get("/v1/invoices", params={"limit": 5, "customer": customer}).json()
    assert filtered["data"]
    assert all(invoice["customer"] == customer for invoice in filtered["data"])
    expanded = http.get("/v1/payment_intents", params={"limit": 2, "expand[]": "data.latest_charge"})
    assert expanded.status_code == 200
    assert any(isinstance(intent["latest_charge"], dict) for intent in expanded.json()["data"])
    assert len(emulator.page_cache) == cached
