"""The taxonomy: sectors, target groups and themes, with labels in nb, sv and en.

The shipped taxonomy lives in `config/taxonomy.toml` (read with tomllib). Each entry has a
stable key (stored in profiles, used in files) and labels per language; sectors also have a
colour (hex) for the introduction card. Interests are target groups and themes together.

A server may extend the taxonomy: `merge_taxonomy(base, added)` returns a new taxonomy with
the server's entries appended. An added entry with a key that already exists replaces the
labels it gives (and the colour, if given); shipped keys are never removed. Everything here
is pure: frozen dataclasses in, frozen dataclasses out.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES

Kind = Literal["sector", "target_group", "theme"]
KINDS: tuple[Kind, ...] = ("sector", "target_group", "theme")
_TABLES: Mapping[Kind, str] = {
    "sector": "sectors",
    "target_group": "target_groups",
    "theme": "themes",
}

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "taxonomy.toml"
DEFAULT_COLOUR = "#616161"
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


class TaxonomyError(ValueError):
    """The taxonomy file or a server extension is malformed (an operator error)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One sector, target group or theme. `labels` is ((lang, text), …)."""

    kind: Kind
    key: str
    labels: tuple[tuple[str, str], ...]
    colour: str | None = None  # sectors only

    def label(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The label in `lang`, else Norwegian, else English, else the key."""
        table = dict(self.labels)
        for candidate in (lang, DEFAULT_LANGUAGE, "en"):
            if candidate in table:
                return table[candidate]
        return self.key


@dataclass(frozen=True, slots=True)
class Taxonomy:
    sectors: tuple[Entry, ...]
    target_groups: tuple[Entry, ...]
    themes: tuple[Entry, ...]

    @property
    def interests(self) -> tuple[Entry, ...]:
        return self.target_groups + self.themes

    @property
    def sector_keys(self) -> frozenset[str]:
        return frozenset(e.key for e in self.sectors)

    @property
    def interest_keys(self) -> frozenset[str]:
        return frozenset(e.key for e in self.interests)

    def entries(self, kind: Kind) -> tuple[Entry, ...]:
        if kind == "sector":
            return self.sectors
        if kind == "target_group":
            return self.target_groups
        return self.themes

    def find(self, key: str) -> Entry | None:
        for entry in self.sectors + self.interests:
            if entry.key == key:
                return entry
        return None

    def label(self, key: str, lang: str = DEFAULT_LANGUAGE) -> str:
        """The label of any key in `lang`; an unknown key is shown as itself."""
        entry = self.find(key)
        return key if entry is None else entry.label(lang)

    def colour(self, sector: str) -> str:
        entry = self.find(sector)
        if entry is None or entry.colour is None:
            return DEFAULT_COLOUR
        return entry.colour


def _entry(kind: Kind, key: str, raw: Any) -> Entry:
    if not _KEY.match(key):
        raise TaxonomyError(f"bad key {key!r}: lower-case letters, digits and _ only")
    if not isinstance(raw, Mapping):
        raise TaxonomyError(f"{kind} {key!r} must be a table")
    labels = tuple((lang, str(raw[lang])) for lang in LANGUAGES if lang in raw)
    if not labels:
        raise TaxonomyError(f"{kind} {key!r} has no label in {', '.join(LANGUAGES)}")
    colour = raw.get("colour")
    if colour is not None and (not isinstance(colour, str) or not _COLOUR.match(colour)):
        raise TaxonomyError(f"{kind} {key!r} has a bad colour {colour!r} (want #RRGGBB)")
    if kind == "sector" and colour is None:
        colour = DEFAULT_COLOUR
    return Entry(kind=kind, key=key, labels=labels, colour=colour)


def parse_taxonomy(data: Mapping[str, Any]) -> Taxonomy:
    """A taxonomy from parsed TOML (tables `sectors`, `target_groups`, `themes`)."""
    parts: dict[Kind, tuple[Entry, ...]] = {}
    seen: set[str] = set()
    for kind in KINDS:
        table = data.get(_TABLES[kind], {})
        if not isinstance(table, Mapping):
            raise TaxonomyError(f"[{_TABLES[kind]}] must be a table")
        entries = tuple(_entry(kind, key, raw) for key, raw in table.items())
        for entry in entries:
            if entry.key in seen:
                raise TaxonomyError(f"key {entry.key!r} is used twice")
            seen.add(entry.key)
        parts[kind] = entries
    if not parts["sector"]:
        raise TaxonomyError("the taxonomy has no sectors")
    return Taxonomy(parts["sector"], parts["target_group"], parts["theme"])


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read the shipped taxonomy (or the file at `path`)."""
    target = DEFAULT_PATH if path is None else path
    try:
        with target.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise TaxonomyError(f"{target}: {exc}") from None
    return parse_taxonomy(data)


def added_entry(
    kind: Kind, key: str, labels: Mapping[str, str], colour: str | None = None
) -> Entry:
    """A server-added entry, validated like the shipped ones."""
    raw: dict[str, Any] = dict(labels)
    if colour is not None:
        raw["colour"] = colour
    return _entry(kind, key, raw)


def merge_taxonomy(base: Taxonomy, added: Iterable[Entry]) -> Taxonomy:
    """`base` extended with a server's entries (pure; `base` is unchanged).

    A new key is appended to its kind. An existing key of the same kind gets the added
    labels (per language) and colour; an existing key of another kind is an error.
    """
    parts: dict[Kind, list[Entry]] = {kind: list(base.entries(kind)) for kind in KINDS}
    for entry in added:
        existing: Entry | None = None
        for kind in KINDS:
            for index, current in enumerate(parts[kind]):
                if current.key == entry.key:
                    existing = current
                    if kind != entry.kind:
                        raise TaxonomyError(f"key {entry.key!r} is already a {kind}")
                    labels = dict(current.labels) | dict(entry.labels)
                    parts[kind][index] = replace(
                        current,
                        labels=tuple((lang, labels[lang]) for lang in LANGUAGES if lang in labels),
                        colour=entry.colour if entry.colour is not None else current.colour,
                    )
        if existing is None:
            parts[entry.kind].append(entry)
    return Taxonomy(tuple(parts["sector"]), tuple(parts["target_group"]), tuple(parts["theme"]))
