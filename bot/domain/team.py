"""The handbook's roles: who runs a region, and the card that says so. No discord here.

The five roles, in the handbook's order (nb: prosjektledelse, kommunal partner,
finansieringspartner, gjennomføringspartner, ressursgruppe/arbeidsgruppe). Several people
may hold a role and a person may hold several; each holding names the organisation it is
held for (free text, tidied so that reports can group by it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

PROJECT_LEAD = "project_lead"  # gets the rhythm's match report when no channel is set
ROLES: tuple[str, ...] = (
    PROJECT_LEAD,
    "municipal_partner",
    "funding_partner",
    "delivery_partner",
    "working_group",
)
ORGANISATION_LIMIT = 100  # as the introduction's organisation field
AUTOCOMPLETE_LIMIT = 25  # Discord's cap on choices

# Discord's embed limits (the card is one embed).
FIELD_VALUE_LIMIT = 1024
EMBED_TOTAL_LIMIT = 6000
NAME_LIMIT = 80  # a display name as shown on the card


@dataclass(frozen=True, slots=True)
class Holding:
    """One person holding one role, for one organisation ('' when none was given)."""

    guild_id: int
    user_id: int
    role: str
    organisation: str


def tidy_organisation(text: str | None) -> str:
    """Spaces collapsed, trimmed, at most ORGANISATION_LIMIT characters."""
    return " ".join((text or "").split())[:ORGANISATION_LIMIT]


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\*_~`|>#[]"})


def plain(text: str) -> str:
    """User text shown in Discord markdown as typed (no bold, links or headings)."""
    return text.translate(_MARKDOWN)


def organisation_key(text: str) -> str:
    """What makes two spellings the same organisation ("NAV  oslo" is "NAV Oslo")."""
    return tidy_organisation(text).casefold()


def suggest_organisations(known: Iterable[str], typed: str) -> list[str]:
    """Autocomplete: the organisations already used, one spelling each (the first seen),
    those starting with what was typed first, then those containing it; at most 25."""
    seen: dict[str, str] = {}
    for name in known:
        tidy = tidy_organisation(name)
        if tidy:
            seen.setdefault(tidy.casefold(), tidy)
    needle = organisation_key(typed)
    names = sorted(seen.values(), key=str.casefold)
    starts = [n for n in names if n.casefold().startswith(needle)]
    inside = [n for n in names if needle in n.casefold() and n not in starts]
    return (starts + inside)[:AUTOCOMPLETE_LIMIT]


def organisations_by_role(holdings: Iterable[Holding]) -> list[tuple[str, tuple[str, ...]]]:
    """For the report: each organisation (one spelling) with the roles it holds, in the
    handbook's order; organisations sorted by name. Holdings without one are left out."""
    roles: dict[str, set[str]] = {}
    spelling: dict[str, str] = {}
    for holding in holdings:
        name = tidy_organisation(holding.organisation)
        if not name:
            continue
        key = name.casefold()
        spelling.setdefault(key, name)
        roles.setdefault(key, set()).add(holding.role)
    return [
        (spelling[key], tuple(r for r in ROLES if r in roles[key]))
        for key in sorted(spelling, key=lambda k: spelling[k].casefold())
    ]


@dataclass(frozen=True, slots=True)
class CardField:
    role: str
    value: str


def card_fields(
    holdings: Sequence[Holding],
    names: Callable[[int], str],
    line: Callable[[str, str], str],
    more: Callable[[int], str],
    budget: int = EMBED_TOTAL_LIMIT - 1000,
) -> list[CardField]:
    """One field per role that someone holds, in the handbook's order: a line per person
    (`line(name, organisation)`), people in the order they were given. A field that would
    pass Discord's 1,024 characters, or the card's `budget` in all, ends with
    `more(count)` ("and 3 more") instead of the lines that do not fit."""
    fields: list[CardField] = []
    left = budget
    for role in ROLES:
        lines = [
            line(names(h.user_id)[:NAME_LIMIT], tidy_organisation(h.organisation))
            for h in holdings
            if h.role == role
        ]
        if not lines:
            continue
        room = min(FIELD_VALUE_LIMIT, left)
        value = _fit(lines, room, more)
        if not value:
            break
        fields.append(CardField(role, value))
        left -= len(value)
    return fields


def _fit(lines: list[str], room: int, more: Callable[[int], str]) -> str:
    """As many lines as fit in `room` characters, then "and N more" for the rest."""
    if len("\n".join(lines)) <= room:
        return "\n".join(lines)
    for shown in range(len(lines) - 1, -1, -1):
        value = "\n".join([*lines[:shown], more(len(lines) - shown)])
        if len(value) <= room:
            return value
    return ""
