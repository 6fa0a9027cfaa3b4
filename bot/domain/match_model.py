"""The data model of matchmaking, and what needs no numpy: people, history, configuration,
results, reasons, terms, suggestions for one person.

`bot.domain.matching` (the solver, with numpy and rustworkx) re-exports every name here, so
callers that only read or render groups or suggest (the match service, the cogs, /match me)
import this module; the heavy libraries load only where a round is computed (its child
process, `bot.services.solver_process`) or tables are seated.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.errors import BadInput

# ── data model ──────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    sector: str
    interests: frozenset[str]
    offers: str = ""
    seeks: str = ""
    organisation: str = ""
    priority: int = 0  # > 0: left out or paused out last time


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a group is what it is, as data. `message_key` names the catalogue text.

    kinds: cross_sector (keys = sectors), shared (keys = interest keys), offers (people =
    (offerer, seeker), keys = matched terms, texts = (offer, seek)), same_sector_fallback
    (keys = (sector,)), repeat_fallback (people = the pair), same_organisation (people,
    texts = (organisation,)), priority (people = (person,)).
    """

    kind: str
    people: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()

    @property
    def message_key(self) -> str:
        return f"match.reason.{self.kind}"


@dataclass(frozen=True, slots=True)
class Group:
    members: tuple[str, ...]
    score: int
    reasons: tuple[Reason, ...]


Pair = Group


@dataclass(frozen=True, slots=True)
class MetRecord:
    a: str
    b: str
    date: date


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True, slots=True)
class History:
    """Who met whom: `recent` within the last N rounds, `ever` at all."""

    recent: frozenset[tuple[str, str]] = frozenset()
    ever: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def from_records(cls, records: Iterable[MetRecord], window_rounds: int = 6) -> History:
        """Distinct dates are rounds; pairs from the most recent `window_rounds` are recent."""
        items = list(records)
        rounds = sorted({r.date for r in items}, reverse=True)[: max(window_rounds, 0)]
        window = set(rounds)
        return cls(
            recent=frozenset(_key(r.a, r.b) for r in items if r.date in window and r.a != r.b),
            ever=frozenset(_key(r.a, r.b) for r in items if r.a != r.b),
        )

    def met_recently(self, a: str, b: str) -> bool:
        return _key(a, b) in self.recent

    def met_ever(self, a: str, b: str) -> bool:
        return _key(a, b) in self.ever


@dataclass(frozen=True, slots=True)
class Weights:
    cross_sector: int = 10
    shared_interest: int = 3
    max_shared: int = 4
    offer_match: int = 4
    max_offer_terms: int = 2  # per direction
    same_organisation: int = 6
    repeat: int = 12

    @property
    def pair_range(self) -> tuple[int, int]:
        low = -self.same_organisation - self.repeat
        high = (
            self.cross_sector
            + self.shared_interest * self.max_shared
            + 2 * self.offer_match * self.max_offer_terms
        )
        return low, high


@dataclass(frozen=True, slots=True)
class MatchConfig:
    window_rounds: int = 6
    candidates_per_person: int = 20
    seed: int = 0
    dense_limit: int = 300
    block_size: int = 2500  # up to this many people: one exact blossom run
    candidate_sample: int = 3000
    improve_passes: int = 10  # above block_size: repair windows, each twice the last
    exact_trio_limit: int = 13
    weights: Weights = field(default_factory=Weights)


@dataclass(frozen=True, slots=True)
class Summary:
    people: int
    groups: int
    cross_sector_share: float
    repeats: int
    same_sector: int
    score: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return summary_fields(
            self.people,
            self.groups,
            self.cross_sector_share,
            self.repeats,
            self.score,
            self.seconds,
        )


def summary_fields(
    people: int, groups: int, cross_sector_share: float, repeats: int, score: int, seconds: float
) -> dict[str, Any]:
    """What every summary shows first (`python -m bot match` prints it): a round's, a
    seating's."""
    return {
        "people": people,
        "groups": groups,
        "cross_sector_share": round(cross_sector_share, 4),
        "repeats": repeats,
        "score": score,
        "seconds": round(seconds, 4),
    }


@dataclass(frozen=True, slots=True)
class RoundResult:
    groups: tuple[Group, ...]
    summary: Summary
    objective: int  # the internal weight of the whole round (for comparisons)


@dataclass(frozen=True, slots=True)
class Suggestion:
    person: str
    score: int
    reasons: tuple[Reason, ...]


# ── suggestions for one person (/match me): no numpy ────────────────────────────────────

_MIX = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


