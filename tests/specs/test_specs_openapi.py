"""OpenAPIContract on OBIE's account-information API, and on every OpenAPI spec in the folder."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from specs_testkit import OBIE_AISP

from fincon.testing.specs import OpenAPIContract, SpecViolation, specs_dir

FAPI_ID = str(uuid.UUID(int=7))


def accounts_page() -> dict[str, Any]:
    """A plausible OBIE v4.0 GET /accounts body, written from the spec."""
    return {
        "Data": {
            "Account": [
                {
                    "AccountId": "acc-001",
                    "Status": "Enabled",
                    "StatusUpdateDateTime": "2024-03-01T09:30:00+00:00",
                    "Currency": "GBP",
                    "AccountCategory": "Business",
                    "AccountTypeCode": "CACC",
                    "Nickname": "Operating",
                    "Account": [
                        {
                            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                            "Identification": "40400412345678",
                            "Name": "Fincon Ltd",
                        }
                    ],
                }
            ]
        },
        "Links": {"Self": f"{OBIE_AISP}/accounts"},
        "Meta": {"TotalPages": 1},
    }


def accounts_response(body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", f"{OBIE_AISP}/accounts")
    return httpx.Response(
        200, json=body, headers={"x-fapi-interaction-id": FAPI_ID, **(headers or {})}, request=request
    )


def test_a_plausible_accounts_response_is_valid(obie_accounts: OpenAPIContract) -> None:
    match = obie_accounts.check_response(accounts_response(accounts_page()))
    assert match.route.operation_id == "GetAccounts"


def test_a_missing_required_response_header_is_caught(obie_accounts: OpenAPIContract) -> None:
    response = accounts_response(accounts_page())
    del response.headers["x-fapi-interaction-id"]
    with pytest.raises(SpecViolation) as caught:
        obie_accounts.check_response(response)
    assert caught.value.location == "/headers/x-fapi-interaction-id"


def test_enum_additional_property_and_format_problems_are_all_listed(obie_accounts: OpenAPIContract) -> None:
    body = accounts_page()
    account = body["Data"]["Account"][0]
    account.update(Status="Open", Colour="blue", StatusUpdateDateTime="yesterday")
    with pytest.raises(SpecViolation) as caught:
        obie_accounts.check_response(accounts_response(body))
    reasons = "\n".join(str(problem) for problem in caught.value.problems)
    assert "at /body/Data/Account/0/Status: 'Open' is not one of" in reasons
    assert "'Colour' was unexpected" in reasons
    assert "at /body/Data/Account/0/StatusUpdateDateTime: 'yesterday' is not a 'date-time'" in reasons


def test_requests_need_the_server_prefix_and_valid_headers(obie_accounts: OpenAPIContract) -> None:
    headers = {
        "Authorization": "Bearer t",
        "x-fapi-auth-date": "Sun, 10 Sep 2017 19:43:31 UTC",
        "x-fapi-interaction-id": FAPI_ID,
    }
    obie_accounts.check_request(
        httpx.Request("GET", f"{OBIE_AISP}/accounts/acc-001/balances", headers=headers)
    )
    with pytest.raises(SpecViolation, match="no path of the spec matches /accounts"):
        obie_accounts.check_request(httpx.Request("GET", "https://ob.example/accounts", headers=headers))
    with pytest.raises(SpecViolation) as caught:
        obie_accounts.check_request(
            httpx.Request(
                "GET", f"{OBIE_AISP}/accounts", headers={**headers, "x-fapi-auth-date": "yesterday"}
            )
        )
    assert caught.value.location == "/header/x-fapi-auth-date"


def test_an_emulator_mounted_elsewhere_can_say_so(obie_accounts: OpenAPIContract) -> None:
    mounted = OpenAPIContract(obie_accounts.path, base_paths=["/obie"])
    assert mounted.document is obie_accounts.document
    mounted.check_response(
        httpx.Response(
            200,
            json=accounts_page(),
            headers={"x-fapi-interaction-id": FAPI_ID},
            request=httpx.Request("GET", "http://127.0.0.1:9/obie/accounts"),
        )
    )


# --- every OpenAPI spec -------------------------------------------------------------------------------


def _openapi_specs() -> list[str]:
    root = specs_dir()
    if root is None or not (root / "manifest.tsv").is_file():
        return []
    rows = (line.split("\t") for line in (root / "manifest.tsv").read_text(encoding="utf-8").splitlines()[1:])
    return [row[0] for row in rows if len(row) > 1 and "OpenAPI" in row[-1]]


OPENAPI_SPECS = _openapi_specs()


def _example_url(contract: OpenAPIContract, template: str, item: dict[str, Any]) -> str:
    server = (item.get("servers") or contract.document.get("servers") or [{"url": "/"}])[0]
    url = str(server["url"])
    for name, variable in (server.get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(variable.get("default") or ("1" if name == "port" else "h")))
    if "://" not in url:
        url = "http://emulator.test" + url
    return url.rstrip("/") + re.sub(r"\{[^}]+\}", "v1", template)


@pytest.mark.skipif(not OPENAPI_SPECS, reason="vendor specs folder (with manifest.tsv) not found")
@pytest.mark.parametrize("relative", OPENAPI_SPECS or ["none"])
def test_every_openapi_spec_loads_and_routes_each_operation_to_itself(relative: str) -> None:
    root = specs_dir()
    assert root is not None
    contract = OpenAPIContract(Path(root) / relative)
    routed = 0
    for template, item in contract.document["paths"].items():
        for method in ("get", "put", "post", "delete", "patch"):
            if method in item:
                match = contract.operation(method, _example_url(contract, template, item))
                assert match.route.template == template
                routed += 1
    assert routed > 0


def test_each_known_quirk_is_found_in_the_spec_the_docs_name() -> None:
    root = specs_dir()
    if root is None:
        pytest.skip("vendor specs folder not found (set FINCON_SPECS)")
    expected = {
        "obie/v4.0/payment-initiation-openapi.yaml": {"duplicate-enum": 1},
        "berlin-group/psd2-confirmation-of-funds-consent-2.0-20190607.yaml": {"dangling-ref": 1},
        "dynamics365-bc/openapi-v1.0/openapi.yaml": {"string-keys": 324, "nullable-ref": 125},
        "sap-s4hana/openapi/API_BUSINESS_PARTNER.openapi.json": {"nullable-combinator": 16},
        "obie/v4.0/account-info-openapi.yaml": {},
    }
    for relative, patches in expected.items():
        if (root / relative).is_file():
            assert OpenAPIContract(root / relative).patches_applied == patches, relative


def test_obie_weekly_frequency_still_validates_after_the_duplicate_is_dropped() -> None:
    root = specs_dir()
    path = root / "obie/v4.0/payment-initiation-openapi.yaml" if root else None
    if path is None or not path.is_file():
        pytest.skip("OBIE payment-initiation spec not found (set FINCON_SPECS)")
    contract = OpenAPIContract(path)
    contract.check_body("/components/schemas/OBFrequency6Code", "WEEK")
    with pytest.raises(SpecViolation):
        contract.check_body("/components/schemas/OBFrequency6Code", "FORTNIGHT")
