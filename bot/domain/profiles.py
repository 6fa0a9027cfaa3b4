"""Pure rules for introductions: what `/introduce` accepts, what a server may add.

No discord imports. Texts are cleaned and clipped to limits that keep the introduction card
inside Discord's embed limits (title 256, field 1024, 6000 in all); a display name with
nothing visible in it is refused. Server taxonomy additions are validated with
`added_entry` and checked against the server's current taxonomy and the 25 options a
Discord select can hold.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.taxonomy import Entry, Kind, Taxonomy, TaxonomyError, added_entry
from bot.errors import BadInput
from bot.i18n import LANGUAGES

# Field → most characters kept. Short fields are one line; offers and seeks are paragraphs.
LIMITS: Mapping[str, int] = {
    "display_name": 80,
    "organisation": 100,
    "role": 100,
    "offers": 1000,
    "seeks": 1000,
}
FIELDS: tuple[str, ...] = tuple(LIMITS)
ONE_LINE: frozenset[str] = frozenset({"display_name", "organisation", "role"})

# A Discord select holds at most 25 options.
MAX_OPTIONS = 25
LABEL_LIMIT = 80


@dataclass(frozen=True, slots=True)
class CleanIntroduction:
    """The five texts, cleaned; `clipped` names the fields that were cut to their limit."""

    values: Mapping[str, str]
    clipped: tuple[str, ...]


def has_visible_text(text: str) -> bool:
    """True when `text` has a character that is neither a space, a control nor invisible."""
    return any(unicodedata.category(char)[0] not in ("Z", "C") for char in text)


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clean(name: str, text: str) -> str:
    if name in ONE_LINE:
        return " ".join(text.split())
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return "\n".join(lines)


def clean_introduction(raw: Mapping[str, str | None]) -> CleanIntroduction:
    """The modal's texts cleaned and clipped; `BadInput` when the display name is blank."""
    values: dict[str, str] = {}
    clipped: list[str] = []
    for name in FIELDS:
        text = _clean(name, raw.get(name) or "")
        if not has_visible_text(text):
            text = ""
        if len(text) > LIMITS[name]:
            text = clip(text, LIMITS[name])
            clipped.append(name)
        values[name] = text
    if not values["display_name"]:
        raise BadInput("profile.error.empty_name")
    return CleanIntroduction(values, tuple(clipped))


def selected_interests(
    current: tuple[str, ...], offered: tuple[str, ...], chosen: tuple[str, ...]
) -> tuple[str, ...]:
    """A member's interests after choosing `chosen` among the `offered` keys of one select.

    Keys the select did not offer (another select's, or beyond the 25 shown) are kept.
    """
    kept = [key for key in current if key not in offered]
    return tuple(sorted(set(kept) | set(chosen)))


def server_entry(
    taxonomy: Taxonomy,
    kind: Kind,
    key: str,
    labels: Mapping[str, str | None],
    colour: str | None = None,
) -> tuple[Entry, bool]:
    """A server's new (or relabelled) entry, validated against its current `taxonomy`.

    Returns the entry and whether it is new. Languages not given keep the current label, so
    relabelling in one language leaves the others alone. Every refusal is a `BadInput` with
    a catalogue key.
    """
    given = {lang: " ".join(str(labels[lang]).split()) for lang in LANGUAGES if labels.get(lang)}
    given = {lang: text for lang, text in given.items() if has_visible_text(text)}
    if not given:
        raise BadInput("setup.error.no_label")
    if any(len(text) > LABEL_LIMIT for text in given.values()):
        raise BadInput("setup.error.label_too_long", limit=LABEL_LIMIT)
    key = key.strip()
    try:
        entry = added_entry(kind, key, given)
    except TaxonomyError:
        raise BadInput("setup.error.bad_key", key=key[:50]) from None
    if colour is not None:
        try:
            entry = added_entry(kind, key, given, colour.strip())
        except TaxonomyError:
            raise BadInput("setup.error.bad_colour", colour=colour[:20]) from None
    existing = taxonomy.find(key)
    if existing is None:
        if len(taxonomy.entries(kind)) >= MAX_OPTIONS:
            raise BadInput("setup.error.taxonomy_full", limit=MAX_OPTIONS)
        return entry, True
    if (existing.kind == "sector") != (kind == "sector"):
        raise BadInput("setup.error.key_taken", key=key)
    merged = dict(existing.labels) | given
    labels_out = {lang: merged[lang] for lang in LANGUAGES if lang in merged}
    kept_colour = colour.strip() if colour is not None else existing.colour
    return added_entry(existing.kind, key, labels_out, kept_colour), False
