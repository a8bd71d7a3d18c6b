"""Date codecs: known values, refusals, and round trips for every codec (hypothesis)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fincon.errors import ValidationError
from fincon.transform import (
    format_eu_date,
    format_iso_date,
    format_iso_datetime,
    format_sap_date,
    format_sap_datetime,
    format_unix_timestamp,
    format_us_date,
    parse_eu_date,
    parse_iso_date,
    parse_iso_datetime,
    parse_sap_date,
    parse_sap_datetime,
    parse_unix_timestamp,
    parse_us_date,
)

UTC = dt.timezone.utc
dates = st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m))
)
# SAP and Unix seconds keep milliseconds / seconds: draw values at that precision.
epoch_millis = st.integers(min_value=-62_000_000_000_000, max_value=250_000_000_000_000)


def test_known_values() -> None:
    assert parse_iso_date("2026-01-31") == dt.date(2026, 1, 31)
    assert parse_us_date("01/31/2026") == dt.date(2026, 1, 31)
    assert parse_us_date("1/5/2026") == dt.date(2026, 1, 5)
    assert parse_eu_date("31.01.2026") == dt.date(2026, 1, 31)
    assert parse_sap_datetime("/Date(1700000000000)/") == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    with_offset = parse_sap_datetime("/Date(1700000000000+0060)/")
    assert with_offset.utcoffset() == dt.timedelta(minutes=60)
    assert with_offset == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parse_sap_datetime("\\/Date(-1000)\\/") == dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert parse_sap_date("/Date(1769817600000)/") == dt.date(2026, 1, 31)
    assert format_sap_datetime(with_offset, with_offset=True) == "/Date(1700000000000+0060)/"
    assert parse_unix_timestamp(1700000000) == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parse_unix_timestamp("1700000000") == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parse_iso_datetime("2026-01-31T10:00:00Z") == dt.datetime(2026, 1, 31, 10, tzinfo=UTC)
    assert format_iso_datetime(dt.datetime(2026, 1, 31, 10, tzinfo=UTC)) == "2026-01-31T10:00:00Z"


@pytest.mark.parametrize(
    ("parser", "text"),
    [
        (parse_iso_date, "2026-02-30"),
        (parse_iso_date, "31/01/2026"),
        (parse_us_date, "13/01/2026"),
        (parse_us_date, "2026-01-31"),
        (parse_eu_date, "31/01/2026"),
        (parse_eu_date, "32.01.2026"),
        (parse_sap_datetime, "/Date(abc)/"),
        (parse_sap_datetime, "1700000000000"),
        (parse_sap_date, "/Date(1700000000000)/"),  # not midnight UTC: not a calendar date
        (parse_iso_datetime, "2026-01-31T10:00:00"),  # naive
    ],
)
def test_invalid_input_is_refused_naming_the_field(parser: object, text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parser(text, field="issue_date")  # type: ignore[operator]
    assert caught.value.field == "issue_date"
    assert text in caught.value.message


def test_naive_timestamps_need_an_explicit_zone() -> None:
    assert parse_iso_datetime("2026-01-31T10:00:00", assume_tz=UTC) == dt.datetime(
        2026, 1, 31, 10, tzinfo=UTC
    )
    with pytest.raises(ValidationError, match="timezone"):
        format_unix_timestamp(dt.datetime(2026, 1, 1))


def test_unix_timestamp_refuses_float() -> None:
    with pytest.raises(ValidationError, match="Unix timestamp"):
        parse_unix_timestamp(1700000000.5)  # type: ignore[arg-type]


@given(dates)
def test_calendar_date_codecs_round_trip(value: dt.date) -> None:
    assert parse_iso_date(format_iso_date(value)) == value
    assert parse_us_date(format_us_date(value)) == value
    assert parse_eu_date(format_eu_date(value)) == value
    assert parse_sap_date(format_sap_date(value)) == value


@given(st.sampled_from(["iso", "us", "eu"]), dates)
def test_formatted_text_round_trips(codec: str, value: dt.date) -> None:
    fmt, parse = {
        "iso": (format_iso_date, parse_iso_date),
        "us": (format_us_date, parse_us_date),
        "eu": (format_eu_date, parse_eu_date),
    }[codec]
    text = fmt(value)
    assert fmt(parse(text)) == text


@given(epoch_millis, offsets)
def test_sap_datetime_round_trips_both_ways(millis: int, zone: dt.timezone) -> None:
    moment = (dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=millis)).astimezone(zone)
    plain = format_sap_datetime(moment)
    assert parse_sap_datetime(plain) == moment
    offset_text = format_sap_datetime(moment, with_offset=True)
    parsed = parse_sap_datetime(offset_text)
    assert parsed == moment
    assert parsed.utcoffset() == moment.utcoffset()
    assert format_sap_datetime(parsed, with_offset=True) == offset_text


@given(st.integers(min_value=-62_000_000_000, max_value=250_000_000_000), offsets)
def test_unix_seconds_round_trip(seconds: int, zone: dt.timezone) -> None:
    moment = parse_unix_timestamp(seconds)
    assert format_unix_timestamp(moment) == seconds
    assert format_unix_timestamp(moment.astimezone(zone)) == seconds


@given(st.datetimes(timezones=offsets, min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 1, 1)))
def test_iso_datetime_round_trips(moment: dt.datetime) -> None:
    parsed = parse_iso_datetime(format_iso_datetime(moment))
    assert parsed == moment
    assert parsed.utcoffset() == moment.utcoffset()
