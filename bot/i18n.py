"""Message catalogues: gettext .po files read with Babel, one lookup per language.

Catalogues live in `bot/locales/<lang>/LC_MESSAGES/<domain>.po`, one domain per feature
(core, meetings, matching, reminders, reports …) so features do not edit the same file.
All domains of a language are merged. Message ids are symbolic keys (`setup.saved`), and
every shipped language must translate every key (a test checks this). Placeholders use
`str.format` names: `{channel}`.

Babel compiles each catalogue in memory (read_po → write_mo → Translations), so there is
no build step and never a stale .mo file.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

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


def _locale_root() -> Traversable:
    return resources.files("bot").joinpath("locales")


class Catalog:
    """All runtime text, per language. Build once with `Catalog.load()` and share."""

    def __init__(self, entries: Mapping[str, Mapping[str, str]]) -> None:
        self._entries = entries

    @classmethod
    def load(cls) -> Catalog:
        merged: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            merged[lang] = {e.key: e.text for e in read_entries(lang)}
        return cls(merged)

    def keys(self, lang: str) -> set[str]:
        return set(self._entries.get(lang, {}))

    def has(self, key: str, lang: str = DEFAULT_LANGUAGE) -> bool:
        return key in self._entries.get(lang, {})

    def text(self, lang: str, key: str, /, **params: Any) -> str:
        """The message `key` in `lang`, falling back to Norwegian, then to the key itself."""
        table = self._entries.get(lang) or self._entries.get(DEFAULT_LANGUAGE, {})
        template = table.get(key)
        if template is None:
            template = self._entries.get(DEFAULT_LANGUAGE, {}).get(key)
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


class Localised:
    """A message parameter whose words depend on the language it is shown in (e.g. the
    names of Discord permissions): `Catalog.text` asks it for its text in that language."""

    def localise(self, _: Text) -> str:
        raise NotImplementedError


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
            if not message.id or not isinstance(message.id, str):
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
