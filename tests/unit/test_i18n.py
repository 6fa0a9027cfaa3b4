"""Every message exists in every shipped language, and placeholders agree."""

from __future__ import annotations

import string

from bot.i18n import LANGUAGES, Catalog, all_keys, catalogue_domains


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_domain_ships_in_every_language() -> None:
    for domain, langs in catalogue_domains().items():
        assert langs == set(LANGUAGES), f"{domain} is missing in {set(LANGUAGES) - langs}"


def test_every_key_is_translated_in_every_language() -> None:
    keys = all_keys()
    union = set().union(*keys.values())
    for lang in LANGUAGES:
        missing = sorted(union - keys[lang])
        assert not missing, f"{lang} lacks {missing[:20]}"


def test_placeholders_match_across_languages(catalog: Catalog) -> None:
    for key in catalog.keys("nb"):
        expected = _placeholders(catalog.text("nb", key))
        for lang in LANGUAGES[1:]:
            assert _placeholders(catalog.text(lang, key)) == expected, (key, lang)


def test_fallback_to_key_and_default_language(catalog: Catalog) -> None:
    assert catalog.text("en", "no.such.key") == "no.such.key"
    assert catalog.text("xx", "setup.saved") == catalog.text("nb", "setup.saved")


def test_parameters_are_filled(catalog: Catalog) -> None:
    text = catalog.text("en", "setup.error.bad_timezone", zone="Oslo")
    assert "Oslo" in text
