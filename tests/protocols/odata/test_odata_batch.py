"""``$batch``: multipart requests read back by the stdlib email parser, responses parsed per operation."""

from __future__ import annotations

import email
import email.policy
import json
from decimal import Decimal

import pytest

from fincon.errors import RemoteValidationError, ServerError, ValidationError
from fincon.protocols.odata import Batch, BatchRequest, ODataVersion, parse_batch_response
from fincon.protocols.odata.batch import raise_for_failures

V2, V4 = ODataVersion.V2, ODataVersion.V4


def _batch() -> Batch:
    batch = Batch(V2, boundary="batch_test")
    batch.get("A_Supplier('1')")
    batch.changeset(
        BatchRequest("POST", "A_SupplierInvoice", {"Amount": Decimal("100.10"), "Text": "Line\r\nTwo"}),
        BatchRequest("MERGE", "A_Supplier('1')", {"Name": "Acme"}, headers={"If-Match": "*"}),
    )
    return batch


def test_request_is_valid_multipart_read_by_an_independent_parser() -> None:
    content, content_type = _batch().build()
    assert content_type == "multipart/mixed; boundary=batch_test"
    assert b"\r\n" in content
    assert b"\n" not in content.replace(b"\r\n", b"")
    message = email.message_from_bytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + content, policy=email.policy.HTTP
    )
    read, changeset = list(message.iter_parts())
    assert read.get_content_type() == "application/http"
    assert read["Content-Transfer-Encoding"] == "binary"
    assert read.get_payload().startswith("GET A_Supplier('1') HTTP/1.1\r\n")
    operations = list(changeset.iter_parts())
    assert [op["Content-ID"] for op in operations] == ["2", "3"]
    post = operations[0].get_payload()
    head, _, body = post.partition("\r\n\r\n")
    assert head.startswith("POST A_SupplierInvoice HTTP/1.1")
    assert "Content-Type: application/json" in head
    assert json.loads(body.rstrip("\r\n"), parse_float=Decimal) == {
        "Amount": Decimal("100.10"),
        "Text": "Line\r\nTwo",
    }
    assert "If-Match: *" in operations[1].get_payload()


def _http(status: str, body: str = "", content_id: str | None = None) -> str:
    cid = f"Content-ID: {content_id}\r\n" if content_id else ""
    length = f"Content-Length: {len(body.encode())}\r\n" if body else ""
    return (
        f"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n{cid}\r\n"
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{length}\r\n{body}\r\n"
    )


def test_successful_response_maps_to_operations_in_order() -> None:
    batch = _batch()
    answer = (
        "--resp\r\n" + _http("200 OK", '{"d": {"Supplier": "1"}}') + "--resp\r\n"
        "Content-Type: multipart/mixed; boundary=cs\r\n\r\n"
        "--cs\r\n"
        + _http("204 No Content", content_id="3")
        + "--cs\r\n"
        + _http("201 Created", '{"d": {"SupplierInvoice": "51"}}', content_id="2")
        + "--cs--\r\n--resp--\r\n"
    ).encode()
    results = parse_batch_response(batch, answer, "multipart/mixed; boundary=resp")
    assert [r.response.status for r in results] == [200, 201, 204]  # matched by Content-ID
    assert [r.request.method for r in results] == ["GET", "POST", "MERGE"]
    assert results[1].response.json() == {"d": {"SupplierInvoice": "51"}}
    assert [r.changeset for r in results] == [None, 0, 0]
    raise_for_failures(results, system="sap")


def test_a_failed_change_set_fails_as_a_whole() -> None:
    batch = _batch()
    error = json.dumps({"error": {"code": "F5/1", "message": {"value": "Period closed"}}})
    answer = (
        "--resp\n"
        + _http("200 OK", "{}").replace("\r\n", "\n")
        + "--resp\n"
        + _http("400 Bad Request", error).replace("\r\n", "\n")
        + "--resp--\n"
    ).encode()
    results = parse_batch_response(batch, answer, 'multipart/mixed; boundary="resp"')
    assert [r.ok for r in results] == [True, False, False]
    assert results[1].response is results[2].response
    failure = results[2].error(system="sap")
    assert isinstance(failure, RemoteValidationError)
    assert failure.message == "Period closed"
    with pytest.raises(RemoteValidationError):
        raise_for_failures(results, system="sap")


@pytest.mark.parametrize(
    "answer",
    [b"", b"--resp\r\nnot http\r\n--resp--", b"--resp\r\n" + _http("200 OK").encode()],
)
def test_unreadable_answers_raise_server_error(answer: bytes) -> None:
    with pytest.raises(ServerError) as caught:
        parse_batch_response(_batch(), answer, "multipart/mixed; boundary=resp", system="sap")
    assert caught.value.code == "malformed_batch"


@pytest.mark.parametrize(
    "request_",
    [
        BatchRequest("POST", "A\r\nGET /secret HTTP/1.1", {}),
        BatchRequest("POST", "A", {}, headers={"X": "v\r\nInjected: 1"}),
        BatchRequest("POST", "A B", {}),
        BatchRequest("PO ST", "A", {}),
        BatchRequest("POST", "A", {"amount": 1.5}),
    ],
)
def test_line_breaks_spaces_and_floats_are_refused(request_: BatchRequest) -> None:
    with pytest.raises(ValidationError):
        Batch(V2).changeset(request_).build()


def test_reads_only_outside_and_writes_only_inside_change_sets() -> None:
    with pytest.raises(ValidationError):
        Batch(V2).add(BatchRequest("POST", "A"))
    with pytest.raises(ValidationError):
        Batch(V2).changeset(BatchRequest("GET", "A"))
    with pytest.raises(ValidationError):
        Batch(V2).build()


def test_v4_json_batch_round_trip_with_atomicity_groups() -> None:
    batch = Batch(V4)
    batch.get("vendors?$top=1")
    batch.changeset(
        BatchRequest("POST", "vendors", {"displayName": "Acme", "balance": Decimal("0.10")}),
        BatchRequest("PATCH", "vendors(1)", {"displayName": "B"}, headers={"If-Match": "*"}),
    )
    content, content_type = batch.build_json()
    assert content_type == "application/json"
    sent = json.loads(content, parse_float=Decimal)["requests"]
    assert [r["id"] for r in sent] == ["r1", "2", "3"]
    assert [r.get("atomicityGroup") for r in sent] == [None, "g1", "g1"]
    assert sent[1]["body"]["balance"] == Decimal("0.10")
    ok = {
        "responses": [
            {"id": "r1", "status": 200, "body": {"value": []}},
            {"id": "2", "status": 201, "body": {}},
            {"id": "3", "status": 200},
        ]
    }
    assert all(r.ok for r in parse_batch_response(batch, json.dumps(ok).encode(), "application/json"))
    failed = {
        "responses": [
            {"id": "r1", "status": 200, "body": {"value": []}},
            {"id": "3", "status": 412, "body": {"error": {"code": "x", "message": "stale"}}},
        ]
    }
    results = parse_batch_response(batch, json.dumps(failed).encode(), "application/json; charset=utf-8")
    assert [r.response.status for r in results] == [200, 412, 412]
    with pytest.raises(ValidationError):
        Batch(V2).build_json()
