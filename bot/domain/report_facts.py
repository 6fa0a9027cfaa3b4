"""The facts a report is built from (frozen dataclasses the storage layer fills from SQL)
and what a report is asked for; `bot.domain.stats` turns them into a `Report`. Pure."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MeetingStatus: TypeAlias = Literal["scheduled", "cancelled"]
AnswerStatus: TypeAlias = Literal["going", "maybe", "not_going", "waitlist"]
MatchKind: TypeAlias = Literal["pairs", "tables"]
MetAnswer: TypeAlias = Literal["yes", "no", "planned"]

ANSWER_STATUSES: tuple[AnswerStatus, ...] = ("going", "maybe", "not_going", "waitlist")


def _require_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _require_one_of(what: str, value: str | None, allowed: Collection[str]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}")


_MEETING_STATUSES = frozenset({"scheduled", "cancelled"})
_MATCH_KINDS = frozenset({"pairs", "tables"})
_MET_ANSWERS = frozenset({"yes", "no", "planned"})

# The sector key for people whose sector is not known (no profile, or anonymised).
UNKNOWN_SECTOR = "unknown"


# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeetingFact:
    meeting_id: int
    starts_at: datetime  # aware, UTC
    title: str
    status: MeetingStatus

    def __post_init__(self) -> None:
        _require_aware("starts_at", self.starts_at)
        _require_one_of("meeting status", self.status, _MEETING_STATUSES)


@dataclass(frozen=True, slots=True)
class AnswerFact:
    """One person's answer to one meeting. `person` is None once anonymised."""

    meeting_id: int
    person: int | None
    status: AnswerStatus
    sector: str | None

    def __post_init__(self) -> None:
        _require_one_of("answer status", self.status, ANSWER_STATUSES)


@dataclass(frozen=True, slots=True)
class CheckinFact:
    """One person who actually came. `person` is None once anonymised."""

    meeting_id: int
    person: int | None
    sector: str | None


@dataclass(frozen=True, slots=True)
class MemberFact:
    person: int | None
    sector: str
    met: MetAnswer | None = None  # None: did not answer "did you meet?"

    def __post_init__(self) -> None:
        if self.met is not None:
            _require_one_of("met answer", self.met, _MET_ANSWERS)


@dataclass(frozen=True, slots=True)
class MatchGroupFact:
    """One group (pair, trio or table) of a match round."""

    round_id: int
    round_at: datetime  # aware
    kind: MatchKind
    members: tuple[MemberFact, ...]

    def __post_init__(self) -> None:
        _require_aware("round_at", self.round_at)
        _require_one_of("match kind", self.kind, _MATCH_KINDS)


@dataclass(frozen=True, slots=True)
class IntroFact:
    person: int | None
    created_at: datetime  # aware

    def __post_init__(self) -> None:
        _require_aware("created_at", self.created_at)


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """The half-open range `[start, end)` (aware datetimes) and the server's IANA zone."""

    start: datetime
    end: datetime
    zone: str

    def __post_init__(self) -> None:
        _require_aware("start", self.start)
        _require_aware("end", self.end)
        if self.start >= self.end:
            raise ValueError("start must be before end")
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.zone!r}") from None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end
