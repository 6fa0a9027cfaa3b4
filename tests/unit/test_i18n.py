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


def test_counts_take_the_plural_form_of_each_language(catalog: Catalog) -> None:
    """Babel's ngettext chooses the form: one group, two groups (nb, sv and en)."""
    one = {lang: catalog.text(lang, "match.round.failed", count=1) for lang in LANGUAGES}
    many = {lang: catalog.text(lang, "match.round.failed", count=2) for lang in LANGUAGES}
    assert one == {
        "nb": "1 gruppe kunne ikke leveres nå; boten prøver igjen senere.",
        "sv": "1 grupp kunde inte levereras nu; boten försöker igen senare.",
        "en": "1 group could not be delivered now; the bot tries again later.",
    }
    assert many["nb"].startswith("2 grupper") and many["sv"].startswith("2 grupper")
    assert many["en"].startswith("2 groups")
    assert catalog.text("en", "match.round.failed", count=0).startswith("0 groups")
    # Every plural message has a form for every count in every language, with the same
    # placeholders as its singular.
    for lang in LANGUAGES:
        for key in catalog.keys(lang):
            singular = catalog.template(lang, key, count=1)
            for n in (0, 1, 2, 5, 21):
                form = catalog.template(lang, key, count=n)
                assert form is not None and _placeholders(form) == _placeholders(singular or ""), (
                    lang,
                    key,
                    n,
                )