def _person_hash(seed: int, person_id: str) -> int:
    digest = hashlib.blake2b(f"{seed}\x00{person_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def tie_break(seed: int, a: str, b: str) -> int:
    """The seeded tie-break of a pair, 0–15 (symmetric)."""
    mixed = ((_person_hash(seed, a) ^ _person_hash(seed, b)) * _MIX) & _MASK64
    return mixed >> 60


def organisation_key(person: Person) -> str:
    """The organisation as compared (case and spacing ignored); "" matches nobody."""
    return " ".join(person.organisation.casefold().split())


def suggest_for(
    person: Person,
    people: Sequence[Person],
    history: History,
    k: int = 3,
    config: MatchConfig | None = None,
) -> tuple[Suggestion, ...]:
    """Up to k people from other sectors whom `person` has never met, best first.

    One person against the others, so plain Python: the order is the solver's pair order
    (`bot.domain.matching.Index.rank`: not met recently, not the same organisation, the
    priority of the two, the score, the seeded tie-break), then the id."""
    config = config or MatchConfig()
    w = config.weights
    others = [
        p
        for p in people
        if p.id != person.id and p.sector != person.sector and not history.met_ever(person.id, p.id)
    ]
    if not others or k <= 0:
        return ()
    offers, seeks, org = terms(person.offers), terms(person.seeks), organisation_key(person)
    ranked: list[tuple[tuple[int, ...], str, int]] = []
    for other in others:
        repeat = history.met_recently(person.id, other.id)
        same_org = bool(org) and org == organisation_key(other)
        shared = min(len(person.interests & other.interests), w.max_shared)
        offer = min(len(offers & terms(other.seeks)), w.max_offer_terms)
        offer += min(len(seeks & terms(other.offers)), w.max_offer_terms)
        score = (
            w.cross_sector
            + w.shared_interest * shared
            + w.offer_match * offer
            - w.same_organisation * same_org
            - w.repeat * repeat
        )
        prio = 0 if repeat else (person.priority > 0) + (other.priority > 0)
        tie = tie_break(config.seed, person.id, other.id)
        ranked.append(((-(not repeat), -(not same_org), -prio, -score, -tie), other.id, score))
    ranked.sort(key=lambda r: (r[0], r[1]))
    by_id = {p.id: p for p in others}
    return tuple(
        Suggestion(
            found,
            score,
            tuple(
                r for r in group_reasons((person, by_id[found]), history) if r.kind != "priority"
            ),
        )
        for _, found, score in ranked[:k]
    )


# ── terms ───────────────────────────────────────────────────────────────────────────────

_WORD = re.compile(r"[^\W\d_]+")
_STOP_WORDS = (
    "and the for with our you your are can from that this who want need help "
    "og til med som det den der ikke eller har kan vil jeg vår våre oss meg for fra "
    "och att för med som det den ett har kan vill jag vår våra oss mig från"
)
_STOP = frozenset(_STOP_WORDS.split())
_ENDINGS = ("ingen", "ning", "ing", "ene", "ers", "er", "en", "et", "ar", "s", "e")


@functools.lru_cache(maxsize=1 << 16)
def terms(text: str) -> frozenset[str]:
    """The matching terms of a free text (see `bot.domain.matching`'s docstring)."""
    found: set[str] = set()
    for word in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
        if len(word) < 3 or word in _STOP:
            continue
        for ending in _ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= 4:
                word = word[: -len(ending)]
                break
        found.add(word[:7])
    return frozenset(found)


def validate_people(people: Sequence[Person]) -> tuple[Person, ...]:
    """People sorted by id; BadInput for fewer than two or a duplicate id."""
    if len(people) < 2:
        raise BadInput("match.error.too_few", count=len(people))
    seen: set[str] = set()
    for p in people:
        if p.id in seen:
            raise BadInput("match.error.duplicate_id", id=p.id)
        seen.add(p.id)
    return tuple(sorted(people, key=lambda p: p.id))


# ── reasons ─────────────────────────────────────────────────────────────────────────────


def group_reasons(members: Sequence[Person], history: History) -> tuple[Reason, ...]:
    """Why these people sit together, as data (render with `render_reason`)."""
    ids = tuple(p.id for p in members)
    sectors = sorted({p.sector for p in members})
    reasons: list[Reason] = []
    if len(sectors) == 1:
        reasons.append(Reason("same_sector_fallback", ids, (sectors[0],)))
    for a, b in itertools.combinations(members, 2):
        if history.met_recently(a.id, b.id):
            reasons.append(Reason("repeat_fallback", (a.id, b.id)))
    for a, b in itertools.combinations(members, 2):
        org = " ".join(a.organisation.casefold().split())
        if org and org == " ".join(b.organisation.casefold().split()):
            reasons.append(Reason("same_organisation", (a.id, b.id), (), (a.organisation,)))
    if len(sectors) > 1:
        reasons.append(Reason("cross_sector", ids, tuple(sectors)))
    counts: dict[str, int] = {}
    for p in members:
        for key in p.interests:
            counts[key] = counts.get(key, 0) + 1
    shared = tuple(sorted(k for k, c in counts.items() if c > 1))
    if shared:
        reasons.append(Reason("shared", ids, shared))
    for a, b in itertools.permutations(members, 2):
        common = terms(a.offers) & terms(b.seeks)
        if common:
            reasons.append(
                Reason("offers", (a.id, b.id), tuple(sorted(common)), (a.offers, b.seeks))
            )
    reasons.extend(Reason("priority", (p.id,)) for p in members if p.priority > 0)
    return tuple(reasons)


def render_reason(
    reason: Reason,
    text: Callable[..., str],
    names: Mapping[str, str],
    label: Callable[[str], str],
) -> str:
    """One reason as a sentence: `text` is a catalogue lookup bound to a language
    (`bot.i18n.Text`), `names` maps ids to display names, `label` maps taxonomy keys."""

    def name(i: int) -> str:
        person = reason.people[i] if i < len(reason.people) else ""
        return names.get(person, person)

    labels = ", ".join(label(k) for k in reason.keys)
    if reason.kind == "offers":
        return text(
            reason.message_key,
            a=name(0),
            b=name(1),
            offer=_shorten(reason.texts[0]),
            seek=_shorten(reason.texts[1]),
        )
    if reason.kind == "same_sector_fallback":
        return text(reason.message_key, sector=labels)
    if reason.kind == "cross_sector":
        return text(reason.message_key, sectors=labels)
    if reason.kind == "shared":
        return text(reason.message_key, interests=labels)
    if reason.kind == "same_organisation":
        return text(reason.message_key, a=name(0), b=name(1), organisation=reason.texts[0])
    if reason.kind == "repeat_fallback":
        return text(reason.message_key, a=name(0), b=name(1))
    return text(reason.message_key, name=name(0))


def _shorten(value: str, limit: int = 80) -> str:
    flat = " ".join(value.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
