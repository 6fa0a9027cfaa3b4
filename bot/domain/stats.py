"""Report statistics for `/report`: what the meetings and match rounds achieved, as counts.

Pure: facts in (frozen dataclasses the storage layer fills from SQL), a `Report` out. No
names and no user ids ever leave this module: `person` is only used to tell people apart.

Definitions (decided here, once)
--------------------------------
* **Range**: half-open, `start <= t < end`, on `MeetingFact.starts_at`,
  `MatchGroupFact.round_at` and `IntroFact.created_at`. Facts outside the range may be
  passed in; they only count for "new versus returning" and `introductions_before`.
  `default_range(now, zone)` is the last twelve calendar months in the server's zone: from
  local midnight on the first day of the month eleven months back, to `now`. So there are
  exactly twelve monthly buckets, the last one "to date", and future meetings are left out.
* **Participant of a meeting**: checked in, if that meeting has any check-in; otherwise
  answered *going*. So `MeetingRow.by_sector` counts people who **attended** when the
  meeting has a check-in, and people **going** when it has not. A person without a sector
  counts under `UNKNOWN_SECTOR`.
* **Cancelled meetings** are listed with their answers, but have no participants: they do
  not count in participant totals, nor as "participated before".
* **New / returning**: a person is *new* at the first non-cancelled meeting ever (all facts
  given, not only the range; ordered by start, then id) where they participated, and
  *returning* at every later one. Anonymised people (`person is None`, after data deletion)
  count as participants, but neither new nor returning, so per meeting
  `new + returning + anonymous == participants`.
* **Unique participants** (totals): distinct known people who participated in a meeting in
  range. Anonymised participations are in `participations` only (they cannot be told apart).
  `participated_before` in the totals is `unique_participants - new_participants`: people
  in range who had participated before it.
* **Answers**: every answer (going, maybe, not going, waitlist) to a listed meeting,
  cancelled ones included, so the totals equal the sum of the meeting columns.
* **Match rounds**: a group is *cross-sector* when its members have at least two sectors.
  `met_share` is members who said *yes* over members who answered at all (yes, no,
  planned). A share with nothing to divide by is `None` (no data), never a made-up 0.
  `pairs` counts groups in pair rounds (a trio is one group), `tables` groups in table rounds.
* **Unique cross-sector contacts**: distinct unordered pairs of people of different sectors
  who were in one group in a round in range (for tables, every pair at the table). An
  anonymised member cannot be recognised again, so each of their appearances is a person of
  their own (this can only overcount someone who later deleted their data).
  `contacts_per_participant = contacts * 2 / distinct people in the groups in range`.
* **Contacts per meeting** (`MeetingRow.cross_sector_contacts`, the chart's line): each
  round belongs to the held meeting in range nearest to it in time (a tie goes to the
  earlier meeting); a meeting shows the contacts first made (in range) in its rounds. When
  at least one meeting was held, these add up to `unique_cross_sector_contacts`.
* **Introductions growth**: per local calendar month of the range, the introductions made
  that month and the running total including those before the range.
* **Collaborations**: counted by `bot.domain.collaborations` (started = confirmed by two,
  in range, by origin, pair of sectors and local month). `MeetingRow.collaborations` (the
  chart's second line) gives each started collaboration to the held meeting in range
  nearest in time, as for contacts.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from bot.domain.collaborations import CollabCounts, CollabFact, collaboration_counts
from bot.domain.programme import ProgrammeCounts
from bot.domain.report_facts import (
    ANSWER_STATUSES,
    UNKNOWN_SECTOR,
    AnswerFact,
    AnswerStatus,
    CheckinFact,
    IntroFact,
    MatchGroupFact,
    MatchKind,
    MeetingFact,
    MeetingStatus,
    MemberFact,
    MetAnswer,
    ReportRequest,
    _require_aware,
)

__all__ = [
    "ANSWER_STATUSES",
    "UNKNOWN_SECTOR",
    "AnswerFact",
    "AnswerStatus",
    "CheckinFact",
    "IntroFact",
    "MatchGroupFact",
    "MatchKind",
    "MeetingFact",
    "MeetingRow",
    "MeetingStatus",
    "MemberFact",
    "MetAnswer",
    "MonthCount",
    "Report",
    "ReportRequest",
    "RoundRow",
    "Totals",
    "build_report",
    "default_range",
    "share",
]


def default_range(now: datetime, zone: str) -> tuple[datetime, datetime]:
    """The last twelve calendar months in `zone`, as UTC: (start, now).

    `start` is local midnight on the first day of the month eleven months before the month
    of `now`; with `now` on 23 Nov 2026 in Oslo that is 1 Dec 2025 00:00 (23:00 UTC on 30
    Nov). The current month is included up to `now`.
    """
    _require_aware("now", now)
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    first = date(local.year, local.month, 1) - relativedelta(months=11)
    start = datetime(first.year, first.month, 1, tzinfo=tz)
    return start.astimezone(UTC), now.astimezone(UTC)


# --- outputs ------------------------------------------------------------------------------


def _frozen(mapping: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(sorted(mapping.items())))


@dataclass(frozen=True, slots=True)
class MeetingRow:
    meeting_id: int
    date_local: date
    title: str
    status: MeetingStatus
    going: int
    maybe: int
    not_going: int
    waitlist: int
    attended: int | None  # check-ins; None when the meeting has no check-in
    # participants by sector: attended when the meeting has a check-in, else going
    by_sector: Mapping[str, int]
    new_participants: int
    returning_participants: int
    participants: int = 0  # sum of by_sector; 0 for a cancelled meeting
    cross_sector_contacts: int = 0  # see the module docstring (the chart's line)
    collaborations: int = 0  # started, nearest to this meeting (the chart's second line)

    @property
    def answers(self) -> int:
        return self.going + self.maybe + self.not_going + self.waitlist

    @property
    def checked_in(self) -> bool:
        return self.attended is not None

    @property
    def anonymous_participants(self) -> int:
        return self.participants - self.new_participants - self.returning_participants


@dataclass(frozen=True, slots=True)
class RoundRow:
    round_id: int
    date_local: date
    kind: MatchKind
    groups: int
    people: int
    cross_sector_groups: int
    cross_sector_share: float | None
    answered: int
    met_yes: int
    met_share: float | None


@dataclass(frozen=True, slots=True)
class MonthCount:
    month: date  # the first day of the local month
    introductions: int
    cumulative: int  # all introductions up to the end of this month, before the range too


@dataclass(frozen=True, slots=True)
class Totals:
    meetings: int  # held (not cancelled) meetings in range
    unique_participants: int
    new_participants: int
    answers: int
    attended: int  # check-ins, summed over meetings with a check-in
    pairs: int
    cross_sector_share: float | None
    met_share: float | None
    unique_cross_sector_contacts: int
    contacts_per_participant: float
    introductions_in_range: int
    introductions_before: int
    introductions_growth: tuple[MonthCount, ...]
    cancelled_meetings: int = 0
    participated_before: int = 0  # unique participants who had come before the range
    participations: int = 0  # sum of participants over held meetings, anonymised included
    checked_in_meetings: int = 0
    tables: int = 0
    rounds: int = 0
    matched_people: int = 0  # distinct people in the groups in range
    # People in held meetings in range by sector: each known person once (their profile's
    # sector), each anonymised participation once. Sums to `people`.
    participants_by_sector: Mapping[str, int] = field(default_factory=lambda: _frozen({}))

    @property
    def people(self) -> int:
        """Unique participants plus anonymised participations (the national view's count)."""
        return sum(self.participants_by_sector.values())


@dataclass(frozen=True, slots=True)
class Report:
    request: ReportRequest
    meetings: tuple[MeetingRow, ...]
    rounds: tuple[RoundRow, ...]
    totals: Totals
    sectors: tuple[str, ...] = field(default=())  # every sector key in `by_sector`, sorted
    collaborations: CollabCounts = field(default_factory=CollabCounts)
    # meeting id → proposals, accepted items, presenters by sector (bot/domain/programme.py)
    programme: Mapping[int, ProgrammeCounts] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_empty(self) -> bool:
        return not self.meetings and not self.rounds and not self.collaborations.started


def share(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by."""
    return None if whole == 0 else part / whole


# --- computation --------------------------------------------------------------------------


def _order(meeting: MeetingFact) -> tuple[datetime, int]:
    return (meeting.starts_at, meeting.meeting_id)


def _participants(
    meetings: Sequence[MeetingFact],
    answers: Iterable[AnswerFact],
    checkins: Iterable[CheckinFact],
) -> tuple[dict[int, list[tuple[int | None, str]]], set[int]]:
    """meeting id → (person, sector) of each participant (known people once); checked-in ids."""
    by_checkin: dict[int, list[CheckinFact]] = defaultdict(list)
    for checkin in checkins:
        by_checkin[checkin.meeting_id].append(checkin)
    by_going: dict[int, list[AnswerFact]] = defaultdict(list)
    for answer in answers:
        if answer.status == "going":
            by_going[answer.meeting_id].append(answer)
    result: dict[int, list[tuple[int | None, str]]] = {}
    for meeting in meetings:
        if meeting.status == "cancelled":
            result[meeting.meeting_id] = []
            continue
        source: Sequence[CheckinFact | AnswerFact] = by_checkin.get(
            meeting.meeting_id
        ) or by_going.get(meeting.meeting_id, [])
        seen: set[int] = set()
        people: list[tuple[int | None, str]] = []
        for fact in source:
            if fact.person is not None:
                if fact.person in seen:
                    continue
                seen.add(fact.person)
            people.append((fact.person, fact.sector or UNKNOWN_SECTOR))
        result[meeting.meeting_id] = people
    return result, set(by_checkin)


def _first_meetings(
    meetings: Sequence[MeetingFact], participants: Mapping[int, list[tuple[int | None, str]]]
) -> dict[int, int]:
    """person → id of the first held meeting (all time) where they participated."""
    first: dict[int, int] = {}
    for meeting in sorted(meetings, key=_order):
        for person, _ in participants.get(meeting.meeting_id, ()):
            if person is not None and person not in first:
                first[person] = meeting.meeting_id
    return first


@dataclass(slots=True)
class _RoundAcc:
    round_at: datetime
    kind: MatchKind
    groups: int = 0
    people: int = 0
    cross: int = 0
    answered: int = 0
    met_yes: int = 0


def _nearest(held: Sequence[MeetingFact], moment: datetime) -> int | None:
    """The index in `held` (sorted by start) of the meeting nearest `moment`; ties → earlier."""
    if not held:
        return None
    starts = [m.starts_at for m in held]
    i = bisect.bisect_left(starts, moment)
    if i == 0:
        return 0
    if i == len(held):
        return i - 1
    before, after = moment - starts[i - 1], starts[i] - moment
    return i - 1 if before <= after else i


def _months(request: ReportRequest) -> list[date]:
    tz = request.tz
    first = request.start.astimezone(tz).date().replace(day=1)
    last = (request.end - timedelta(microseconds=1)).astimezone(tz).date().replace(day=1)
    months: list[date] = []
    current = first
    while current <= last:
        months.append(current)
        current += relativedelta(months=1)
    return months


def _introductions(
    request: ReportRequest, intros: Iterable[IntroFact]
) -> tuple[int, int, tuple[MonthCount, ...]]:
    tz = request.tz
    before = 0
    per_month: Counter[date] = Counter()
    for intro in intros:
        if intro.created_at < request.start:
            before += 1
        elif request.contains(intro.created_at):
            per_month[intro.created_at.astimezone(tz).date().replace(day=1)] += 1
    growth: list[MonthCount] = []
    running = before
    for month in _months(request):
        running += per_month[month]
        growth.append(MonthCount(month, per_month[month], running))
    return sum(per_month.values()), before, tuple(growth)


def build_report(
    request: ReportRequest,
    meetings: Iterable[MeetingFact],
    answers: Iterable[AnswerFact],
    checkins: Iterable[CheckinFact],
    groups: Iterable[MatchGroupFact],
    intros: Iterable[IntroFact],
    collaborations: Iterable[CollabFact] = (),
) -> Report:
    """The report for `request`; facts outside the range are allowed (see the module doc)."""
    tz = request.tz
    all_meetings = sorted(meetings, key=_order)
    answer_list = list(answers)
    participants, checked_in_ids = _participants(all_meetings, answer_list, checkins)
    first = _first_meetings(all_meetings, participants)

    in_range = [m for m in all_meetings if request.contains(m.starts_at)]
    held = [m for m in in_range if m.status != "cancelled"]
    range_ids = {m.meeting_id for m in in_range}
    statuses: dict[int, Counter[str]] = defaultdict(Counter)
    for answer in answer_list:
        if answer.meeting_id in range_ids:
            statuses[answer.meeting_id][answer.status] += 1

    # Match rounds in range, and the cross-sector contacts first made in each.
    range_groups = sorted(
        (g for g in groups if request.contains(g.round_at)), key=lambda g: (g.round_at, g.round_id)
    )
    rounds: dict[int, _RoundAcc] = {}
    contacts: set[frozenset[object]] = set()
    contacts_by_meeting: Counter[int] = Counter()
    people_in_groups: set[object] = set()
    for index, group in enumerate(range_groups):
        acc = rounds.setdefault(group.round_id, _RoundAcc(group.round_at, group.kind))
        acc.groups += 1
        acc.people += len(group.members)
        if len({m.sector for m in group.members}) >= 2:
            acc.cross += 1
        acc.answered += sum(1 for m in group.members if m.met is not None)
        acc.met_yes += sum(1 for m in group.members if m.met == "yes")
        # Anonymised members get a key of their own per appearance.
        keys: list[object] = [
            m.person if m.person is not None else ("anonymous", index, position)
            for position, m in enumerate(group.members)
        ]
        people_in_groups.update(keys)
        nearest = _nearest(held, group.round_at)
        for a in range(len(keys)):
            for b in range(a + 1, len(keys)):
                if group.members[a].sector == group.members[b].sector or keys[a] == keys[b]:
                    continue
                pair = frozenset((keys[a], keys[b]))
                if pair in contacts:
                    continue
                contacts.add(pair)
                if nearest is not None:
                    contacts_by_meeting[held[nearest].meeting_id] += 1

    collab_counts = collaboration_counts(collaborations, request.start, request.end, request.zone)
    collabs_by_meeting: Counter[int] = Counter()
    for moment in collab_counts.started_moments:
        nearest = _nearest(held, moment)
        if nearest is not None:
            collabs_by_meeting[held[nearest].meeting_id] += 1

    meeting_rows: list[MeetingRow] = []
    sectors: set[str] = set()
    for meeting in in_range:
        counts = statuses.get(meeting.meeting_id, Counter())
        cancelled = meeting.status == "cancelled"
        people = participants.get(meeting.meeting_id, [])
        by_sector = Counter(sector for _, sector in people)
        sectors.update(by_sector)
        known = [p for p, _ in people if p is not None]
        new = sum(1 for p in known if first.get(p) == meeting.meeting_id)
        attended = len(people) if meeting.meeting_id in checked_in_ids and not cancelled else None
        meeting_rows.append(
            MeetingRow(
                meeting_id=meeting.meeting_id,
                date_local=meeting.starts_at.astimezone(tz).date(),
                title=meeting.title,
                status=meeting.status,
                going=counts["going"],
                maybe=counts["maybe"],
                not_going=counts["not_going"],
                waitlist=counts["waitlist"],
                attended=attended,
                by_sector=_frozen(by_sector),
                new_participants=new,
                returning_participants=len(known) - new,
                participants=len(people),
                cross_sector_contacts=contacts_by_meeting[meeting.meeting_id],
                collaborations=collabs_by_meeting[meeting.meeting_id],
            )
        )

    round_rows = tuple(
        RoundRow(
            round_id=round_id,
            date_local=acc.round_at.astimezone(tz).date(),
            kind=acc.kind,
            groups=acc.groups,
            people=acc.people,
            cross_sector_groups=acc.cross,
            cross_sector_share=share(acc.cross, acc.groups),
            answered=acc.answered,
            met_yes=acc.met_yes,
            met_share=share(acc.met_yes, acc.answered),
        )
        for round_id, acc in rounds.items()
    )

    unique = {p for m in held for p, _ in participants[m.meeting_id] if p is not None}
    people_by_sector: Counter[str] = Counter()
    counted: set[int] = set()
    for meeting in held:
        for person, sector in participants[meeting.meeting_id]:
            if person is not None:
                if person in counted:
                    continue
                counted.add(person)
            people_by_sector[sector] += 1
    new_total = sum(row.new_participants for row in meeting_rows)
    intro_count, intro_before, growth = _introductions(request, intros)
    all_groups = sum(r.groups for r in round_rows)
    totals = Totals(
        meetings=len(held),
        unique_participants=len(unique),
        new_participants=new_total,
        answers=sum(row.answers for row in meeting_rows),
        attended=sum(row.attended or 0 for row in meeting_rows),
        pairs=sum(r.groups for r in round_rows if r.kind == "pairs"),
        cross_sector_share=share(sum(r.cross_sector_groups for r in round_rows), all_groups),
        met_share=share(sum(r.met_yes for r in round_rows), sum(r.answered for r in round_rows)),
        unique_cross_sector_contacts=len(contacts),
        contacts_per_participant=(
            len(contacts) * 2 / len(people_in_groups) if people_in_groups else 0.0
        ),
        introductions_in_range=intro_count,
        introductions_before=intro_before,
        introductions_growth=growth,
        cancelled_meetings=len(in_range) - len(held),
        participated_before=len(unique) - new_total,
        participations=sum(row.participants for row in meeting_rows),
        checked_in_meetings=sum(1 for row in meeting_rows if row.checked_in),
        tables=sum(r.groups for r in round_rows if r.kind == "tables"),
        rounds=len(round_rows),
        matched_people=len(people_in_groups),
        participants_by_sector=_frozen(people_by_sector),
    )
    return Report(
        request=request,
        meetings=tuple(meeting_rows),
        rounds=round_rows,
        totals=totals,
        sectors=tuple(sorted(sectors)),
        collaborations=collab_counts,
    )
