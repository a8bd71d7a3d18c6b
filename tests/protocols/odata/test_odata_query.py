"""The query builder: output per version, metadata checks, key predicates and injection."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fincon.errors import NotFound, Unsupported, ValidationError
from fincon.protocols.odata import (
    F,
    ODataVersion,
    Query,
    and_,
    desc,
    key_predicate,
    not_,
    or_,
    parse_metadata,
)
from fincon.protocols.odata.query import Raw
from fincon.testing.specs import specs_dir

V2, V4 = ODataVersion.V2, ODataVersion.V4
UTC = timezone.utc


def test_v2_query_renders_sap_literals_and_inlinecount() -> None:
    query = (
        Query(V2)
        .filter(F("Supplier") == "1000", F("CreationDate") >= datetime(2026, 1, 1, tzinfo=UTC))
        .filter(F("Amount") > Decimal("1.50"))
        .select("Supplier", "SupplierName")
        .expand("to_SupplierCompany")
        .orderby("Supplier", desc("CreationDate"))
        .top(50)
        .skip(100)
        .count()
    )
    assert query.params() == {
        "$filter": (
            "(Supplier eq '1000') and (CreationDate ge datetime'2026-01-01T00:00:00') and (Amount gt 1.50M)"
        ),
        "$select": "Supplier,SupplierName",
        "$expand": "to_SupplierCompany",
        "$orderby": "Supplier,CreationDate desc",
        "$top": "50",
        "$skip": "100",
        "$inlinecount": "allpages",
    }


def test_v4_query_renders_bare_literals_count_and_search() -> None:
    guid = uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e")
    query = (
        Query(V4)
        .filter(F("id").in_([guid]), F("postingDate") >= date(2026, 1, 1), F("number").contains("INV"))
        .count()
        .search('net "30"')
    )
    params = query.params()
    assert params["$filter"] == (
        f"(id in ({guid})) and (postingDate ge 2026-01-01) and (contains(number,'INV'))"
    )
    assert params["$count"] == "true"
    assert params["$search"] == '"net \\"30\\""'


def test_string_functions_and_boolean_operators_per_version() -> None:
    expr = (F("Name").startswith("A") | F("Name").endswith("Z")) & ~(F("City") == "Rome")
    assert Query(V4).filter(expr).params()["$filter"] == (
        "((startswith(Name,'A')) or (endswith(Name,'Z'))) and (not (City eq 'Rome'))"
    )
    assert Query(V2).filter(F("Name").contains("x")).params()["$filter"] == "substringof('x',Name) eq true"
    assert Query(V2).filter(F("Code").in_(["A", "B"])).params()["$filter"] == "(Code eq 'A' or Code eq 'B')"
    combined = and_(F("a") == 1, or_(F("b") == 2, not_(F("c") == None)))  # noqa: E711 - builds "eq null"
    assert Query(V4).filter(combined).params()["$filter"] == "(a eq 1) and ((b eq 2) or (not (c eq null)))"
    assert (
        Query(V4).filter(Raw("lines/any(l: l/amount gt 0)")).params()["$filter"]
        == "(lines/any(l: l/amount gt 0))"
    )


def test_python_and_or_on_expressions_is_refused() -> None:
    with pytest.raises(TypeError, match=r"use & and \|"):
        bool(F("a") == 1)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Query(V4).filter(F("a b") == 1).params(),
        lambda: Query(V4).filter(F("a);x") == 1).params(),
        lambda: Query(V4).select("a,b"),
        lambda: Query(V4).orderby("a sideways"),
        lambda: Query(V4).orderby("a&$top=1"),
        lambda: Query(V4).expand("x&y"),
        lambda: Query(V4).top(-1),
        lambda: Query(V4).top(True),
        lambda: Query(V4).option("$filter", "x"),
        lambda: Query(V4).option("a=b", "x"),
        lambda: Query(V4).filter(F("a") > None).params(),
        lambda: Query(V4).filter(F("a").in_([])).params(),
        lambda: Query(V4).filter(F("amount") == 1.5).params(),
        lambda: Query(V4).filter("a eq 1"),  # type: ignore[arg-type]
    ],
)
def test_invalid_names_and_values_are_refused(build: object) -> None:
    with pytest.raises(ValidationError):
        build()  # type: ignore[operator]


def test_search_is_v4_only() -> None:
    with pytest.raises(Unsupported):
        Query(V2).search("x")


def test_query_is_immutable() -> None:
    base = Query(V4).top(5)
    narrowed = base.filter(F("a") == 1)
    assert "$filter" not in base.params()
    assert "$filter" in narrowed.params()


# -- injection -----------------------------------------------------------------------------------

hostile = st.lists(
    st.sampled_from([*"'\"&#%?=()+/ ,;$\\\n\tab", "é", "€", "\u2028", " or ", " eq ", "%27", "&$top=1"])
    | st.text(max_size=3),
    max_size=12,
).map("".join)


def _parsed(query: Query) -> list[tuple[str, str]]:
    text = query.to_query_string()
    assert "#" not in text
    assert " " not in text
    assert "+" not in text
    return parse_qsl(text, keep_blank_values=True, strict_parsing=True)


def _string_literal_back(rendered: str) -> str:
    assert rendered.startswith("'")
    assert rendered.endswith("'")
    inner = rendered[1:-1]
    # Inside a literal, every quote is doubled; a lone quote would end the literal early.
    assert "'" not in inner.replace("''", "")
    return inner.replace("''", "'")


@given(value=hostile, version=st.sampled_from([V2, V4]))
def test_no_filter_value_can_change_the_query(value: str, version: ODataVersion) -> None:
    params = _parsed(Query(version).filter(F("Name") == value).top(5))
    assert [name for name, _ in params] == ["$filter", "$top"]
    filter_text = params[0][1]
    prefix = "Name eq "
    assert filter_text.startswith(prefix)
    assert _string_literal_back(filter_text[len(prefix) :]) == value
    assert params[1] == ("$top", "5")


@given(value=hostile, version=st.sampled_from([V2, V4]))
def test_no_function_argument_can_change_the_query(value: str, version: ODataVersion) -> None:
    params = _parsed(Query(version).filter(F("Name").contains(value)).select("Name"))
    assert [name for name, _ in params] == ["$filter", "$select"]
    text = params[0][1]
    if version.is_v4:
        assert text.startswith("contains(Name,")
        assert text.endswith(")")
        assert _string_literal_back(text[len("contains(Name,") : -1]) == value
    else:
        assert text.startswith("substringof(")
        assert text.endswith(",Name) eq true")
        assert _string_literal_back(text[len("substringof(") : -len(",Name) eq true")]) == value


@given(value=hostile)
def test_no_search_text_or_option_value_can_change_the_query(value: str) -> None:
    params = _parsed(Query(V4).search(value).option("sap-language", value))
    assert [name for name, _ in params] == ["$search", "sap-language"]
    assert params[1][1] == value
    phrase = params[0][1]
    assert phrase.startswith('"')
    assert phrase.endswith('"')
    assert phrase[1:-1].replace('\\"', "").count('"') == 0


@given(a=hostile, b=hostile)
def test_no_key_value_can_escape_its_predicate(a: str, b: str) -> None:
    predicate = key_predicate(("CompanyCode", "Document"), {"CompanyCode": a, "Document": b}, V2)
    assert not any(char in predicate for char in "/?#& ")
    decoded = unquote(predicate)
    assert decoded.startswith("(CompanyCode='")
    assert decoded.endswith("')")
    first, _, second = decoded[1:-1].partition(",Document=")
    # The split is unambiguous: the first value's commas and quotes stay inside its literal.
    assert _string_literal_back(first[len("CompanyCode=") :]) == a
    assert _string_literal_back(second) == b


# -- key predicates ------------------------------------------------------------------------------


def test_key_predicates_single_composite_and_typed() -> None:
    assert key_predicate(["Supplier"], "100", V2) == "('100')"
    assert key_predicate(["id"], uuid.UUID(int=1), V4) == "(00000000-0000-0000-0000-000000000001)"
    assert (
        key_predicate({"id": "Edm.Guid"}, str(uuid.UUID(int=1)), V2)
        == "(guid'00000000-0000-0000-0000-000000000001')"
    )
    composite = key_predicate(
        ["CompanyCode", "FiscalYear"], {"FiscalYear": "2026", "CompanyCode": "1010"}, V2
    )
    assert composite == "(CompanyCode='1010',FiscalYear='2026')"
    assert key_predicate(["CompanyCode", "FiscalYear"], ("1010", "2026"), V4) == composite
    assert key_predicate(["Doc"], "51/00", V2) == "('51%2F00')"
    for bad in ({"CompanyCode": "1010"}, {"CompanyCode": "1", "FiscalYear": "2", "X": "3"}, "1010"):
        with pytest.raises(ValidationError):
            key_predicate(["CompanyCode", "FiscalYear"], bad, V2)


# -- against real metadata ------------------------------------------------------------------------


def _sap(name: str) -> Path:
    root = specs_dir()
    path = root / "sap-s4hana" / name if root else None
    if path is None or not path.is_file():
        pytest.skip(f"sap-s4hana/{name} not found ($FINCON_SPECS or ../shared/specs)")
    return path


def test_metadata_types_the_literals_and_checks_names() -> None:
    metadata = parse_metadata(_sap("API_SUPPLIERINVOICE_PROCESS_SRV.edmx").read_bytes())
    query = Query.for_entity_set(metadata, "A_SupplierInvoice", system="sap")
    params = query.filter(
        F("DocumentDate") >= date(2026, 1, 1),
        F("InvoiceGrossAmount") >= 100,  # an int, written as the property's Edm.Decimal
        F("FiscalYear") == "2026",
    ).params()
    assert params["$filter"] == (
        "(DocumentDate ge datetime'2026-01-01T00:00:00') and (InvoiceGrossAmount ge 100M) "
        "and (FiscalYear eq '2026')"
    )
    with pytest.raises(ValidationError) as caught:
        query.filter(F("InvoiceGrosAmount") > 1).params()
    assert caught.value.field == "InvoiceGrosAmount"
    assert caught.value.system == "sap"
    assert "A_SupplierInvoice" in str(caught.value)
    with pytest.raises(ValidationError, match=r"Edm\.Decimal"):
        query.filter(F("InvoiceGrossAmount") > "1; drop").params()
    with pytest.raises(ValidationError, match="navigation"):
        query.expand("SupplierInvoice")
    with pytest.raises(NotFound):
        Query.for_entity_set(metadata, "A_Nope")
    invoice = metadata.entity_type_of("A_SupplierInvoice")
    assert key_predicate(invoice, {"SupplierInvoice": "5100000001", "FiscalYear": "2026"}, V2) == (
        "(SupplierInvoice='5100000001',FiscalYear='2026')"
    )


def test_sap_filterable_and_sortable_annotations_are_enforced() -> None:
    path = _sap("API_BUSINESS_PARTNER.edmx")
    metadata = parse_metadata(path.read_bytes())
    found = [
        (set_name, prop)
        for set_name, entity_set in metadata.entity_sets.items()
        for prop in metadata.entity_type(entity_set.entity_type).properties.values()
        if not prop.filterable
    ]
    if not found:
        pytest.skip("no sap:filterable=false property in API_BUSINESS_PARTNER.edmx")
    set_name, prop = found[0]
    assert f'Name="{prop.name}"' in path.read_text(encoding="utf-8")
    with pytest.raises(ValidationError, match="not filterable"):
        Query.for_entity_set(metadata, set_name).filter(F(prop.name) == None).params()  # noqa: E711


def test_v4_expand_items_may_carry_nested_select_and_expand() -> None:
    from fincon.protocols.odata import ODataVersion, Query

    q = Query(ODataVersion.V4).expand("Lines($select=Id,Amount;$expand=Dimensions($select=Code))")
    assert q.params()["$expand"] == "Lines($select=Id,Amount;$expand=Dimensions($select=Code))"
    assert "%3D" in q.to_query_string()  # '=' inside the option is percent-encoded


@pytest.mark.parametrize(
    "item",
    [
        "Lines($filter=Amount gt 1)",  # only $select and $expand are nested
        "Lines($expand=Dimensions",  # unbalanced
        "Lines($expand=Dims)&$top=1)",
        "Lines($select=Id;$expand=x y)",
        "Lines($expand=Dims))($expand=X)",
    ],
)
def test_nested_expand_options_that_could_change_the_query_are_refused(item: str) -> None:
    from fincon.errors import ValidationError
    from fincon.protocols.odata import ODataVersion, Query

    with pytest.raises(ValidationError):
        Query(ODataVersion.V4).expand(item)


def test_nested_expand_options_are_v4_only() -> None:
    from fincon.errors import ValidationError
    from fincon.protocols.odata import ODataVersion, Query

    with pytest.raises(ValidationError, match="V4"):
        Query(ODataVersion.V2).expand("to_Item($expand=to_Account)")
