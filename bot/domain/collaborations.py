"""Collaborations: what members record as "we started working together", and their counts.

Pure: no discord, no SQL. Facts in (frozen dataclasses the storage layer fills), counts out.
No names and no user ids leave the counts: `person` only tells members apart.

Definitions (decided here, once)
--------------------------------
* **Counts**: a collaboration counts once, when at least two of its members confirmed
  (`CONFIRMATIONS_NEEDED`). The recorder counts as confirmed when they are a member. A
  member who deleted their data keeps their confirmation (anonymously, `person=None`).
* **Started**: the moment of the second confirmation (`started_at`). The range is half-open
  (`start <= started < end`); the month is the local calendar month in the server's zone.
* **Sectors involved**: the sectors of the confirmed members (an unknown sector is passed
  in as its own key by the caller). **Pairs of sectors** are unordered: each collaboration
  counts once for every pair of two different sectors among them (three sectors: three
  pairs); a collaboration within one sector counts once for the pair (that sector, itself).
* **Origin**: what it grew out of: a match round (`match`), a partner search (`partner`), a
  meeting (`meeting`) or nothing the bot knows (`other`). Every origin is in `by_origin`,
  zeros included, so the four add up to `started`.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import combinations
from types import MappingProxyType
from typing import Literal, TypeAlias
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.errors import BadInput

__all__ = [
    "CONFIRMATIONS_NEEDED",
    "LINK_MAX",
    "MAX_MEMBERS",
    "ORIGINS",
    "TITLE_MAX",
    "CollabCounts",
    "CollabFact",
    "CollabMemberFact",
    "Origin",
    "check_link",
    "check_members",
    "check_title",
    "collaboration_counts",
    "sector_pairs",
    "started_at",
]

Origin: TypeAlias = Literal["match", "partner", "meeting", "other"]
ORIGINS: tuple[Origin, ...] = ("match", "partner", "meeting", "other")
CONFIRMATIONS_NEEDED = 2
TITLE_MAX = 100
LINK_MAX = 500
MAX_MEMBERS = 10  # a user select holds at most 25; ten people is already a consortium


# --- input -------------------------------------------------------------------------------


def check_title(text: str) -> str:
    """One line of at most `TITLE_MAX` characters: control characters dropped, spaces and
    line breaks collapsed; something visible must be left."""
    title = " ".join(
        "".join(c for c in text if unicodedata.category(c) != "Cc" or c.isspace()).split()
    )
    if not "".join(c for c in title if unicodedata.category(c) != "Cf").strip():
        raise BadInput("collab.error.title_empty")
    if len(title) > TITLE_MAX:
        raise BadInput("collab.error.title_long", max=TITLE_MAX, length=len(title))
    return title


def check_link(text: str | None) -> str | None:
    """An optional http(s) address with a host, no spaces, at most `LINK_MAX` characters."""
    link = (text or "").strip()
    if not link:
        return None
    if len(link) > LINK_MAX or any(c.isspace() for c in link):
        raise BadInput("collab.error.link", max=LINK_MAX)
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:
        raise BadInput("collab.error.link", max=LINK_MAX) from None
    if parts.scheme.lower() not in ("http", "https") or not host or "." not in host:
        raise BadInput("collab.error.link", max=LINK_MAX)
    return link


def check_members(members: Iterable[int]) -> tuple[int, ...]:
    """Distinct members in the order given: at least two, at most `MAX_MEMBERS`."""
    found = tuple(dict.fromkeys(members))
    if len(found) < CONFIRMATIONS_NEEDED:
        raise BadInput("collab.error.too_few", min=CONFIRMATIONS_NEEDED)
    if len(found) > MAX_MEMBERS:
        raise BadInput("collab.error.too_many", max=MAX_MEMBERS)
    return found


# --- facts and counts --------------------------------------------------------------------


def _require_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class CollabMemberFact:
    """One member. `person` is None once anonymised; `confirmed_at` None until confirmed."""

    person: int | None
    sector: str
    confirmed_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.confirmed_at is not None:
            _require_aware("confirmed_at", self.confirmed_at)


@dataclass(frozen=True, slots=True)
class CollabFact:
    collab_id: int
    origin: Origin
    members: tuple[CollabMemberFact, ...]

    def __post_init__(self) -> None:
        if self.origin not in ORIGINS:
            raise ValueError(f"unknown origin {self.origin!r}")


def started_at(members: Iterable[CollabMemberFact]) -> datetime | None:
    """When the collaboration reached `CONFIRMATIONS_NEEDED` confirmations, if it did."""
    moments = sorted(m.confirmed_at for m in members if m.confirmed_at is not None)
    return moments[CONFIRMATIONS_NEEDED - 1] if len(moments) >= CONFIRMATIONS_NEEDED else None


def involved_sectors(members: Iterable[CollabMemberFact]) -> tuple[str, ...]:
    """The confirmed members' sectors, sorted, each once."""
    return tuple(sorted({m.sector for m in members if m.confirmed_at is not None}))


def sector_pairs(sectors: Iterable[str]) -> frozenset[tuple[str, str]]:
    """Unordered pairs (as sorted tuples) of the distinct sectors; one sector: (s, s)."""
    distinct = sorted(set(sectors))
    if len(distinct) == 1:
        return frozenset({(distinct[0], distinct[0])})
    return frozenset(combinations(distinct, 2))


@dataclass(frozen=True, slots=True)
class CollabCounts:
    started: int = 0
    by_origin: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType(dict.fromkeys(ORIGINS, 0))
    )
    # sorted pairs of sector keys, in sorted order
    by_pair: Mapping[tuple[str, str], int] = field(default_factory=lambda: MappingProxyType({}))
    # the first day of the local month
    by_month: Mapping[date, int] = field(default_factory=lambda: MappingProxyType({}))
    started_moments: tuple[datetime, ...] = ()  # sorted (for the chart's per-meeting line)


def collaboration_counts(
    facts: Iterable[CollabFact], start: datetime, end: datetime, zone: str
) -> CollabCounts:
    """The counts of collaborations started in `[start, end)`, months in `zone`."""
    _require_aware("start", start)
    _require_aware("end", end)
    tz = ZoneInfo(zone)
    origins: Counter[str] = Counter(dict.fromkeys(ORIGINS, 0))
    pairs: Counter[tuple[str, str]] = Counter()
    months: Counter[date] = Counter()
    moments: list[datetime] = []
    for fact in facts:
        moment = started_at(fact.members)
        if moment is None or not start <= moment < end:
            continue
        moments.append(moment)
        origins[fact.origin] += 1
        pairs.update(sector_pairs(involved_sectors(fact.members)))
        months[moment.astimezone(tz).date().replace(day=1)] += 1
    return CollabCounts(
        started=len(moments),
        by_origin=MappingProxyType({origin: origins[origin] for origin in ORIGINS}),
        by_pair=MappingProxyType(dict(sorted(pairs.items()))),
        by_month=MappingProxyType(dict(sorted(months.items()))),
        started_moments=tuple(sorted(moments)),
    )


def list_month(members: Sequence[CollabMemberFact], zone: str) -> date | None:
    """The local month a collaboration started in (for `/collaboration list`), if it did."""
    moment = started_at(members)
    return None if moment is None else moment.astimezone(ZoneInfo(zone)).date().replace(day=1)
