"""The programme of a meeting: proposals by members, decisions by organisers.

Pure: the rules for proposing, editing and deciding, the order of the accepted items, the
text of the "Programme" field (shortened with "and N more" to fit Discord's limits) and
the per-meeting counts for the report. No discord imports.

Decisions (written down once, here):
* A proposal is *open* until an organiser accepts, declines or moves it; only open ones
  count toward the three per person per meeting, and only open ones may be edited or
  withdrawn (by their proposer).
* A move sends the proposal to another upcoming meeting, open again (the proposer may
  edit it there, and the organisers decide again).
* Order: by `position` (given with `/programme arrange`; none: after those with one),
  then by slot, then by when it was proposed (id).
* Counts per meeting: proposals are every proposal for the meeting that was not
  withdrawn; accepted and the presenters' sectors count the accepted items (the proposer's
  sector when they proposed; a deleted member's item keeps its sector, not their id).
* A member's data deleted (`/privacy delete`, the leave sweep, retention): their proposals
  stay as rows without id, title or text, for the counts; an accepted one keeps its place
  in the programme and is shown as "(deleted)" in place of title and name, so the slots
  of the others do not shift. Their name also goes from items where they co-present.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from bot.domain.dates import parse_time
from bot.errors import BadInput

TITLE_LIMIT = 100
SUMMARY_LIMIT = 500
MAX_OPEN_PER_MEETING = 3
KINDS: tuple[str, ...] = ("case", "talk", "question")
# Discord's embed limits: a field value and the whole embed.
FIELD_LIMIT = 1024
EMBED_LIMIT = 6000
LINE_LIMIT = 300  # one programme line at most (a title is ≤ 100; names are short)
UNKNOWN_SECTOR = "unknown"


class Status(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Decision(enum.StrEnum):
    """What an organiser decided; also the kind of the notice the proposer is owed."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    MOVED = "moved"


@dataclass(frozen=True, slots=True)
class Proposal:
    id: int
    guild_id: int
    meeting_id: int
    user_id: int | None  # None once the proposer's data was deleted
    title: str
    summary: str
    kind: str
    co_presenters: tuple[int, ...]
    sector: str | None
    status: Status
    position: int | None
    slot: str | None
    decided_by: int | None
    decided_at: datetime | None
    notice: Decision | None
    notice_sent_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status is Status.OPEN

    @property
    def anonymous(self) -> bool:
        return self.user_id is None


@dataclass(frozen=True, slots=True)
class ProposalText:
    """What the proposer writes (all of it checked by `check_text`)."""

    title: str
    summary: str
    kind: str


def check_text(text: ProposalText) -> ProposalText:
    """A title (1–100 characters), what the others learn (≤ 500), a known kind."""
    if not text.title.strip():
        raise BadInput("programme.error.title_empty")
    if len(text.title) > TITLE_LIMIT:
        raise BadInput("programme.error.title_too_long", limit=TITLE_LIMIT, length=len(text.title))
    if len(text.summary) > SUMMARY_LIMIT:
        raise BadInput(
            "programme.error.summary_too_long", limit=SUMMARY_LIMIT, length=len(text.summary)
        )
    if text.kind not in KINDS:
        raise BadInput("programme.error.kind")
    return text


def check_meeting_open(*, starts_at: datetime, cancelled: bool, now: datetime) -> None:
    """Proposals, edits and decisions are for upcoming, not cancelled meetings."""
    if cancelled:
        raise BadInput("programme.error.cancelled")
    if starts_at <= now:
        raise BadInput("programme.error.past_meeting")


def check_co_presenters(proposer: int, others: Iterable[int]) -> tuple[int, ...]:
    """Up to two other people, each once, never the proposer."""
    found: list[int] = []
    for user_id in others:
        if user_id == proposer:
            raise BadInput("programme.error.co_presenter_self")
        if user_id not in found:
            found.append(user_id)
    return tuple(found[:2])


def check_changeable(proposal: Proposal, user_id: int) -> None:
    """Edit or withdraw: only the proposer's own, and only while it is open."""
    if proposal.user_id != user_id:
        raise BadInput("programme.error.not_yours")
    if not proposal.is_open:
        raise BadInput("programme.error.decided")


