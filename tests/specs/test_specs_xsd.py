"""XmlSchemaContract on Sage Intacct's v3.0 api.xsd."""

from __future__ import annotations

import pytest
from lxml import etree

from fincon.testing.specs import SpecLoadError, SpecViolation, XmlSchemaContract, require_spec


def read_by_query(*, object_name: str | None = "VENDOR") -> etree._Element:
    """A minimal Intacct 3.0 request: control, operation/authentication, content/function/readByQuery."""
    request = etree.Element("request")
    control = etree.SubElement(request, "control")
    for name, text in [
        ("senderid", "fincon"),
        ("password", "s3cret"),
        ("controlid", "c-1"),
        ("uniqueid", "false"),
        ("dtdversion", "3.0"),
    ]:
        etree.SubElement(control, name).text = text
    operation = etree.SubElement(request, "operation")
    etree.SubElement(etree.SubElement(operation, "authentication"), "sessionid").text = "session-1"
    function = etree.SubElement(etree.SubElement(operation, "content"), "function", controlid="f-1")
    query = etree.SubElement(function, "readByQuery")
    fields = [("fields", "RECORDNO,VENDORID"), ("query", "STATUS = 'T'"), ("pagesize", "100")]
    if object_name is not None:
        fields.insert(0, ("object", object_name))
    for name, text in fields:
        etree.SubElement(query, name).text = text
    return request


def test_the_schema_only_compiles_with_its_upa_patch(intacct: XmlSchemaContract) -> None:
    assert intacct.patches_applied == {"intacct-arguments-upa": 1}
    with pytest.raises(SpecLoadError, match="not determinist"):
        XmlSchemaContract(intacct.path, patches=())


def test_a_minimal_read_by_query_request_validates(intacct: XmlSchemaContract) -> None:
    intacct.validate(read_by_query())
    intacct.validate(etree.tostring(read_by_query(), xml_declaration=True, encoding="UTF-8"))


def test_a_broken_request_fails_with_the_element_path(intacct: XmlSchemaContract) -> None:
    broken = read_by_query(object_name=None)
    etree.SubElement(broken.find("operation/content/function/readByQuery"), "limit").text = "5"
    with pytest.raises(SpecViolation) as caught:
        intacct.validate(broken, what="readByQuery request")
    message = str(caught.value)
    assert message.startswith("readByQuery request violates XML Schema sage-intacct/v3.0/api.xsd:")
    assert "/request/operation/content/function/readByQuery/limit" in message
    assert "Element 'limit': This element is not expected" in message


def test_errors_in_xml_text_carry_line_numbers(intacct: XmlSchemaContract) -> None:
    text = etree.tostring(read_by_query(), pretty_print=True).replace(b"<sessionid>", b"<session>")
    text = text.replace(b"</sessionid>", b"</session>")
    line = text.split(b"\n").index(next(row for row in text.split(b"\n") if b"<session>" in row)) + 1
    problems = intacct.problems(text)
    assert [problem.location for problem in problems] == [
        f"line {line}, /request/operation/authentication/session"
    ]
    assert "Expected is one of ( login, sessionid, oauth )" in problems[0].reason
    [truncated] = intacct.problems(b"<request><control>")
    assert truncated.reason.startswith("not well-formed XML")


def test_external_entities_are_reported_not_expanded(intacct: XmlSchemaContract) -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE request [<!ENTITY leak SYSTEM "file:///etc/hostname">]>'
        b"<request>&leak;</request>"
    )
    assert [str(problem) for problem in intacct.problems(hostile)] == [
        "at line 1: entity references are not expanded: &leak;"
    ]


def test_the_sample_response_cannot_validate_because_api_xsd_declares_requests_only(
    intacct: XmlSchemaContract,
) -> None:
    # api.xsd declares <request> as its only root; responses were covered by the 2.1 response DTD.
    sample = require_spec("sage-intacct/samples/InspectClassResponse.xml").read_bytes()
    problems = intacct.problems(sample)
    no_root = "Element 'response': No matching global declaration available for the validation root."
    assert [(problem.location, problem.reason) for problem in problems] == [("line 2, /response", no_root)]
