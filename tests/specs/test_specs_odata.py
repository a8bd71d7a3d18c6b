"""ODataContract on SAP S/4HANA (V2) and Dynamics 365 Business Central (V4) $metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fincon.testing.specs import ODataContract, SpecViolation, specs_dir

BP = "https://s4.example/sap/opu/odata/sap/API_BUSINESS_PARTNER"
BC = "https://api.businesscentral.dynamics.com/v2.0/tenant-1/production/api/v2.0"
COMPANY = "5d115c9c-44e3-ea11-bb43-000d3a2feca1"


def _edmx_files() -> list[str]:
    root = specs_dir()
    if root is None:
        return []
    found = sorted(path.relative_to(root).as_posix() for path in (root / "sap-s4hana").glob("*.edmx"))
    bc = root / "dynamics365-bc/api-v2.0/metadata.xml"
    return found + ([bc.relative_to(root).as_posix()] if bc.is_file() else [])


EDMX_FILES = _edmx_files()


@pytest.mark.skipif(not EDMX_FILES, reason="vendor specs folder not found (set FINCON_SPECS)")
@pytest.mark.parametrize("relative", EDMX_FILES or ["none"])
def test_every_edmx_parses_with_resolvable_types(relative: str) -> None:
    root = specs_dir()
    assert root is not None
    contract = ODataContract(Path(root) / relative)
    model = contract.model
    assert model.entity_sets, relative
    assert model.edmx_version in ("1.0", "4.0")
    for entity_set in model.entity_sets.values():
        entity_type = model.types[entity_set.entity_type]
        assert entity_type.keys, f"{entity_set.name} has no key"
        assert set(entity_type.keys) <= set(entity_type.properties)
    for structured in model.types.values():
        for nav in structured.navigation.values():
            assert nav.target in model.types, f"{structured.name}.{nav.name}"
        for prop in structured.properties.values():
            item = prop.item_type
            assert item.startswith("Edm.") or item in model.types or item in model.enums, (
                f"{prop.name}: {item}"
            )


def supplier(**changes: Any) -> dict[str, Any]:
    entity = {
        "__metadata": {
            "id": f"{BP}/A_Supplier('17300001')",
            "uri": f"{BP}/A_Supplier('17300001')",
            "type": "API_BUSINESS_PARTNER.A_SupplierType",
        },
        "Supplier": "17300001",
        "SupplierName": "Domestic US Supplier 1",
        "SupplierAccountGroup": "SUPL",
        "CreationDate": "/Date(1471392000000)/",
        "PaymentIsBlockedForSupplier": False,
        "to_SupplierCompany": {"__deferred": {"uri": f"{BP}/A_Supplier('17300001')/to_SupplierCompany"}},
    }
    entity.update(changes)
    return entity


def test_sap_model_facts(business_partner: ODataContract) -> None:
    assert business_partner.version == "2.0"
    supplier_type = business_partner.entity_type("A_Supplier")
    assert supplier_type.keys == ("Supplier",)
    prop = supplier_type.properties["Supplier"]
    assert (prop.type, prop.nullable, prop.facets.max_length) == ("Edm.String", False, 10)
    assert supplier_type.navigation["to_SupplierCompany"].many


def test_a_valid_a_supplier_payload(business_partner: ODataContract) -> None:
    assert (
        business_partner.validate_payload("A_Supplier", {"d": {"results": [supplier()], "__count": "1"}}) == 1
    )
    assert business_partner.validate_payload("A_Supplier", {"d": supplier()}) == 1


def test_an_invalid_a_supplier_payload_lists_every_problem(business_partner: ODataContract) -> None:
    bad = supplier(
        Supplier="SUPPLIER-0001",  # MaxLength 10
        CreationDate="2016-08-17",  # V2 JSON writes /Date(ms)/
        PaymentIsBlockedForSupplier="false",
        SupplierRating="AAA",  # no such property
    )
    with pytest.raises(SpecViolation) as caught:
        business_partner.validate_payload("A_Supplier", {"d": {"results": [bad]}})
    problems = {problem.location: problem.reason for problem in caught.value.problems}
    assert problems == {
        "/d/results/0/Supplier": "13 characters exceed MaxLength 10",
        "/d/results/0/CreationDate": "'2016-08-17' is not a /Date(ms)/ date (Edm.DateTime)",
        "/d/results/0/PaymentIsBlockedForSupplier": "'false' is not a boolean",
        "/d/results/0/SupplierRating": "A_SupplierType has no property 'SupplierRating'",
    }
    assert "payload of A_Supplier violates OData V2 $metadata API_BUSINESS_PARTNER" in str(caught.value)


def test_keys_envelopes_and_decimals(business_partner: ODataContract) -> None:
    with pytest.raises(SpecViolation, match="key property 'Supplier' is missing"):
        business_partner.validate_entity("A_Supplier", {"SupplierName": "No key"})
    with pytest.raises(SpecViolation, match=r'wrapped in \{"d"'):
        business_partner.validate_payload("A_Supplier", {"results": [supplier()]})
    ok = {"CompanyCode": "1010", "Supplier": "17300001", "MinorityGroup": ""}
    business_partner.validate_entity("A_SupplierCompany", ok)


def test_sap_urls(business_partner: ODataContract) -> None:
    target = business_partner.check_url(
        f"{BP}/A_Supplier('17300001')/to_SupplierCompany"
        "?$filter=CompanyCode eq '1010' and substringof('x', SupplierClerk)"
        "&$select=Supplier,CompanyCode&$top=10"
    )
    assert target is not None
    assert target.type is not None
    assert target.type.name == "A_SupplierCompanyType"
    assert target.many
    with pytest.raises(SpecViolation) as caught:
        business_partner.check_url(
            f"{BP}/A_Supplier(17300001)?$filter=SupplierNam eq 'O''Neil'&$orderby=Rating desc&$count=true"
        )
    problems = [str(problem) for problem in caught.value.problems]
    assert problems == [
        "at /path/0: key Supplier is Edm.String, so its value must be quoted: 17300001",
        "at /query/$count: not a system query option of OData V2",
        "at /query/$filter: A_SupplierType has no property 'SupplierNam'",
        "at /query/$orderby: A_SupplierType has no property 'Rating'",
    ]
    with pytest.raises(SpecViolation, match="no entity set of the service"):
        business_partner.check_url(f"{BP}/A_Suppliers")


def test_sap_http_exchange(business_partner: ODataContract) -> None:
    request = httpx.Request("GET", f"{BP}/A_Supplier", params={"$top": "1", "$inlinecount": "allpages"})
    good = httpx.Response(200, json={"d": {"results": [supplier()], "__count": "1"}}, request=request)
    business_partner.check_request(request)
    business_partner.check_response(good)
    single = httpx.Request("GET", f"{BP}/A_Supplier('17300001')")
    with pytest.raises(SpecViolation, match="a collection was addressed"):
        business_partner.check_response(httpx.Response(200, json={"d": supplier()}, request=request))
    business_partner.check_response(httpx.Response(200, json={"d": supplier()}, request=single))
    error = {"error": {"code": "SY/530", "message": {"lang": "en", "value": "Not found"}}}
    business_partner.check_response(httpx.Response(404, json=error, request=single))
    with pytest.raises(SpecViolation, match="V2 error messages"):
        business_partner.check_response(
            httpx.Response(404, json={"error": {"code": "X", "message": "Not found"}}, request=single)
        )
    create = httpx.Request("POST", f"{BP}/A_Supplier", content=json.dumps({"Supplier": 17300002}).encode())
    with pytest.raises(SpecViolation, match="is not a string"):
        business_partner.check_request(create)


def vendor(**changes: Any) -> dict[str, Any]:
    entity = {
        "@odata.etag": 'W/"JzQ0O0VnQUFBQUo3"',
        "id": "5d115c9c-44e3-ea11-bb43-000d3a2feca1",
        "number": "V00010",
        "displayName": "Fabrikam, Inc.",
        "addressLine1": "Lakeshore Drive 5",
        "city": "Atlanta",
        "country": "US",
        "email": "ap@fabrikam.example",
        "currencyId": "00000000-0000-0000-0000-000000000000",
        "currencyCode": "USD",
        "taxLiable": False,
        "blocked": "_x0020_",
        "balance": 1250.5,
        "lastModifiedDateTime": "2024-05-21T00:24:10.323Z",
    }
    entity.update(changes)
    return entity


def test_a_valid_and_an_invalid_v4_vendors_payload(business_central: ODataContract) -> None:
    body = {"@odata.context": f"{BC}/$metadata#companies({COMPANY})/vendors", "value": [vendor()]}
    assert business_central.validate_payload("vendors", body) == 1
    bad = vendor(blocked="Sometimes", balance=True, lastModifiedDateTime="2024-05-21", number="V" * 21)
    with pytest.raises(SpecViolation) as caught:
        business_central.validate_payload("vendors", {"value": [bad]})
    problems = {problem.location: problem.reason for problem in caught.value.problems}
    assert problems == {
        "/value/0/number": "21 characters exceed MaxLength 20",
        "/value/0/blocked": "'Sometimes' is not a member of vendorBlocked (All, Payment, _x0020_)",
        "/value/0/balance": "True is not a number or decimal string (Edm.Decimal)",
        "/value/0/lastModifiedDateTime": "'2024-05-21' is not an ISO 8601 date-time with offset",
    }


def test_v4_decimals_follow_ieee754compatible(business_central: ODataContract) -> None:
    request = httpx.Request("GET", f"{BC}/companies({COMPANY})/vendors")
    as_text = {"value": [vendor(balance="1250.50")]}
    plain = "application/json;odata.metadata=minimal"
    with pytest.raises(SpecViolation, match="is not a JSON number"):
        business_central.check_response(
            httpx.Response(200, json=as_text, headers={"content-type": plain}, request=request)
        )
    compatible = {"content-type": plain + ";IEEE754Compatible=true"}
    business_central.check_response(httpx.Response(200, json=as_text, headers=compatible, request=request))


def test_bc_urls_through_company_containment(business_central: ODataContract) -> None:
    target = business_central.check_url(
        f"{BC}/companies({COMPANY})/vendors?$filter=displayName eq 'x' and balance gt 5&$select=id,number"
        "&$expand=currency($select=code)&$count=true"
    )
    assert target is not None
    assert target.type is not None
    assert target.type.name == "vendor"
    with pytest.raises(SpecViolation) as caught:
        business_central.check_url(
            f"{BC}/companies('acme')/vendors?$filter=vendorName eq 'x'&$inlinecount=allpages"
        )
    assert [problem.location for problem in caught.value.problems] == [
        "/path/0",
        "/query/$inlinecount",
        "/query/$filter",
    ]


def test_expanded_navigation_is_checked_against_its_target_type(business_partner: ODataContract) -> None:
    company = {"Supplier": "17300001", "CompanyCode": "1010", "PaymentBlockingReason": "A"}
    expanded = supplier(to_SupplierCompany={"results": [company]})
    business_partner.validate_payload("A_Supplier", {"d": expanded})
    broken = supplier(to_SupplierCompany={"results": [dict(company, CompanyCode="TOO-LONG-CODE")]})
    with pytest.raises(SpecViolation) as caught:
        business_partner.validate_payload("A_Supplier", {"d": broken})
    assert caught.value.location == "/d/to_SupplierCompany/results/0/CompanyCode"
    assert "exceed MaxLength 4" in caught.value.reason


def test_a_201_to_a_post_on_a_collection_is_checked_as_one_entity(
    business_partner: ODataContract, business_central: ODataContract
) -> None:
    create = httpx.Request("POST", f"{BP}/A_Supplier", json={"SupplierName": "New"})
    business_partner.check_response(httpx.Response(201, json={"d": supplier()}, request=create))
    with pytest.raises(SpecViolation) as caught:
        business_partner.check_response(
            httpx.Response(201, json={"d": supplier(CreationDate="2016-08-17")}, request=create)
        )
    assert caught.value.location == "/body/d/CreationDate"
    # A GET on the same collection still needs the collection envelope.
    listing = httpx.Request("GET", f"{BP}/A_Supplier")
    with pytest.raises(SpecViolation, match="a collection was addressed"):
        business_partner.check_response(httpx.Response(200, json={"d": supplier()}, request=listing))
    v4_create = httpx.Request("POST", f"{BC}/companies({COMPANY})/vendors", json={"displayName": "New"})
    business_central.check_response(httpx.Response(201, json=vendor(), request=v4_create))
    with pytest.raises(SpecViolation, match="MaxLength 20"):
        business_central.check_response(httpx.Response(201, json=vendor(number="V" * 21), request=v4_create))
