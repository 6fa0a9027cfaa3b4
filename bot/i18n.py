"""Message catalogues: gettext .po files read with Babel, one lookup per language.

Catalogues live in `bot/locales/<lang>/LC_MESSAGES/<domain>.po`, one domain per feature
(core, meetings, matching, reminders, reports …) so features do not edit the same file.
All domains of a language are merged. Message ids are symbolic keys (`setup.saved`), and
every shipped language must translate every key (a test checks this). Placeholders use
`str.format` names: `{channel}`. A message shown with a count has plural forms
(`msgid_plural` and `msgstr[0]`, `msgstr[1]`, …, the id of the plural being the key plus
`.plural`): `_("key", count=n)` picks the form by the language's gettext rule (Babel's
`ngettext`), so "1 group" and "2 groups" both read right in nb, sv and en.

Babel compiles each catalogue in memory (read_po → write_mo → Translations), so there is
no build step and never a stale .mo file.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Protocol, runtime_checkable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = ("nb", "sv", "en")
DEFAULT_LANGUAGE = "nb"

# Babel locale names used for dates and numbers.
BABEL_LOCALES: Mapping[str, str] = {"nb": "nb_NO", "sv": "sv_SE", "en": "en_GB"}

# Discord client locales → our languages.
DISCORD_LOCALES: Mapping[str, str] = {
    "no": "nb",
    "sv-SE": "sv",
    "en-US": "en",
    "en-GB": "en",
}


def language_for_discord_locale(locale: str | None) -> str | None:
    if locale is None:
        return None
    return DISCORD_LOCALES.get(locale)


@dataclass(frozen=True, slots=True)
class Entry:
    domain: str
    key: str
    text: str
    # A message with plural forms (`msgid_plural`, `msgstr[n]`): the form for a count,
    # chosen by the language's gettext rule (Babel's `ngettext`); `text` is the singular.
    plural: Callable[[int], str] | None = None


def _locale_root() -> Traversable:
    return resources.files("bot").joinpath("locales")


class Catalog:
    """All runtime text, per language. Build once with `Catalog.load()` and share."""

    def __init__(
        self,
        entries: Mapping[str, Mapping[str, str]],
        plurals: Mapping[str, Mapping[str, Callable[[int], str]]] | None = None,
    ) -> None:
        self._entries = entries
        self._plurals = plurals or {}

    @classmethod
    def load(cls) -> Catalog:
        merged: dict[str, dict[str, str]] = {}
        plurals: dict[str, dict[str, Callable[[int], str]]] = {}
        for lang in LANGUAGES:
            entries = read_entries(lang)
            merged[lang] = {e.key: e.text for e in entries}
            plurals[lang] = {e.key: e.plural for e in entries if e.plural is not None}
        return cls(merged, plurals)

    def keys(self, lang: str) -> set[str]:
        return set(self._entries.get(lang, {}))

    def has(self, key: str, lang: str = DEFAULT_LANGUAGE) -> bool:
        return key in self._entries.get(lang, {})

    def template(self, lang: str, key: str, /, count: int | None = None) -> str | None:
        """The message `key` in `lang` unformatted (for a plural message, the form for
        `count`), falling back to Norwegian; None when no language has it."""
        table = self._entries.get(lang) or self._entries.get(DEFAULT_LANGUAGE, {})
        template = table.get(key)
        if template is None:
            template = self._entries.get(DEFAULT_LANGUAGE, {}).get(key)
        if template is not None and count is not None:
            forms = self._plurals.get(lang) or self._plurals.get(DEFAULT_LANGUAGE, {})
            if key in forms:
                template = forms[key](count)
        return template

    def text(self, lang: str, key: str, /, **params: Any) -> str:
        """The message `key` in `lang`, falling back to Norwegian, then to the key itself."""
        count = params.get("count")
        template = self.template(
            lang,
            key,
            count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        )
        if template is None:
            log.warning("missing message %r for %s", key, lang)
            return key
        if not params:
            return template
        params = {
            name: value.localise(Text(self, lang)) if isinstance(value, Localised) else value
            for name, value in params.items()
        }
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            log.warning("message %r for %s has a bad placeholder", key, lang)
            return template

    def translator(self, lang: str) -> Text:
        return Text(self, lang)


@runtime_checkable
class Localised(Protocol):
    """A message parameter whose words depend on the language it is shown in (e.g. the
    names of Discord permissions): `Catalog.text` asks it for its text in that language."""

    def localise(self, _: Text) -> str: ...


@dataclass(frozen=True, slots=True)
class Text:
    """A catalogue bound to one language: `_("key", name=...)`."""

    catalog: Catalog
    lang: str

    def __call__(self, key: str, /, **params: Any) -> str:
        return self.catalog.text(self.lang, key, **params)

    def has(self, key: str) -> bool:
        return self.catalog.has(key, self.lang)


def read_entries(lang: str) -> list[Entry]:
    """Every message of every domain for `lang`, compiled through Babel."""
    folder = _locale_root().joinpath(lang, "LC_MESSAGES")
    entries: list[Entry] = []
    if not folder.is_dir():
        return entries
    for po_file in sorted(folder.iterdir(), key=lambda p: p.name):
        if not po_file.name.endswith(".po"):
            continue
        domain = po_file.name.removesuffix(".po")
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=BABEL_LOCALES[lang], domain=domain)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        translations = Translations(fp=buffer, domain=domain)
        for message in catalog:
            if not message.id:
                continue
            if isinstance(message.id, tuple):  # plural forms, chosen by `count`
                singular, plural_id = message.id[0], message.id[1]
                if not isinstance(message.string, tuple | list) or not all(message.string):
                    continue  # a form untranslated: left out, so the completeness test sees it
                entries.append(
                    Entry(
                        domain,
                        singular,
                        translations.ngettext(singular, plural_id, 1),
                        functools.partial(translations.ngettext, singular, plural_id),
                    )
                )
                continue
            if not isinstance(message.id, str):
                continue
            text = translations.gettext(message.id)
            if text == message.id and not message.string:
                continue  # untranslated: left out, so the completeness test sees it
            entries.append(Entry(domain, message.id, text))
    return entries


def catalogue_domains() -> dict[str, set[str]]:
    """domain name → languages that ship it (for the completeness test)."""
    found: dict[str, set[str]] = {}
    for lang in LANGUAGES:
        folder = _locale_root().joinpath(lang, "LC_MESSAGES")
        if not folder.is_dir():
            continue
        for po_file in folder.iterdir():
            if po_file.name.endswith(".po"):
                found.setdefault(po_file.name.removesuffix(".po"), set()).add(lang)
    return found


def all_keys() -> dict[str, set[str]]:
    """lang → every key it translates."""
    return {lang: {e.key for e in read_entries(lang)} for lang in LANGUAGES}
