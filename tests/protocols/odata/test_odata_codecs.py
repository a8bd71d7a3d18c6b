"""Edm codecs: JSON payload values and URL literals, per type and per version."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fincon.core.jsonenc import dumps
from fincon.errors import ServerError, ValidationError
from fincon.protocols.odata import ODataVersion, decode, encode, infer_edm_type, literal
from fincon.protocols.odata.codecs import EDM_TYPES, V2_ONLY, V4_ONLY, format_duration, parse_duration

V2, V4 = ODataVersion.V2, ODataVersion.V4
UTC = timezone.utc
GUID = uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e")
NOON = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

LITERALS: list[tuple[str, Any, ODataVersion, str]] = [
    ("Edm.String", "O'Neil", V2, "'O''Neil'"),
    ("Edm.String", "O'Neil", V4, "'O''Neil'"),
    ("Edm.String", "", V4, "''"),
    ("Edm.Boolean", True, V2, "true"),
    ("Edm.Boolean", False, V4, "false"),
    ("Edm.Byte", 255, V2, "255"),
    ("Edm.SByte", -128, V4, "-128"),
    ("Edm.Byte", 0, V4, "0"),
    ("Edm.SByte", 127, V2, "127"),
    ("Edm.Int16", -5, V2, "-5"),
    ("Edm.Int16", 32767, V4, "32767"),
    ("Edm.Int32", -2026, V2, "-2026"),
    ("Edm.Single", Decimal("0.5"), V4, "0.5"),
    ("Edm.Int32", 2026, V4, "2026"),
    ("Edm.Int64", 9007199254740993, V2, "9007199254740993L"),
    ("Edm.Int64", 9007199254740993, V4, "9007199254740993"),
    ("Edm.Decimal", Decimal("1.50"), V2, "1.50M"),
    ("Edm.Decimal", Decimal("1.50"), V4, "1.50"),
    ("Edm.Decimal", Decimal("1E+3"), V4, "1000"),
    ("Edm.Decimal", Decimal("-0.000001"), V2, "-0.000001M"),
    ("Edm.Double", Decimal("2.5"), V2, "2.5d"),
    ("Edm.Single", Decimal("2.5"), V2, "2.5f"),
    ("Edm.Double", Decimal("2.5"), V4, "2.5"),
    ("Edm.Double", Decimal("Infinity"), V4, "INF"),
    ("Edm.Guid", GUID, V2, f"guid'{GUID}'"),
    ("Edm.Guid", str(GUID), V4, str(GUID)),
    ("Edm.Binary", b"\x01\xff", V2, "X'01FF'"),
    ("Edm.Binary", b"\xfb\xff", V4, "binary'-_8='"),
    ("Edm.DateTime", datetime(2026, 1, 1, tzinfo=UTC), V2, "datetime'2026-01-01T00:00:00'"),
    (
        "Edm.DateTime",
        datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1))),
        V2,
        "datetime'2026-01-01T00:00:00'",
    ),
    ("Edm.DateTime", date(2026, 3, 31), V2, "datetime'2026-03-31T00:00:00'"),
    ("Edm.DateTimeOffset", NOON, V2, "datetimeoffset'2026-01-01T12:00:00Z'"),
    ("Edm.DateTimeOffset", NOON.replace(microsecond=500000), V4, "2026-01-01T12:00:00.5Z"),
    ("Edm.Date", date(2026, 1, 1), V4, "2026-01-01"),
    ("Edm.Time", time(10, 0), V2, "time'PT10H'"),
    ("Edm.Time", time(10, 30, 15), V2, "time'PT10H30M15S'"),
    ("Edm.TimeOfDay", time(10, 30), V4, "10:30:00"),
    ("Edm.Duration", timedelta(hours=1), V4, "duration'PT1H'"),
    ("Edm.Duration", timedelta(days=-1, hours=22), V4, "duration'-PT2H'"),
    ("Edm.String", None, V2, "null"),
    ("Microsoft.NAV.status", "Open", V4, "Microsoft.NAV.status'Open'"),
]


@pytest.mark.parametrize(("edm_type", "value", "version", "expected"), LITERALS)
def test_literal_per_type_and_version(
    edm_type: str, value: Any, version: ODataVersion, expected: str
) -> None:
    assert literal(edm_type, value, version) == expected


def test_every_edm_type_has_a_literal_case_in_each_version_it_exists_in() -> None:
    covered = {(edm_type, version) for edm_type, _, version, _ in LITERALS}
    for edm_type in EDM_TYPES:
        versions = [V2] if edm_type in V2_ONLY else [V4] if edm_type in V4_ONLY else [V2, V4]
        for version in versions:
            assert (edm_type, version) in covered


BAD_LITERALS: list[tuple[str, Any, ODataVersion]] = [
    ("Edm.Decimal", 1.5, V2),  # a float may already have lost a cent
    ("Edm.Decimal", Decimal("NaN"), V4),
    ("Edm.Int32", 2**31, V4),
    ("Edm.Byte", -1, V2),
    ("Edm.Int32", True, V4),
    ("Edm.Int32", Decimal("1.5"), V4),
    ("Edm.String", 5, V2),
    ("Edm.Guid", "not-a-guid", V4),
    ("Edm.DateTimeOffset", datetime(2026, 1, 1), V4),  # naive
    ("Edm.DateTime", datetime(2026, 1, 1), V2),  # naive
    ("Edm.Date", datetime(2026, 1, 1, tzinfo=UTC), V4),
    ("Edm.DateTime", NOON, V4),  # V2 only
    ("Edm.Time", time(1), V4),  # V2 only
    ("Edm.Date", date(2026, 1, 1), V2),  # V4 only
    ("Edm.Duration", 5, V4),
    ("Edm.Geography", "x", V4),
    ("Edm.Double", Decimal("Infinity"), V2),
]


@pytest.mark.parametrize(("edm_type", "value", "version"), BAD_LITERALS)
def test_bad_values_raise_validation_error_naming_the_field(
    edm_type: str, value: Any, version: ODataVersion
) -> None:
    with pytest.raises(ValidationError) as caught:
        literal(edm_type, value, version, field="Amount", system="sap")
    assert caught.value.field == "Amount"
    assert caught.value.system == "sap"


DECODES: list[tuple[str, Any, ODataVersion, Any]] = [
    ("Edm.Decimal", "1234.56", V2, Decimal("1234.56")),
    ("Edm.Decimal", Decimal("0.10"), V4, Decimal("0.10")),
    ("Edm.Decimal", "0.10", V4, Decimal("0.10")),  # IEEE754Compatible
    ("Edm.Int64", "9007199254740993", V2, 9007199254740993),
    ("Edm.Int64", 9007199254740993, V4, 9007199254740993),
    ("Edm.Int32", 7, V4, 7),
    ("Edm.Double", Decimal("1.1"), V4, Decimal("1.1")),
    ("Edm.Double", "INF", V4, Decimal("Infinity")),
    ("Edm.Boolean", True, V2, True),
    ("Edm.Guid", str(GUID).upper(), V4, GUID),
    ("Edm.Binary", "Af8=", V2, b"\x01\xff"),
    ("Edm.Binary", "-_8", V4, b"\xfb\xff"),
    ("Edm.DateTime", "/Date(1767225600000)/", V2, datetime(2026, 1, 1, tzinfo=UTC)),
    ("Edm.DateTime", "/Date(-86400000)/", V2, datetime(1969, 12, 31, tzinfo=UTC)),
    ("Edm.DateTime", "2026-01-01T00:00:00", V2, datetime(2026, 1, 1, tzinfo=UTC)),
    (
        "Edm.DateTimeOffset",
        "/Date(1767225600000+0060)/",
        V2,
        datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    ),
    ("Edm.DateTimeOffset", "2026-01-01T12:00:00Z", V4, NOON),
    (
        "Edm.DateTimeOffset",
        "2026-01-01T13:00:00.1234567+01:00",
        V4,
        datetime(2026, 1, 1, 13, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1))),
    ),
    ("Edm.Date", "2026-02-28", V4, date(2026, 2, 28)),
    ("Edm.Time", "PT10H30M", V2, time(10, 30)),
    ("Edm.Time", "PT0S", V2, time(0)),
    ("Edm.TimeOfDay", "10:30:00.250", V4, time(10, 30, 0, 250000)),
    ("Edm.Duration", "P1DT2H", V4, timedelta(days=1, hours=2)),
    ("Edm.String", None, V4, None),
]


@pytest.mark.parametrize(("edm_type", "value", "version", "expected"), DECODES)
def test_decode_per_type_and_version(edm_type: str, value: Any, version: ODataVersion, expected: Any) -> None:
    decoded = decode(edm_type, value, version)
    assert decoded == expected
    assert type(decoded) is type(expected)
    if isinstance(expected, datetime):
        assert decoded.utcoffset() == expected.utcoffset()


def test_decimals_from_json_never_pass_through_float() -> None:
    body = json.loads('{"Amount": 0.1, "Big": 12345678901234567890.12}', parse_float=Decimal)
    assert decode("Edm.Decimal", body["Amount"], V4) == Decimal("0.1")
    assert str(decode("Edm.Decimal", body["Big"], V4)) == "12345678901234567890.12"


@pytest.mark.parametrize(
    ("edm_type", "value"),
    [
        ("Edm.Decimal", "12,50"),
        ("Edm.Int32", "1.5"),
        ("Edm.Byte", 300),
        ("Edm.Boolean", "yes"),
        ("Edm.Guid", "zzz"),
        ("Edm.DateTime", "/Date(abc)/"),
        ("Edm.DateTimeOffset", "2026-01-01T00:00:00"),  # no offset
        ("Edm.Time", "10:30"),
        ("Edm.Binary", "!!!"),
        ("Edm.String", 5),
    ],
)
def test_malformed_wire_values_raise_server_error(edm_type: str, value: Any) -> None:
    with pytest.raises(ServerError) as caught:
        decode(edm_type, value, V2 if edm_type != "Edm.DateTimeOffset" else V4, field="X", system="sap")
    assert caught.value.code == "malformed_value"
    assert "X" in str(caught.value)


ENCODES: list[tuple[str, Any, ODataVersion, bool, Any]] = [
    ("Edm.Decimal", Decimal("1.50"), V2, False, "1.50"),
    ("Edm.Decimal", Decimal("1.50"), V4, False, Decimal("1.50")),
    ("Edm.Decimal", Decimal("1.50"), V4, True, "1.50"),
    ("Edm.Int64", 5, V2, False, "5"),
    ("Edm.Int64", 5, V4, False, 5),
    ("Edm.Int64", 5, V4, True, "5"),
    ("Edm.DateTime", datetime(2026, 1, 1, tzinfo=UTC), V2, False, "/Date(1767225600000)/"),
    ("Edm.DateTimeOffset", NOON, V2, False, "/Date(1767268800000+0000)/"),
    ("Edm.DateTimeOffset", NOON, V4, False, "2026-01-01T12:00:00Z"),
    ("Edm.Time", time(10, 30), V2, False, "PT10H30M"),
    ("Edm.Guid", GUID, V4, False, str(GUID)),
    ("Edm.Binary", b"\x01\xff", V2, False, "Af8="),
]


@pytest.mark.parametrize(("edm_type", "value", "version", "ieee", "expected"), ENCODES)
def test_encode_per_type_and_version(
    edm_type: str, value: Any, version: ODataVersion, ieee: bool, expected: Any
) -> None:
    encoded = encode(edm_type, value, version, ieee754_compatible=ieee)
    assert encoded == expected
    assert type(encoded) is type(expected)
    dumps({"v": encoded})  # JSON-ready, never a float


def test_naive_datetimes_and_float_amounts_are_refused_when_encoding() -> None:
    with pytest.raises(ValidationError, match="naive"):
        encode("Edm.DateTimeOffset", datetime(2026, 1, 1), V4, field="PostingDate")
    with pytest.raises(ValidationError, match="float"):
        encode("Edm.Decimal", 0.1, V2, field="Amount")


def test_infer_edm_type() -> None:
    assert infer_edm_type("x", V2) == "Edm.String"
    assert infer_edm_type(True, V2) == "Edm.Boolean"
    assert infer_edm_type(2**40, V4) == "Edm.Int64"
    assert infer_edm_type(NOON, V2) == "Edm.DateTime"
    assert infer_edm_type(NOON, V4) == "Edm.DateTimeOffset"
    assert infer_edm_type(date(2026, 1, 1), V4) == "Edm.Date"
    with pytest.raises(ValidationError, match="float"):
        infer_edm_type(1.5, V4)


# -- round trips -------------------------------------------------------------------------------

aware = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**15), max_value=10**15)


@given(value=decimals, version=st.sampled_from([V2, V4]), ieee=st.booleans())
def test_decimal_round_trip_is_exact(value: Decimal, version: ODataVersion, ieee: bool) -> None:
    wire = json.loads(
        dumps({"v": encode("Edm.Decimal", value, version, ieee754_compatible=ieee)}), parse_float=Decimal
    )
    assert decode("Edm.Decimal", wire["v"], version) == value


@given(value=aware, edm_type=st.sampled_from(["Edm.DateTime", "Edm.DateTimeOffset"]))
def test_v2_datetime_round_trip(value: datetime, edm_type: str) -> None:
    assert decode(edm_type, encode(edm_type, value, V2), V2) == value


@given(value=aware)
def test_v4_datetimeoffset_round_trip(value: datetime) -> None:
    assert decode("Edm.DateTimeOffset", encode("Edm.DateTimeOffset", value, V4), V4) == value


@given(value=st.timedeltas(min_value=timedelta(days=-999), max_value=timedelta(days=999)))
def test_duration_round_trip(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


@given(value=st.times())
def test_time_round_trips_in_both_versions(value: time) -> None:
    assert decode("Edm.Time", encode("Edm.Time", value, V2), V2) == value
    assert decode("Edm.TimeOfDay", encode("Edm.TimeOfDay", value, V4), V4) == value


@given(value=st.binary(max_size=64), version=st.sampled_from([V2, V4]))
def test_binary_round_trip(value: bytes, version: ODataVersion) -> None:
    assert decode("Edm.Binary", encode("Edm.Binary", value, version), version) == value


@given(value=st.integers(min_value=-(2**63), max_value=2**63 - 1), version=st.sampled_from([V2, V4]))
def test_int64_round_trip(value: int, version: ODataVersion) -> None:
    assert decode("Edm.Int64", encode("Edm.Int64", value, version), version) == value


@pytest.mark.parametrize("edm_type", ["Edm.Decimal", "Edm.Int64", "Edm.Int32"])
@pytest.mark.parametrize("version", [V2, V4])
def test_a_float_for_an_exact_type_is_refused_on_decode(edm_type: str, version: ODataVersion) -> None:
    # A float here means the JSON was parsed without parse_float=Decimal: digits may be gone.
    with pytest.raises(ServerError, match=r"malformed|not"):
        decode(edm_type, 0.1 if edm_type == "Edm.Decimal" else 3.0, version)
    assert decode("Edm.Double", 0.1, version) == Decimal("0.1")  # approximate types still take one
