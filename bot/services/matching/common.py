"""Matchmaking's shared pieces: settings bounds, custom ids, pure helpers and the results a
round, a delivery, a table plan or an answer gives back."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING, Literal

import discord

from bot.domain.match_model import History, Person, Reason, render_reason
from bot.domain.taxonomy import Taxonomy
from bot.errors import BadInput
from bot.i18n import Text
from bot.permissions import INTRO_NEEDS
from bot.storage.matches import MatchRound, MetPair, SavedGroup
from bot.storage.profiles import Profile

if TYPE_CHECKING:
    from bot.domain.tables import Seating

# The solver (`bot.domain.matching`, `bot.domain.tables`) needs numpy and rustworkx: it is
# imported inside the methods that make a round, suggestions or tables, so the bot starts
# without them (docs/benchmarks.md, "Memory at start").

log = logging.getLogger(__name__)

JOB_PREFIX = "match-followup:"
# APScheduler must never drop a late job: the job only wakes run_followups, which decides.
MISFIRE_GRACE_SECONDS = 7 * 24 * 3600
IGNORED_LIMIT = 3
EVER_ROUNDS = 1000  # "never met" looks this many rounds back
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a week
# A sent DM is looked for since the round's creation less this (host clock vs Discord's).
DM_CLOCK_SKEW = timedelta(minutes=1)
CUSTOM_ID_TEMPLATE = r"match:met:(?P<group>[0-9]{1,19}):(?P<answer>yes|planned|no|collab)"
# "collab" (we started working together) is stored as "yes" and opens the collaboration form.
ANSWERS = ("yes", "planned", "no", "collab")

PAUSE_WEEKS = (1, 52)
TABLE_SIZE = (2, 12)
WINDOW_ROUNDS = (1, 24)
FOLLOWUP_DAYS = (1, 60)
DELIVERIES = ("thread", "dm")
THREAD_NEEDS = (*INTRO_NEEDS, "create_private_threads", "send_messages_in_threads")
MESSAGE_LIMIT = 2000
EMBEDS_LIMIT = 6000  # characters of all embeds in one message
EMBEDS_PER_MESSAGE = 10

FollowupView = Callable[[Text, int], discord.ui.View]


# ----- pure helpers -------------------------------------------------------------------


def followup_custom_id(group_id: int, answer: str) -> str:
    """The custom id of a "did you meet?" button (matches `CUSTOM_ID_TEMPLATE`)."""
    if answer not in ANSWERS:
        raise ValueError(answer)
    return f"match:met:{group_id:d}:{answer}"


def person_of(profile: Profile) -> Person:
    """The domain's view of a profile (ids as strings)."""
    return Person(
        id=str(profile.user_id),
        name=profile.display_name,
        sector=profile.sector or "",
        interests=frozenset(profile.interests),
        offers=profile.offers,
        seeks=profile.seeks,
        organisation=profile.organisation,
        priority=profile.priority,
    )


def _pair_key(pair: MetPair) -> tuple[str, str]:
    a, b = str(pair.a), str(pair.b)
    return (a, b) if a <= b else (b, a)


def history_of(recent: Iterable[MetPair], ever: Iterable[MetPair] = ()) -> History:
    """A domain History from stored pairs: `recent` (the window) also counts as `ever`."""
    recent_keys = frozenset(_pair_key(p) for p in recent if p.a != p.b)
    ever_keys = frozenset(_pair_key(p) for p in ever if p.a != p.b)
    return History(recent=recent_keys, ever=ever_keys | recent_keys)


def reasons_to_json(reasons: Iterable[Reason]) -> str:
    return json.dumps(
        [
            {"kind": r.kind, "people": list(r.people), "keys": list(r.keys), "texts": list(r.texts)}
            for r in reasons
        ],
        ensure_ascii=False,
    )


