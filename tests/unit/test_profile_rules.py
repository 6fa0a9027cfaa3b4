"""What /introduce accepts and what a server may add to its taxonomy (pure rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.profiles import (
    FIELDS,
    LIMITS,
    MAX_OPTIONS,
    clean_introduction,
    selected_interests,
    server_entry,
)
from bot.domain.taxonomy import added_entry, load_taxonomy, merge_taxonomy
from bot.errors import BadInput
from bot.i18n import LANGUAGES, Catalog


def test_texts_are_trimmed_and_one_line_fields_collapsed() -> None:
    clean = clean_introduction(
        {
            "display_name": "  Kari \n Nordmann ",
            "organisation": None,
            "role": "\u200b",
            "offers": "  line one  \n\n line two \n",
        }
    )
    assert clean.values == {
        "display_name": "Kari Nordmann",
        "organisation": "",
        "role": "",
        "offers": "line one\n\n line two",
        "seeks": "",
    }
    assert clean.clipped == ()


@pytest.mark.parametrize("name", ["", "   ", "\n\t", "\u200b\u200b", "\u3000"])
def test_a_blank_display_name_is_refused(name: str) -> None:
    with pytest.raises(BadInput) as caught:
        clean_introduction({"display_name": name, "offers": "kept?"})
    assert caught.value.key == "profile.error.empty_name"


@given(st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=3000)))
def test_every_kept_text_fits_its_limit(raw: dict[str, str]) -> None:
    try:
        clean = clean_introduction(raw)
    except BadInput:
        return
    for name in FIELDS:
        assert len(clean.values[name]) <= LIMITS[name]
        if name in clean.clipped:
            assert clean.values[name].endswith("…")


def test_over_long_texts_are_clipped_and_named() -> None:
    clean = clean_introduction({"display_name": "Kari", "offers": "x" * 2000})
    assert clean.clipped == ("offers",)
    assert len(clean.values["offers"]) == LIMITS["offers"]


def test_one_select_changes_only_its_own_keys() -> None:
    current = ("elderly", "language", "zz_beyond_the_list")
    offered = ("elderly", "refugees")
    assert selected_interests(current, offered, ("refugees",)) == (
        "language",
        "refugees",
        "zz_beyond_the_list",
    )
    assert selected_interests(current, offered, ()) == ("language", "zz_beyond_the_list")


def test_a_new_sector_and_a_relabelled_one() -> None:
    base = load_taxonomy()
    entry, new = server_entry(base, "sector", "faith", {"nb": "Tro"}, "#aa5500")
    assert new and entry.colour == "#aa5500" and entry.label("nb") == "Tro"
    renamed, new = server_entry(base, "sector", "business", {"en": "Industry"})
    assert not new
    assert renamed.label("en") == "Industry"
    assert renamed.label("sv") == base.label("business", "sv")  # other languages kept
    assert renamed.colour == base.colour("business")  # colour kept when not given
    target, new = server_entry(base, "theme", "elderly", {"nb": "Eldre"})
    assert not new and target.kind == "target_group"


@pytest.mark.parametrize(
    ("kind", "key", "labels", "colour", "error"),
    [
        ("sector", "faith", {}, None, "setup.error.no_label"),
        ("sector", "faith", {"nb": " \u200b "}, None, "setup.error.no_label"),
        ("sector", "faith", {"nb": "x" * 81}, None, "setup.error.label_too_long"),
        ("sector", "Faith", {"nb": "Tro"}, None, "setup.error.bad_key"),
        ("sector", "9lives", {"nb": "Tro"}, None, "setup.error.bad_key"),
        ("sector", "faith", {"nb": "Tro"}, "red", "setup.error.bad_colour"),
        ("theme", "business", {"en": "Business"}, None, "setup.error.key_taken"),
        ("sector", "language", {"en": "Language"}, None, "setup.error.key_taken"),
    ],
)
def test_bad_additions_are_refused_with_a_key(
    kind: str, key: str, labels: dict[str, str], colour: str | None, error: str
) -> None:
    with pytest.raises(BadInput) as caught:
        server_entry(load_taxonomy(), kind, key, labels, colour)  # type: ignore[arg-type]
    assert caught.value.key == error


def test_a_full_list_refuses_new_keys_but_not_renames() -> None:
    base = load_taxonomy()
    extra = [
        added_entry("sector", f"extra{n}", {"en": f"Extra {n}"})
        for n in range(MAX_OPTIONS - len(base.sectors))
    ]
    full = merge_taxonomy(base, extra)
    with pytest.raises(BadInput) as caught:
        server_entry(full, "sector", "one_more", {"en": "One more"})
    assert caught.value.key == "setup.error.taxonomy_full"
    _, new = server_entry(full, "sector", "extra0", {"en": "Renamed"})
    assert not new


def test_form_and_list_texts_fit_discord_limits(catalog: Catalog) -> None:
    limits = {"profile.modal.title": 45, "profile.followup.done": 80}
    for name in FIELDS:
        limits[f"profile.field.{name}"] = 45  # modal labels
        limits[f"profile.modal.{name}.placeholder"] = 100
    for part in ("sector", "target_group", "theme", "matching"):
        limits[f"profile.select.{part}"] = 150
    limits |= {"profile.matching.yes": 100, "profile.matching.no": 100}
    for lang in LANGUAGES:
        for key, limit in limits.items():
            assert catalog.has(key, lang), (key, lang)
            assert len(catalog.text(lang, key)) <= limit, (key, lang)
