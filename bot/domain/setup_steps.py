"""The guided start (`/setup start`): which step a server is at and its checklist, from
stored facts only, so the flow resumes after any restart by reading the database.

Nothing here imports discord. The steps, in order:
1 channels and the organiser role, 2 language and time zone, 3 the first series,
4 the reminder plan, 5 the team's project lead and the team card, 6 the checklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from bot.domain.rule_phrases import ParsedRule, parse_rule

CHANNELS = 1
LANGUAGE = 2
SERIES = 3
REMINDERS = 4
TEAM = 5
CHECKLIST = 6
STEPS: tuple[int, ...] = (CHANNELS, LANGUAGE, SERIES, REMINDERS, TEAM, CHECKLIST)
# Each step's name in the catalogue: `setup_start.step.<name>`.
STEP_NAMES = {
    CHANNELS: "channels",
    LANGUAGE: "language",
    SERIES: "series",
    REMINDERS: "reminders",
    TEAM: "team",
    CHECKLIST: "checklist",
}

# The zones offered in step 2 (others: `/setup configure timezone`).
NORDIC_ZONES: tuple[str, ...] = (
    "Europe/Oslo",
    "Europe/Stockholm",
    "Europe/Copenhagen",
    "Europe/Helsinki",
    "Atlantic/Reykjavik",
)
# The zone suggested from the server's preferred locale (Discord's codes); else Oslo.
_LOCALE_ZONES = {"sv-SE": "Europe/Stockholm", "da": "Europe/Copenhagen", "fi": "Europe/Helsinki"}
DEFAULT_ZONE = "Europe/Oslo"


def suggested_zone(locale: str) -> str:
    return _LOCALE_ZONES.get(locale, DEFAULT_ZONE)


# The usual rhythms offered in step 3, as `parse_rule` reads them (shown through
# `describe_rule` in the server's language). The index is carried in custom ids.
RHYTHMS: tuple[str, ...] = (
    "first thursday 08:30-10:00",
    "last wednesday 08:30-10:00",
    "first tuesday 17:00-19:00",
    "second thursday 08:30-10:00",
    "third wednesday 17:00-19:00",
)


@dataclass(frozen=True, slots=True)
class Rhythm:
    index: int
    parsed: ParsedRule
    start_time: time
    end_time: time


def rhythm(index: int) -> Rhythm | None:
    """The offered rhythm at `index`, or None for an index not offered."""
    if not 0 <= index < len(RHYTHMS):
        return None
    parsed = parse_rule(RHYTHMS[index])
    assert parsed.start_time is not None and parsed.end_time is not None
    return Rhythm(index, parsed, parsed.start_time, parsed.end_time)


@dataclass(frozen=True, slots=True)
class SetupFacts:
    """What is stored for a server, as the flow needs it."""

    announce_channel: bool = False
    intro_channel: bool = False
    organiser_role: bool = False
    language_confirmed: bool = False
    series: bool = False
    meeting_announced: bool = False
    reminder_plan: bool = False
    project_lead: bool = False
    team_card: bool = False


# The checklist's items, in order, each with the step that does it.
ITEMS: tuple[tuple[str, int], ...] = (
    ("announce_channel", CHANNELS),
    ("intro_channel", CHANNELS),
    ("organiser_role", CHANNELS),
    ("language", LANGUAGE),
    ("series", SERIES),
    ("meeting", SERIES),
    ("reminder_plan", REMINDERS),
    ("project_lead", TEAM),
    ("team_card", TEAM),
)
# What is left after the guided start, always listed with its command.
LATER: tuple[str, ...] = ("team_roles", "sectors", "national_report")


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    name: str
    step: int
    done: bool


def checklist(facts: SetupFacts) -> list[ChecklistItem]:
    done = {
        "announce_channel": facts.announce_channel,
        "intro_channel": facts.intro_channel,
        "organiser_role": facts.organiser_role,
        "language": facts.language_confirmed,
        "series": facts.series,
        "meeting": facts.meeting_announced,
        "reminder_plan": facts.reminder_plan,
        "project_lead": facts.project_lead,
        "team_card": facts.team_card,
    }
    return [ChecklistItem(name, step, done[name]) for name, step in ITEMS]


def step_done(facts: SetupFacts, step: int) -> bool:
    """Every checklist item of `step` done (the checklist step is never "done")."""
    items = [item for item in checklist(facts) if item.step == step]
    if step == SERIES:
        # The meeting comes from the series by itself (the reminders' path).
        items = [item for item in items if item.name == "series"]
    return bool(items) and all(item.done for item in items)


def current_step(facts: SetupFacts) -> int:
    """The first step not done; the checklist when all are."""
    for step in STEPS:
        if step != CHECKLIST and not step_done(facts, step):
            return step
    return CHECKLIST


def all_done(facts: SetupFacts) -> bool:
    return all(item.done for item in checklist(facts))
