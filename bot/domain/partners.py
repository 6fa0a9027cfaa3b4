"""Partner search, the pure part: what a search may say, its deadline and expiry, and who
is suggested to it.

A search is ranked against people like a member in `/match me` (`bot.domain.matching`):
the search is a *seeker*, a `Person` whose interests are the wanted target groups and
themes, whose offers are what the project brings and whose seeks are its title and
description. The scores and reasons are the matching's own (`Index.components` and
`Index.rank`, `group_reasons`); only who may be suggested differs: people from the wanted
sectors (the poster's own sector too, if wanted), who take part in matching, have an
introduction and did not opt out, never the poster. People the poster has never met come
first, then the matching's rank, then the id (deterministic).

numpy comes in with `bot.domain.matching`, imported inside `rank_partners` only, so the bot
starts without it (tests/unit/test_lazy_imports.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.domain.dates import combine, parse_date
from bot.domain.match_model import History, MatchConfig, Person, Suggestion, group_reasons
from bot.errors import BadInput

TITLE_LIMIT = 100
DESCRIPTION_LIMIT = 800
BRINGS_LIMIT = 400
SUGGESTIONS = 5
OPEN_DAYS = 60  # a search without a deadline expires this long after it was posted
FOLLOWUP_DAYS = 30  # the "did you start working together?" question in each thread
DEADLINE_MAX_DAYS = 366
# Reasons that explain a weaker match round group, not a suggestion for a wanted sector.
_HIDDEN_REASONS = frozenset({"priority", "same_sector_fallback"})


@dataclass(frozen=True, slots=True)
class SearchText:
    title: str
    description: str
    brings: str


def _has_text(value: str) -> bool:
    return any(ch.isalnum() for ch in value)


def clean_text(title: str, description: str = "", brings: str = "") -> SearchText:
    """The texts of a search, trimmed; BadInput when the title says nothing or a text is
    too long (Discord enforces the limits too; this is the server-side check)."""
    title = " ".join(title.split())
    description = description.strip()
    brings = brings.strip()
    if not _has_text(title):
        raise BadInput("partner.error.title_empty")
    for value, limit, key in (
        (title, TITLE_LIMIT, "partner.error.title_long"),
        (description, DESCRIPTION_LIMIT, "partner.error.description_long"),
        (brings, BRINGS_LIMIT, "partner.error.brings_long"),
    ):
        if len(value) > limit:
            raise BadInput(key, limit=limit, length=len(value))
    return SearchText(title, description, brings)


def parse_deadline(text: str, today: date) -> date:
    """A deadline typed like a meeting date (`15.3.2027`, `2027-03-15`, `15.3`); it must be
    today or later and within a year."""
    day = parse_date(text, today=today)
    if day < today:
        raise BadInput("partner.error.deadline_past", text=text.strip()[:32])
    if day > today + timedelta(days=DEADLINE_MAX_DAYS):
        raise BadInput("partner.error.deadline_far", days=DEADLINE_MAX_DAYS)
    return day


def expires_at(posted_at: datetime, deadline: date | None, zone: str) -> datetime:
    """When an open search expires: the end of its deadline day in the server's zone, or
    `OPEN_DAYS` after it was posted when it has no deadline."""
    if deadline is None:
        return posted_at + timedelta(days=OPEN_DAYS)
    return combine(deadline + timedelta(days=1), time(0, 0), zone)


def followup_due(thread_at: datetime) -> datetime:
    return thread_at + timedelta(days=FOLLOWUP_DAYS)


# ----- suggestions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seeker:
    """A search as the matching sees it, and the sectors it wants partners from."""

    person: Person
    sectors: frozenset[str]


@dataclass(frozen=True, slots=True)
class Candidate:
    """Someone who might be suggested. `person.sector` is empty without an introduction."""

    person: Person
    takes_part: bool  # matching active (or a pause that has run out); not paused or left
    suggestable: bool = True  # False: opted out with /partner settings


def seeker_of(
    person: Person,
    *,
    sectors: Sequence[str],
    interests: Sequence[str],
    title: str,
    description: str,
    brings: str,
) -> Seeker:
    """The poster's profile (`person`: id, name, sector, organisation) with the search's
    wanted interests, what it brings (offers) and what it is about (seeks)."""
    return Seeker(
        Person(
            id=person.id,
            name=person.name,
            sector=person.sector,
            interests=frozenset(interests),
            offers=brings,
            seeks=f"{title}\n{description}",
            organisation=person.organisation,
        ),
        frozenset(sectors),
    )


def eligible(seeker: Seeker, candidates: Sequence[Candidate]) -> list[Person]:
    """Who may be suggested: from a wanted sector, taking part, introduced, not opted out,
    not the poster; each person once (the first row), sorted by id."""
    seen: set[str] = {seeker.person.id}
    found: list[Person] = []
    for c in candidates:
        p = c.person
        if p.id in seen:
            continue
        seen.add(p.id)
        if p.sector and p.sector in seeker.sectors and c.takes_part and c.suggestable:
            found.append(p)
    return sorted(found, key=lambda p: p.id)


def rank_partners(
    seeker: Seeker,
    candidates: Sequence[Candidate],
    history: History,
    k: int = SUGGESTIONS,
    config: MatchConfig | None = None,
) -> tuple[Suggestion, ...]:
    """Up to k people for the search, best first, each with the matching's score and
    reasons (never met first, then the matching's rank, then the id)."""
    others = eligible(seeker, candidates)
    if not others or k <= 0:
        return ()
    import numpy as np

    from bot.domain.matching import Index

    config = config or MatchConfig()
    me = seeker.person
    index = Index((me, *others), history, config)
    rows = np.zeros(len(others), dtype=np.int64)
    cols = np.arange(1, len(others) + 1, dtype=np.int64)
    parts = index.components(rows, cols)
    keys = index.rank(parts).tolist()
    order = sorted(
        range(len(others)),
        key=lambda i: (history.met_ever(me.id, others[i].id), -keys[i], others[i].id),
    )[:k]
    return tuple(
        Suggestion(
            others[i].id,
            int(parts.score[i]),
            tuple(
                r for r in group_reasons((me, others[i]), history) if r.kind not in _HIDDEN_REASONS
            ),
        )
        for i in order
    )
