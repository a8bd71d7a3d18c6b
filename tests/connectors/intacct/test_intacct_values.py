"""Intacct's text values: dates and GMT timestamps, strictly parsed; leaf fields flattened."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincon.connectors.intacct._values import flatten, format_timestamp, parse_date, parse_timestamp
from fincon.connectors.intacct._xml import parse_xml


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "01/02/2026 03:04:05"),
        (datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))), "12/31/2025 22:30:00"),
        (datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), "12/31/0999 23:59:59"),
    ],
)
def test_timestamps_are_written_in_gmt_and_read_back_aware(value: datetime, text: str) -> None:
    assert format_timestamp(value) == text
    again = parse_timestamp(text, "WHENMODIFIED")
    assert again == value.replace(microsecond=0)
    assert again is not None
    assert again.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["1/02/2026 03:04:05", "01/02/2026T03:04:05", "02/30/2026 03:04:05", "01/02/2026 24:00:00",
     "\u0660\u0661/02/2026 03:04:05", "01/02/2026 03:04:05 ", "2026-01-02 03:04:05"],
)  # fmt: skip
def test_anything_but_the_exact_timestamp_form_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text, "WHENMODIFIED")


def test_dates_are_strict_month_day_year() -> None:
    assert parse_date("02/29/2024", "WHENDUE") == date(2024, 2, 29)
    assert parse_date("", "WHENDUE") is None
    for text in ("02/29/2025", "2/9/2024", "2024-02-29", "02/29/2024 00:00:00"):
        with pytest.raises(ValueError):
            parse_date(text, "WHENDUE")


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError):
        format_timestamp(datetime(2026, 1, 1))


def test_flatten_keeps_every_leaf_by_dotted_path_and_skips_comments() -> None:
    node = parse_xml(
        b"<VENDOR><NAME>A &amp; B</NAME><!-- a comment --><EMPTY/><C><D>1</D><E><F>2</F></E></C>"
        b"<LINES><L>x</L></LINES></VENDOR>"
    )
    assert flatten(node, skip="LINES") == {"NAME": "A & B", "EMPTY": "", "C.D": "1", "C.E.F": "2"}


_REFERENCE_TIMESTAMP = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def _reference_timestamp(text: str) -> datetime | None:
    """The timestamp rule written the slow, obvious way: the exact pattern, then a real date."""
    if _REFERENCE_TIMESTAMP.fullmatch(text) is None:
        return None
    try:
        return datetime(
            int(text[6:10]), int(text[0:2]), int(text[3:5]), int(text[11:13]), int(text[14:16]),
            int(text[17:19]), tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None


@st.composite
def _near_timestamps(draw: st.DrawFn) -> str:
    """A real timestamp with a few positions replaced by characters a parser might let through."""
    chars = list(draw(st.datetimes(min_value=datetime(1, 1, 1))).strftime("%m/%d/%Y %H:%M:%S").rjust(19, "0"))
    odd = st.sampled_from("0123456789/ :-T+.,Wz\u0660\uff11\t")
    for _ in range(draw(st.integers(0, 3))):
        chars[draw(st.integers(0, 18))] = draw(odd)
    cut = draw(st.sampled_from([None, None, None, 18, 20]))
    text = "".join(chars)
    return text[:cut] if cut != 20 else text + draw(odd)


@settings(max_examples=1000, deadline=None)
@given(_near_timestamps())
def test_timestamps_parse_exactly_as_the_pattern_says(text: str) -> None:
    expected = _reference_timestamp(text)
    if expected is None:
        with pytest.raises(ValueError, match="WHENMODIFIED is not an MM/DD/YYYY HH:MM:SS timestamp"):
            parse_timestamp(text, "WHENMODIFIED")
    else:
        assert parse_timestamp(text, "WHENMODIFIED") == expected
