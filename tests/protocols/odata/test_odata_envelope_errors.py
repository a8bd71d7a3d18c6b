"""Envelopes (V2 ``d``/``d.results``, V4 ``value``) and OData error bodies into fincon errors."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fincon.errors import Conflict, NotFound, RateLimited, RemoteValidationError, ServerError
from fincon.protocols.odata import ODataVersion, etag_of, parse_odata_error, unwrap_collection, unwrap_entity
from fincon.protocols.odata.envelope import expanded_items, strip_annotations

V2, V4 = ODataVersion.V2, ODataVersion.V4


def test_v2_collection_with_next_and_count() -> None:
    body = {"d": {"results": [{"Supplier": "1"}], "__count": "42", "__next": "https://h/s/A?$skiptoken=1"}}
    page = unwrap_collection(body, V2)
    assert page.items == [{"Supplier": "1"}]
    assert (page.count, page.next_link) == (42, "https://h/s/A?$skiptoken=1")
    assert unwrap_collection({"d": [{"a": 1}]}, V2).items == [{"a": 1}]


def test_v4_collection_with_next_count_and_delta() -> None:
    body = {
        "@odata.context": "x",
        "value": [{"id": "a"}],
        "@odata.count": 7,
        "@odata.nextLink": "n",
        "@odata.deltaLink": "d",
    }
    page = unwrap_collection(body, V4)
    assert (page.items, page.count, page.next_link, page.delta_link) == ([{"id": "a"}], 7, "n", "d")
    assert page.annotations["@odata.context"] == "x"


@pytest.mark.parametrize(
    ("body", "version"),
    [
        ({"value": []}, V2),
        ({"d": {"Supplier": "1"}}, V2),
        ({"d": {"results": "x"}}, V2),
        ({"d": {"results": []}}, V4),
        ({"value": [1, 2]}, V4),
        ({"value": [], "@odata.count": "many"}, V4),
        ({"value": [], "@odata.nextLink": 5}, V4),
        ([], V4),
    ],
)
def test_malformed_collections_raise_server_error(body: Any, version: ODataVersion) -> None:
    with pytest.raises(ServerError) as caught:
        unwrap_collection(body, version, system="sap")
    assert caught.value.code == "malformed_response"
    assert caught.value.system == "sap"


def test_entities_and_etags() -> None:
    v2 = {"d": {"__metadata": {"etag": "W/\"datetime'2026'\""}, "Supplier": "1", "to_X": {"__deferred": {}}}}
    entity = unwrap_entity(v2, V2)
    assert etag_of(entity, V2) == "W/\"datetime'2026'\""
    assert strip_annotations(entity) == {"Supplier": "1"}
    v4 = {"@odata.etag": 'W/"JzQ0OzE3MDs="', "id": "x", "amount@odata.type": "#Decimal"}
    assert etag_of(unwrap_entity(v4, V4), V4) == 'W/"JzQ0OzE3MDs="'
    assert strip_annotations(v4) == {"id": "x"}
    assert etag_of({"id": 1}) is None
    assert expanded_items({"results": [{"a": 1}]}) == [{"a": 1}]
    assert expanded_items([{"a": 1}]) == [{"a": 1}]
    assert expanded_items({"__deferred": {"uri": "u"}}) is None
    for bad, version in (({"d": {"results": []}}, V2), ({"value": []}, V4), ({"x": 1}, V2), ("s", V4)):
        with pytest.raises(ServerError):
            unwrap_entity(bad, version)


# -- errors --------------------------------------------------------------------------------------


def _response(status: int, body: bytes, content_type: str = "application/json") -> httpx.Response:
    return httpx.Response(
        status, content=body, headers={"content-type": content_type, "sap-request-id": "r-1"}
    )


V2_ERROR = {
    "error": {
        "code": "ZFI/042",
        "message": {"lang": "en", "value": "Posting period 013 is not open"},
        "innererror": {
            "transactionid": "ABC",
            "errordetails": [
                {
                    "code": "ZFI/042",
                    "message": "Posting period 013 is not open",
                    "severity": "error",
                    "target": "",
                },
                {
                    "code": "F5/702",
                    "message": "Balance in transaction currency",
                    "severity": "error",
                    "target": "Amount",
                },
            ],
        },
    }
}
V4_ERROR = {
    "error": {
        "code": "BadRequest",
        "message": "Invalid vendor",
        "target": "vendorNumber",
        "details": [
            {
                "code": "Internal_RecordNotFound",
                "message": "Vendor 10000 does not exist",
                "target": "vendorNumber",
            }
        ],
    }
}
V2_XML = b"""<?xml version="1.0" encoding="utf-8"?>
<error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
<code>SY/530</code><message xml:lang="en">Resource not found for segment 'A_Supplier'</message>
<innererror><transactionid>T1</transactionid><errordetails><errordetail><code>SY/530</code>
<message>Supplier 999 does not exist</message><severity>error</severity><target/></errordetail>
</errordetails></innererror></error>"""


def test_v2_json_error_with_errordetails() -> None:
    error = parse_odata_error(_response(400, json.dumps(V2_ERROR).encode()), system="sap", version=V2)
    assert isinstance(error, RemoteValidationError)
    assert error.code == "ZFI/042"
    assert error.status == 400
    assert error.request_id == "r-1"
    assert error.message == "Posting period 013 is not open (Balance in transaction currency)"
    assert [d["code"] for d in error.details["details"]] == ["ZFI/042", "F5/702"]
    assert error.details["details"][1]["target"] == "Amount"
    assert error.details["innererror"]["transactionid"] == "ABC"


def test_v4_json_error_with_details() -> None:
    error = parse_odata_error(_response(404, json.dumps(V4_ERROR).encode()), system="dynamics", version=V4)
    assert isinstance(error, NotFound)
    assert (error.code, error.details["target"]) == ("BadRequest", "vendorNumber")
    assert error.message == "Invalid vendor (Vendor 10000 does not exist)"
    assert error.details["details"][0]["code"] == "Internal_RecordNotFound"


def test_v2_xml_error() -> None:
    error = parse_odata_error(_response(404, V2_XML, "application/xml"), system="sap")
    assert isinstance(error, NotFound)
    assert error.code == "SY/530"
    assert error.message.startswith("Resource not found for segment 'A_Supplier'")
    assert error.details["details"][0]["message"] == "Supplier 999 does not exist"


@pytest.mark.parametrize(
    ("status", "cls"), [(409, Conflict), (412, Conflict), (429, RateLimited), (503, ServerError)]
)
def test_status_decides_the_class(status: int, cls: type) -> None:
    error = parse_odata_error(_response(status, json.dumps(V4_ERROR).encode()), system="dynamics")
    assert type(error) is cls
    assert error is not None
    assert error.retryable == (status in (429, 503))


def test_success_statuses_are_not_errors() -> None:
    assert parse_odata_error(_response(200, b'{"error": {"message": "x"}}'), system="sap") is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body>Bad gateway</body></html>",
        b"{not json",
        b'{"error": "just a string"}',
        b'{"error": {"message": {"value": ["nested"]}, "details": "x"}}',
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><error><message>&x;</message></error>',
        b"[1, 2, 3]",
        b"\xff\xfe\x00garbage",
    ],
)
def test_garbage_bodies_never_crash(body: bytes) -> None:
    error = parse_odata_error(_response(502, body, "text/html"), system="sap")
    assert isinstance(error, ServerError)
    assert error.status == 502
    assert "root:" not in error.message


@given(
    body=st.binary(max_size=200)
    | st.from_type(dict).map(lambda d: json.dumps({"error": d}, default=str).encode())
)
def test_arbitrary_bodies_never_crash(body: bytes) -> None:
    error = parse_odata_error(_response(400, body), system="sap")
    assert isinstance(error, RemoteValidationError)


def test_error_amounts_stay_decimal() -> None:
    body = b'{"error": {"code": "X", "message": "m", "innererror": {"amount": 0.1}}}'
    error = parse_odata_error(_response(400, body), system="sap")
    assert error is not None
    assert error.details["innererror"]["amount"] == Decimal("0.1")
