"""Stripe's own spec (2023-08-16) and example objects, through OpenAPIContract.

Responses are checked by openapi-core, requests (form bodies with bracketed keys) by fincon.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from specs_testkit import STRIPE_2022

from fincon.testing.specs import OpenAPIContract, SpecViolation, require_spec

API = "https://api.stripe.com"


def answer(method: str, url: str, body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request(method, url))


def form(path: str, data: dict[str, str], host: str = API) -> httpx.Request:
    return httpx.Request("POST", host + path, data=data)


def test_the_spec_is_patched_for_its_known_quirks(stripe: OpenAPIContract) -> None:
    assert stripe.title == "Stripe API"
    assert stripe.version == "2023-08-16"
    applied = stripe.patches_applied
    assert applied["nullable-combinator"] > 400  # nullable next to anyOf
    assert applied["nullable-enum"] > 100
    assert stripe.load_seconds < 30


def test_a_second_contract_on_the_same_file_reuses_the_loaded_document(stripe: OpenAPIContract) -> None:
    again = OpenAPIContract(stripe.path)
    assert again.document is stripe.document


def test_fixture_customer_and_invoice_are_valid_responses(
    stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]
) -> None:
    match = stripe.check_response(answer("GET", f"{API}/v1/customers/cus_1", stripe_fixtures["customer"]))
    assert match.route.operation_id == "GetCustomersCustomer"
    assert match.path_params == {"customer": "cus_1"}
    stripe.check_response(answer("GET", f"{API}/v1/invoices/in_1", stripe_fixtures["invoice"]))


def test_any_host_is_accepted_because_only_the_path_is_matched(
    stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]
) -> None:
    stripe.check_response(
        answer("GET", "http://127.0.0.1:8765/v1/customers/cus_1", stripe_fixtures["customer"])
    )


def test_a_list_of_invoices_is_a_valid_list_response(
    stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]
) -> None:
    page = {
        "object": "list",
        "data": [stripe_fixtures["invoice"]] * 5,
        "has_more": False,
        "url": "/v1/invoices",
    }
    stripe.check_response(answer("GET", f"{API}/v1/invoices?limit=5", page))


def test_an_amount_sent_as_a_string_is_caught_with_its_location(
    stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]
) -> None:
    invoice = dict(stripe_fixtures["invoice"], amount_due="1000")
    with pytest.raises(SpecViolation) as caught:
        stripe.check_response(answer("GET", f"{API}/v1/invoices/in_1", invoice))
    violation = caught.value
    assert violation.location == "/body/amount_due"
    assert violation.reason == "'1000' is not of type 'integer'"
    message = str(violation)
    assert "GET /v1/invoices/{invoice} (GetInvoicesInvoice) response 200" in message
    assert "Stripe API 2023-08-16" in message
    assert len(message) < 1000  # the 40 kB invoice is not dumped into the report


def test_a_wrong_enum_deep_in_a_response_is_caught(
    stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]
) -> None:
    invoice = copy.deepcopy(stripe_fixtures["invoice"])
    invoice["lines"]["data"][0]["price"]["type"] = "sometimes"
    with pytest.raises(SpecViolation) as caught:
        stripe.check_response(answer("GET", f"{API}/v1/invoices/in_1", invoice))
    assert caught.value.location == "/body/lines/data/0/price/type"
    assert "'sometimes' is not one of ['one_time', 'recurring']" in caught.value.reason


def test_null_where_the_spec_says_nullable_anyof_passes_only_thanks_to_the_patch(
    stripe_fixtures: dict[str, Any],
) -> None:
    # spec3.json of 2022-04-12 loads in a fraction of a second, so the unpatched run is cheap.
    with require_spec(f"{STRIPE_2022}/fixtures3.json").open(encoding="utf-8") as handle:
        customer = json.load(handle)["resources"]["customer"]
    assert customer["address"] is None
    path = require_spec(f"{STRIPE_2022}/spec3.json")
    response = answer("GET", f"{API}/v1/customers/cus_1", customer)
    OpenAPIContract(path).check_response(response)
    with pytest.raises(SpecViolation):
        OpenAPIContract(path, patches=()).check_response(response)


def test_undocumented_paths_methods_and_statuses_are_violations(
    stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]
) -> None:
    with pytest.raises(SpecViolation, match="no path of the spec matches /v1/customer/cus_1"):
        stripe.check_request(httpx.Request("GET", f"{API}/v1/customer/cus_1"))
    with pytest.raises(SpecViolation, match=r"PATCH is not documented .*documented: DELETE, GET, POST"):
        stripe.check_request(httpx.Request("PATCH", f"{API}/v1/customers/cus_1"))
    # Stripe documents a `default` error response: a 402 must then carry Stripe's error object.
    with pytest.raises(SpecViolation) as caught:
        stripe.check_response(answer("GET", f"{API}/v1/customers/cus_1", {"message": "nope"}, status=402))
    assert "'error' is a required property" in str(caught.value)
    stripe.check_response(
        answer(
            "GET", f"{API}/v1/customers/cus_1", {"error": {"type": "card_error", "message": "declined"}}, 402
        )
    )


def test_form_post_with_bracketed_metadata_and_nested_lists_is_valid(stripe: OpenAPIContract) -> None:
    match = stripe.check_request(
        form(
            "/v1/customers",
            {
                "email": "ap@example.com",
                "balance": "-500",
                "metadata[erp_id]": "V-1001",
                "metadata[region]": "emea",
                "preferred_locales[0]": "en",
                "invoice_settings[custom_fields][0][name]": "PO",
                "invoice_settings[custom_fields][0][value]": "4500012",
                "address": "",  # Stripe's way to unset a field
                "expand[]": "default_source",
            },
        )
    )
    assert match.route.operation_id == "PostCustomers"
    stripe.check_request(
        form(
            "/v1/subscriptions",
            {
                "customer": "cus_1",
                "items[0][price]": "price_1",
                "items[0][quantity]": "2",
                "items[1][price]": "p2",
            },
        )
    )


def test_broken_form_posts_are_caught(stripe: OpenAPIContract) -> None:
    with pytest.raises(SpecViolation) as caught:
        stripe.check_request(
            form("/v1/invoiceitems", {"customer": "cus_1", "amount": "ten", "currency": "usd"})
        )
    assert caught.value.location == "/body/amount"
    assert "'ten' is not of type 'integer'" in caught.value.reason

    with pytest.raises(SpecViolation) as caught:
        stripe.check_request(
            form("/v1/customers", {"email": "a@example.com", "nickname": "x", "tax_exempt": "often"})
        )
    problems = {problem.location: problem.reason for problem in caught.value.problems}
    assert "'nickname' was unexpected" in problems["/body"]  # additionalProperties: false
    assert "'often' is not one of" in problems["/body/tax_exempt"]


def test_query_parameters_with_brackets_and_types(stripe: OpenAPIContract) -> None:
    stripe.check_request(
        httpx.Request(
            "GET",
            f"{API}/v1/invoices",
            params=[
                ("limit", "3"),
                ("expand[]", "data.customer"),
                ("created[gte]", "1690000000"),
                ("status", "paid"),
            ],
        )
    )
    with pytest.raises(SpecViolation) as caught:
        stripe.check_request(
            httpx.Request(
                "GET", f"{API}/v1/invoices", params={"limit": "many", "created[gte]": "x", "colour": "red"}
            )
        )
    locations = [problem.location for problem in caught.value.problems]
    assert locations == ["/query/created/gte", "/query/limit", "/query/colour"]
    assert caught.value.problems[-1].reason == "not a documented query parameter"
