"""The shipped taxonomy loads, is labelled in every language, and servers can extend it."""

from __future__ import annotations

import pytest

from bot.domain.taxonomy import (
    TaxonomyError,
    added_entry,
    load_taxonomy,
    merge_taxonomy,
    parse_taxonomy,
)
from bot.i18n import LANGUAGES


def test_shipped_keys_and_labels() -> None:
    taxonomy = load_taxonomy()
    assert {
        "civil_society",
        "business",
        "public_sector",
        "research_education",
        "other",
    } == taxonomy.sector_keys
    assert {
        "elderly",
        "children_youth",
        "refugees",
        "labour_migrants",
        "outside_work",
    } <= taxonomy.interest_keys
    assert {
        "work_training",
        "language",
        "housing",
        "culture_sport",
        "health",
        "belonging_identity",
    } <= taxonomy.interest_keys
    for entry in taxonomy.sectors + taxonomy.interests:
        assert {lang for lang, _ in entry.labels} == set(LANGUAGES)
    for sector in taxonomy.sectors:
        assert sector.colour is not None and sector.colour.startswith("#")
    assert taxonomy.label("public_sector", "en") == "Municipality and public sector"
    assert taxonomy.label("unknown_key", "sv") == "unknown_key"


def test_merge_adds_and_overrides_without_touching_base() -> None:
    base = load_taxonomy()
    merged = merge_taxonomy(
        base,
        [
            added_entry("theme", "food", {"nb": "Mat"}),
            added_entry("sector", "business", {"en": "Trade"}, "#000000"),
        ],
    )
    assert "food" in merged.interest_keys and "food" not in base.interest_keys
    assert merged.label("food", "en") == "Mat"  # falls back to Norwegian
    assert merged.label("business", "en") == "Trade"
    assert merged.label("business", "nb") == base.label("business", "nb")
    assert merged.colour("business") == "#000000"
    with pytest.raises(TaxonomyError):
        merge_taxonomy(base, [added_entry("theme", "business", {"nb": "x"})])


def test_bad_taxonomies() -> None:
    with pytest.raises(TaxonomyError):
        parse_taxonomy({"sectors": {"Bad Key": {"nb": "x"}}})
    with pytest.raises(TaxonomyError):
        parse_taxonomy({"sectors": {"a": {"nb": "x", "colour": "red"}}})
    with pytest.raises(TaxonomyError):
        parse_taxonomy({"sectors": {}})
