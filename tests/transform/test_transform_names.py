"""Vendor-name normalisation, fuzzy matching and truncation."""

from __future__ import annotations

import itertools

import pytest

from fincon.errors import ValidationError
from fincon.transform import NameMatch, match_names, name_similarity, normalize_vendor_name, truncate


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ACME Corp., Inc.", "acme"),
        ("Acme Corporation", "acme"),
        ("The Acme Company", "acme"),
        ("Smith & Sons Ltd", "smith and sons"),
        ("Smith and Sons Limited", "smith and sons"),
        ("Smith & Co.", "smith"),
        ("Société Générale S.A.", "societe generale"),
        ("Müller GmbH & Co. KG", "muller"),
        ("O'Brien Plumbing, LLC", "obrien plumbing"),
        ("Coca-Cola", "coca cola"),
        ("Limited Inc", "limited"),
        ("  ACME   Widgets  ", "acme widgets"),
    ],
)
def test_normalize_vendor_name(name: str, expected: str) -> None:
    assert normalize_vendor_name(name) == expected


def test_similarity_scores() -> None:
    assert name_similarity("ACME Corp.", "Acme Corporation") == 1.0
    assert name_similarity("Industrial Supply Acme", "Acme Industrial Supply") == 1.0
    assert name_similarity("Walmart Inc", "Wal-Mart Stores") < 0.9
    assert name_similarity("Wal-Mart", "Walmart") >= 0.95
    assert name_similarity("Acme", "Zenith") < 0.5
    assert 0.8 < name_similarity("Acme Industrial", "Acme Industrials") < 1.0


def test_match_names_returns_scored_candidates_best_first() -> None:
    candidates = ["Apex Corp", "ACME Corp", "Acme Industries", "Acme Corp (Old)"]
    matches = match_names("Acme Corporation", candidates, threshold=0.6)
    assert matches[0] == NameMatch("ACME Corp", 1.0)
    assert all(a.score >= b.score for a, b in itertools.pairwise(matches))
    assert "Apex Corp" not in [m.candidate for m in match_names("Acme Corporation", candidates)]
    assert len(match_names("Acme", candidates, threshold=0.0, limit=2)) == 2


def test_truncate_counts_characters_or_bytes_and_never_splits_a_character() -> None:
    assert truncate("Acme Widgets", 40) == "Acme Widgets"
    assert truncate("Acme Widgets International", 12) == "Acme Widgets"
    assert truncate("Café Müller", 8, encoding="utf-8") == "Café M"
    assert len(truncate("Café Müller", 8, encoding="utf-8").encode()) <= 8
    decomposed = "Cafe\u0301 au lait"  # e + combining acute
    assert truncate(decomposed, 4) == "Caf"
    assert truncate("Acme Widgets International", 15, marker="…") == "Acme Widgets I…"
    assert truncate("Acme Widgets International", 15, marker="…", word_boundary=True) == "Acme Widgets…"
    with pytest.raises(ValidationError, match="max_length"):
        truncate("x", -1, field="memo")