def reasons_from_json(text: str) -> tuple[Reason, ...]:
    """Stored reasons back as data; anything malformed (or deleted: `[]`) gives none."""
    try:
        raw = json.loads(text or "[]")
    except json.JSONDecodeError:
        return ()
    found: list[Reason] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
            continue
        found.append(
            Reason(
                item["kind"],
                tuple(str(v) for v in item.get("people", ())),
                tuple(str(v) for v in item.get("keys", ())),
                tuple(str(v) for v in item.get("texts", ())),
            )
        )
    return tuple(found)


# Reasons meant for the organiser's summary, not for the members' message.
_ORGANISER_ONLY = frozenset({"priority"})
# Reasons that explain a weaker group (shown in the organiser's summary).
FALLBACKS = frozenset({"same_sector_fallback", "repeat_fallback", "same_organisation"})


def render_reasons(
    _: Text,
    reasons: Iterable[Reason],
    names: Mapping[str, str],
    taxonomy: Taxonomy,
    *,
    kinds: frozenset[str] | None = None,
) -> str:
    """Reasons as one line in `_`'s language, joined with "; "."""
    parts = [
        render_reason(r, _, names, lambda key: taxonomy.label(key, _.lang))
        for r in reasons
        if (kinds is None or r.kind in kinds) and r.kind not in _ORGANISER_ONLY
    ]
    return "; ".join(parts)


def mentions(user_ids: Iterable[int]) -> str:
    return " ".join(f"<@{uid:d}>" for uid in user_ids)


def only_users(user_ids: Iterable[int]) -> discord.AllowedMentions:
    return discord.AllowedMentions(
        everyone=False,
        roles=False,
        users=[discord.Object(id=uid) for uid in user_ids],
        replied_user=False,
    )


def join_names(names: Sequence[str]) -> str:
    return " & ".join(names)


def chunks(lines: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Lines packed into messages of at most `limit` characters (long lines are cut)."""
    found: list[str] = []
    current = ""
    for line in lines:
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        if current and len(current) + 1 + len(line) > limit:
            found.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        found.append(current)
    return found


def pack_embeds(
    embeds: Sequence[discord.Embed], limit: int = EMBEDS_LIMIT
) -> list[list[discord.Embed]]:
    """Embeds in order, packed into as few messages as Discord's size limits allow (three
    long cards do not fit in one). Always at least one (possibly empty) batch."""
    batches: list[list[discord.Embed]] = [[]]
    size = 0
    for embed in embeds:
        current = batches[-1]
        if current and (size + len(embed) > limit or len(current) >= EMBEDS_PER_MESSAGE):
            batches.append([])
            size = 0
        batches[-1].append(embed)
        size += len(embed)
    return batches


def check_range(value: int, bounds: tuple[int, int], key: str) -> int:
    low, high = bounds
    if not low <= value <= high:
        raise BadInput(key, min=low, max=high)
    return value


# ----- results --------------------------------------------------------------------------


@dataclass(slots=True)
class DeliveryReport:
    """What one delivery pass did (for the organiser's summary)."""

    groups: int = 0
    threads: int = 0
    dms: int = 0
    fallbacks: int = 0
    gone: list[int] = field(default_factory=list)
    failed: int = 0


@dataclass(frozen=True, slots=True)
class RoundReport:
    round: MatchRound
    groups: tuple[SavedGroup, ...]
    names: Mapping[int, str]
    cross_sector_share: float
    delivery: DeliveryReport


@dataclass(frozen=True, slots=True)
class TablePlan:
    meeting_title: str | None
    seating: Seating
    people: Mapping[str, Profile]


class RoundExists(Exception):
    """The rhythm slot has its round already (made before a crash, or by a racing caller)."""

    def __init__(self, round_: MatchRound) -> None:
        super().__init__(round_.id)
        self.round = round_


class AnswerStatus(Enum):
    SAVED = "saved"
    NOT_MEMBER = "not_member"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class AnswerOutcome:
    status: AnswerStatus
    guild_id: int | None