def parse_slot(text: str) -> str:
    """A time slot as local wall time, `09:15` (from `9.15`, `0915`, `9` …)."""
    moment = parse_time(text)
    return f"{moment.hour:02d}:{moment.minute:02d}"


def ordered(items: Iterable[Proposal]) -> list[Proposal]:
    """The accepted items in programme order (see the module's decisions)."""

    def key(item: Proposal) -> tuple[int, int, str, str, int]:
        has_position = 0 if item.position is not None else 1
        has_slot = 0 if item.slot is not None else 1
        return (has_position, item.position or 0, str(has_slot), item.slot or "", item.id)

    return sorted(items, key=key)


def moved_to(items: Sequence[Proposal], proposal_id: int, position: int) -> list[int]:
    """The ids in their new order after putting `proposal_id` at 1-based `position`
    (clamped to the list)."""
    ids = [item.id for item in ordered(items)]
    if proposal_id not in ids:
        raise BadInput("programme.error.not_accepted")
    ids.remove(proposal_id)
    index = min(max(position, 1), len(ids) + 1) - 1
    ids.insert(index, proposal_id)
    return ids


@dataclass(frozen=True, slots=True)
class ProgrammeLine:
    """One accepted item as the programme shows it (names and labels already resolved)."""

    slot: str | None
    title: str
    presenter: str
    sector: str
    co_presenters: tuple[str, ...] = ()


def line_text(line: ProgrammeLine) -> str:
    """`09:15 · Title — Name (Sector), Co-presenter` clipped to LINE_LIMIT."""
    who = f"{line.presenter} ({line.sector})" if line.sector else line.presenter
    if line.co_presenters:
        who = ", ".join((who, *line.co_presenters))
    head = f"{line.slot} · " if line.slot else ""
    text = f"{head}{line.title} — {who}"
    return text if len(text) <= LINE_LIMIT else text[: LINE_LIMIT - 1] + "…"


def fit_lines(
    lines: Sequence[str], limit: int, more: Callable[[int], str], *, max_lines: int | None = None
) -> str:
    """The lines joined one per row, as many as fit in `limit` characters (and at most
    `max_lines`); when some are left out the last row is `more(n)` ("… and N more"). Never
    longer than `limit` (an empty string when not even the remark fits)."""
    if limit <= 0:
        return ""
    most = len(lines) if max_lines is None else min(len(lines), max_lines)
    for shown in range(most, -1, -1):
        hidden = len(lines) - shown
        rows = [*lines[:shown], more(hidden)] if hidden else list(lines)
        text = "\n".join(rows)
        if len(text) <= limit:
            return text
    return ""


@dataclass(frozen=True, slots=True)
class ProgrammeFact:
    """One proposal as the report sees it: no id of anyone."""

    meeting_id: int
    status: Status
    sector: str | None


@dataclass(frozen=True, slots=True)
class ProgrammeCounts:
    proposals: int
    accepted: int
    presenters_by_sector: Mapping[str, int]


EMPTY_COUNTS = ProgrammeCounts(0, 0, MappingProxyType({}))


def programme_counts(facts: Iterable[ProgrammeFact]) -> dict[int, ProgrammeCounts]:
    """Per meeting: proposals (not withdrawn), accepted, accepted presenters by sector."""
    proposals: Counter[int] = Counter()
    accepted: Counter[int] = Counter()
    sectors: dict[int, Counter[str]] = {}
    for fact in facts:
        if fact.status is Status.WITHDRAWN:
            continue
        proposals[fact.meeting_id] += 1
        if fact.status is Status.ACCEPTED:
            accepted[fact.meeting_id] += 1
            sectors.setdefault(fact.meeting_id, Counter())[fact.sector or UNKNOWN_SECTOR] += 1
    return {
        meeting_id: ProgrammeCounts(
            proposals=count,
            accepted=accepted[meeting_id],
            presenters_by_sector=MappingProxyType(
                dict(sorted(sectors.get(meeting_id, {}).items()))
            ),
        )
        for meeting_id, count in proposals.items()
    }
