"""``$metadata`` parsing: every vendor file parses, checked against an independent stdlib read."""

from __future__ import annotations

import time
import xml.etree.ElementTree as StdET
from pathlib import Path

import pytest

from fincon.errors import NotFound, ServerError
from fincon.protocols.odata import MetadataCache, ODataVersion, parse_metadata
from fincon.testing.specs import specs_dir

SAP = "http://www.sap.com/Protocols/SAPData"
SPECS = specs_dir()
SAP_FILES = sorted((SPECS / "sap-s4hana").glob("*.edmx")) if SPECS else []
BC_FILE = SPECS / "dynamics365-bc/api-v2.0/metadata.xml" if SPECS else None
ALL_FILES = [*SAP_FILES, *([BC_FILE] if BC_FILE and BC_FILE.is_file() else [])]
needs_specs = pytest.mark.skipif(
    not ALL_FILES, reason="vendor specs not found ($FINCON_SPECS or ../shared/specs)"
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _truth(path: Path) -> dict[str, dict[str, object]]:
    """Per entity type (qualified): keys, own properties with type and SAP flags, navigation names."""
    root = StdET.parse(path).getroot()
    out: dict[str, dict[str, object]] = {}
    for schema in root.iter():
        if _local(schema.tag) != "Schema":
            continue
        namespace = schema.get("Namespace")
        for entity in schema:
            if _local(entity.tag) != "EntityType":
                continue
            keys = [ref.get("Name") for key in entity if _local(key.tag) == "Key" for ref in key]
            props = {
                p.get("Name"): (
                    p.get("Type"),
                    p.get(f"{{{SAP}}}creatable"),
                    p.get(f"{{{SAP}}}updatable"),
                    p.get(f"{{{SAP}}}filterable"),
                    p.get(f"{{{SAP}}}label"),
                )
                for p in entity
                if _local(p.tag) == "Property"
            }
            navs = [n.get("Name") for n in entity if _local(n.tag) == "NavigationProperty"]
            out[f"{namespace}.{entity.get('Name')}"] = {
                "keys": keys,
                "props": props,
                "navs": navs,
                "base": entity.get("BaseType"),
            }
    return out


@needs_specs
@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_vendor_metadata_file_parses_and_matches_an_independent_read(path: Path) -> None:
    metadata = parse_metadata(path.read_bytes(), source=path.name)
    truth = _truth(path)
    assert set(metadata.entity_types) == set(truth)
    expected_version = (
        ODataVersion.V4 if 'Version="4.0"' in path.read_text(encoding="utf-8")[:400] else ODataVersion.V2
    )
    assert metadata.version is expected_version
    for qualified, fact in truth.items():
        entity = metadata.entity_types[qualified]
        if fact["base"] is None:
            assert list(entity.keys) == fact["keys"], qualified
            assert set(entity.properties) == set(fact["props"]), qualified  # type: ignore[arg-type]
        for name, (edm_type, creatable, updatable, filterable, label) in fact["props"].items():  # type: ignore[attr-defined]
            prop = entity.properties[name]
            assert prop.edm_type == edm_type, (qualified, name)  # no schema in these files uses an alias
            assert prop.creatable is (creatable != "false")
            assert prop.updatable is (updatable != "false")
            assert prop.filterable is (filterable != "false")
            assert prop.label == label
        assert set(fact["navs"]) <= set(entity.navigation)  # type: ignore[arg-type]
    for entity_set in metadata.entity_sets.values():
        assert metadata.entity_type_of(entity_set.name).qualified_name == entity_set.entity_type


@needs_specs
def test_sap_navigation_resolves_association_ends_and_multiplicity() -> None:
    path = next((p for p in SAP_FILES if p.name == "API_SUPPLIERINVOICE_PROCESS_SRV.edmx"), None)
    if path is None:
        pytest.skip("API_SUPPLIERINVOICE_PROCESS_SRV.edmx not in the specs")
    metadata = parse_metadata(path.read_bytes())
    invoice = metadata.entity_type_of("A_SupplierInvoice")
    assert invoice.keys == ("SupplierInvoice", "FiscalYear")
    text = path.read_text(encoding="utf-8")
    for nav in invoice.navigation.values():
        assert nav.target_type is not None
        assert nav.target_type in metadata.entity_types
        # The association's end for the target role says "*" exactly when the nav leads to many.
        assert nav.many == (f'Type="{nav.target_type}" Multiplicity="*"' in text)
    assert any(nav.many for nav in invoice.navigation.values())
    amount = invoice.properties["InvoiceGrossAmount"]
    assert (amount.edm_type, amount.precision, amount.scale) == ("Edm.Decimal", 14, 3)
    imports = metadata.function_imports
    assert imports["Post"].http_method == "POST"
    assert imports["Post"].kind == "action"


@needs_specs
def test_sap_entity_set_annotations_are_read() -> None:
    path = next((p for p in SAP_FILES if p.name == "API_COMPANYCODE_SRV.edmx"), None)
    if path is None:
        pytest.skip("API_COMPANYCODE_SRV.edmx not in the specs")
    metadata = parse_metadata(path.read_bytes())
    company_codes = metadata.entity_set("A_CompanyCode")
    assert (
        'EntitySet Name="A_CompanyCode" EntityType="API_COMPANYCODE_SRV.A_CompanyCodeType" '
        'sap:creatable="false"' in (path.read_text(encoding="utf-8"))
    )
    assert (company_codes.creatable, company_codes.updatable, company_codes.deletable) == (
        False,
        False,
        False,
    )
    assert metadata.entity_type("A_CompanyCodeType").properties["CompanyCode"].max_length == 4


@needs_specs
def test_business_central_bound_actions_enums_and_contained_navigation() -> None:
    if BC_FILE is None or not BC_FILE.is_file():
        pytest.skip("dynamics365-bc/api-v2.0/metadata.xml not in the specs")
    metadata = parse_metadata(BC_FILE.read_bytes())
    assert metadata.version is ODataVersion.V4
    invoice = metadata.entity_type("purchaseInvoice")
    assert invoice.keys == ("id",)
    assert invoice.properties["id"].edm_type == "Edm.Guid"
    assert "post" in {op.name for op in metadata.bound_operations(invoice)}
    lines = invoice.navigation["purchaseInvoiceLines"]
    assert lines.many
    assert lines.target_type == "Microsoft.NAV.purchaseInvoiceLine"
    company = metadata.entity_type("company")
    assert company.navigation["vendors"].contains_target
    assert metadata.enum_types, "BC declares enum types"
    for enum in metadata.enum_types.values():
        assert enum.members
    with pytest.raises(NotFound):
        metadata.entity_set("no_such_set")


# -- hostile and malformed input ---------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE edmx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx">
<edmx:DataServices><Schema Namespace="X"><EntityType Name="&xxe;"/></Schema>
</edmx:DataServices></edmx:Edmx>"""

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx">'
    b'<edmx:DataServices><Schema Namespace="X"><EntityType Name="&lol9;"/></Schema>'
    b"</edmx:DataServices></edmx:Edmx>"
)


@pytest.mark.parametrize("document", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_hostile_metadata_is_refused_quickly_with_a_typed_error(document: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(ServerError) as caught:
        parse_metadata(document, source="https://evil.example/$metadata", system="sap")
    assert time.perf_counter() - started < 1.0
    assert caught.value.code == "malformed_metadata"
    assert caught.value.system == "sap"
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd


@pytest.mark.parametrize(
    "document",
    [b"", b"not xml", b"<html><body>login</body></html>", b"<edmx:Edmx xmlns:edmx='urn:x' Version='1.0'/>"],
    ids=["empty", "text", "html", "no-dataservices"],
)
def test_malformed_metadata_raises_server_error(document: bytes) -> None:
    with pytest.raises(ServerError, match="cannot parse the OData \\$metadata"):
        parse_metadata(document)


def test_oversized_metadata_is_refused_before_parsing() -> None:
    with pytest.raises(ServerError, match="larger than"):
        parse_metadata(b"<a/>" * 100, max_bytes=64)


MINIMAL_V4 = b"""<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
<edmx:DataServices><Schema Namespace="Shop" Alias="S" xmlns="http://docs.oasis-open.org/odata/ns/edm">
<EntityType Name="Base"><Key><PropertyRef Name="id"/></Key>
<Property Name="id" Type="Edm.Guid" Nullable="false"/></EntityType>
<EntityType Name="Order" BaseType="S.Base">
<Property Name="total" Type="Edm.Decimal" Precision="19" Scale="Variable"/>
<NavigationProperty Name="lines" Type="Collection(S.Line)"/></EntityType>
<EntityType Name="Line"><Key><PropertyRef Name="id"/></Key><Property Name="id" Type="Edm.Int32"/></EntityType>
<EntityContainer Name="C"><EntitySet Name="orders" EntityType="S.Order"/></EntityContainer>
</Schema></edmx:DataServices></edmx:Edmx>"""


def test_inheritance_aliases_and_variable_scale() -> None:
    metadata = parse_metadata(MINIMAL_V4)
    order = metadata.entity_type_of("orders")
    assert order.qualified_name == "Shop.Order"
    assert order.base_type == "Shop.Base"
    assert order.keys == ("id",)  # inherited
    assert order.properties["total"].scale is None
    assert order.properties["total"].precision == 19
    assert order.navigation["lines"].target_type == "Shop.Line"
    assert metadata.entity_type("S.Order") is order
    assert metadata.entity_type("Order") is order


def test_metadata_cache_loads_once_per_service_and_expires() -> None:
    now = [0.0]
    cache = MetadataCache(ttl=60, timer=lambda: now[0])
    loads: list[str] = []

    def load() -> object:
        loads.append("x")
        return parse_metadata(MINIMAL_V4)

    first = cache.get_or_load("https://h/svc/", load)  # type: ignore[arg-type]
    assert cache.get_or_load("https://h/svc/", load) is first  # type: ignore[arg-type]
    cache.get_or_load("https://h/other/", load)  # type: ignore[arg-type]
    assert len(loads) == 2
    now[0] = 61.0
    cache.get_or_load("https://h/svc/", load)  # type: ignore[arg-type]
    assert len(loads) == 3
    cache.invalidate()
    assert len(cache) == 0
