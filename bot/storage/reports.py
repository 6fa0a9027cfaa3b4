"""The facts a report is built from, read from SQL for one server.

Everything is filtered by `guild_id`: a server only ever sees its own data. Facts after
the end of the range are left out; facts before its start are kept, since "new versus
returning" and the introductions' running total need them (see `bot.domain.stats`).
Anonymous rows (left after a member deleted their data) become facts with `person=None`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import cast

from bot.domain.collaborations import CollabFact
from bot.domain.moments import from_stored, stored
from bot.domain.programme import programme_counts
from bot.domain.stats import (
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
    Report,
    ReportRequest,
    build_report,
)
from bot.storage.collaborations import CollaborationRepository
from bot.storage.programme import ProposalRepository
from bot.storage.rows import Repository


@dataclass(frozen=True, slots=True)
class ReportFacts:
    meetings: tuple[MeetingFact, ...]
    answers: tuple[AnswerFact, ...]
    checkins: tuple[CheckinFact, ...]
    groups: tuple[MatchGroupFact, ...]
    intros: tuple[IntroFact, ...]
    collaborations: tuple[CollabFact, ...] = ()


class ReportRepository(Repository):
    async def facts(self, guild_id: int, end: datetime) -> ReportFacts:
        """Every fact of `guild_id` up to (not including) `end`."""
        until = stored(end)
        meeting_rows = await self.db.fetchall(
            "SELECT id, starts_at, title, status FROM meetings "
            "WHERE guild_id = ? AND starts_at < ? ORDER BY starts_at, id",
            (guild_id, until),
        )
        meetings = tuple(
            MeetingFact(
                meeting_id=r["id"],
                starts_at=from_stored(r["starts_at"]),
                title=r["title"],
                status=cast(MeetingStatus, r["status"]),
            )
            for r in meeting_rows
        )
        answer_rows = await self.db.fetchall(
            "SELECT r.meeting_id, r.user_id, r.status, p.sector FROM rsvps r "
            "JOIN meetings m ON m.id = r.meeting_id AND m.guild_id = r.guild_id "
            "LEFT JOIN profiles p ON p.guild_id = r.guild_id AND p.user_id = r.user_id "
            "WHERE r.guild_id = ? AND m.starts_at < ? ORDER BY r.meeting_id, r.seq",
            (guild_id, until),
        )
        answers = [
            AnswerFact(r["meeting_id"], r["user_id"], cast(AnswerStatus, r["status"]), r["sector"])
            for r in answer_rows
        ]
        checkin_rows = await self.db.fetchall(
            "SELECT c.meeting_id, c.user_id, p.sector FROM checkins c "
            "JOIN meetings m ON m.id = c.meeting_id AND m.guild_id = c.guild_id "
            "LEFT JOIN profiles p ON p.guild_id = c.guild_id AND p.user_id = c.user_id "
            "WHERE c.guild_id = ? AND m.starts_at < ? ORDER BY c.meeting_id, c.user_id",
            (guild_id, until),
        )
        checkins = [CheckinFact(r["meeting_id"], r["user_id"], r["sector"]) for r in checkin_rows]
        anonymous = await self.db.fetchall(
            "SELECT a.meeting_id, a.kind, a.status, a.sector, a.people "
            "FROM anonymous_participation a JOIN meetings m ON m.id = a.meeting_id "
            "AND m.guild_id = a.guild_id WHERE a.guild_id = ? AND m.starts_at < ? "
            "ORDER BY a.rowid",
            (guild_id, until),
        )
        for r in anonymous:
            for _ in range(r["people"]):
                if r["kind"] == "checkin":
                    checkins.append(CheckinFact(r["meeting_id"], None, r["sector"]))
                else:
                    answers.append(
                        AnswerFact(
                            r["meeting_id"], None, cast(AnswerStatus, r["status"]), r["sector"]
                        )
                    )
        return ReportFacts(
            meetings=meetings,
            answers=tuple(answers),
            checkins=tuple(checkins),
            groups=await self._groups(guild_id, until),
            intros=await self._intros(guild_id, until),
            collaborations=await CollaborationRepository(self.db).facts(guild_id),
        )

    async def _groups(self, guild_id: int, until: str) -> tuple[MatchGroupFact, ...]:
        rows = await self.db.fetchall(
            "SELECT r.id AS round_id, r.created_at, r.kind, g.id AS group_id, "
            "mm.user_id, mm.sector, mm.met FROM match_rounds r "
            "JOIN match_groups g ON g.round_id = r.id AND g.guild_id = r.guild_id "
            "JOIN match_members mm ON mm.group_id = g.id AND mm.guild_id = r.guild_id "
            "WHERE r.guild_id = ? AND r.created_at < ? "
            "ORDER BY r.created_at, r.id, g.position, mm.id",
            (guild_id, until),
        )
        members: dict[int, list[MemberFact]] = defaultdict(list)
        heads: dict[int, tuple[int, datetime, MatchKind]] = {}
        for r in rows:
            heads.setdefault(
                r["group_id"],
                (r["round_id"], from_stored(r["created_at"]), cast(MatchKind, r["kind"])),
            )
            members[r["group_id"]].append(
                MemberFact(r["user_id"], r["sector"], cast(MetAnswer | None, r["met"]))
            )
        return tuple(
            MatchGroupFact(round_id, round_at, kind, tuple(members[group_id]))
            for group_id, (round_id, round_at, kind) in heads.items()
        )

    async def _intros(self, guild_id: int, until: str) -> tuple[IntroFact, ...]:
        rows = await self.db.fetchall(
            "SELECT user_id, created_at FROM profiles WHERE guild_id = ? AND created_at < ? "
            "UNION ALL SELECT NULL, created_at FROM anonymous_introductions "
            "WHERE guild_id = ? AND created_at < ?",
            (guild_id, until, guild_id, until),
        )
        return tuple(IntroFact(r[0], from_stored(r[1])) for r in rows)

    async def report(self, guild_id: int, request: ReportRequest) -> Report:
        """The report of `guild_id` for `request`."""
        facts = await self.facts(guild_id, request.end)
        report = build_report(
            request,
            facts.meetings,
            facts.answers,
            facts.checkins,
            facts.groups,
            facts.intros,
            facts.collaborations,
        )
        listed = {row.meeting_id for row in report.meetings}
        programme = programme_counts(
            f for f in await ProposalRepository(self.db).facts(guild_id) if f.meeting_id in listed
        )
        return replace(report, programme=MappingProxyType(programme))
