"""Bad input through the real command tree: every option of every command, nasty values.

Each case invokes one slash command through the emulator with one option set to a hostile
value (the others valid) and checks, whatever the value:

- the interaction is answered (a reply, a deferral with a follow-up, or a modal);
- nothing unexpected is logged (no "unexpected error", no discord.py "Ignoring exception");
- nothing the bot posted can ping anyone (no user, role or @everyone mention);
- when the answer is a localised error, the database is exactly as it was (no partial write).

The cases come from two sources: a fixed corpus of the classes people actually type
(markdown, mentions, zero-width and right-to-left characters, 4,000-character strings,
emoji, impossible dates and times, out-of-range numbers) and hypothesis-generated strings
and integers (derandomised, so CI runs the same cases every time). The distinct cases
run are counted; docs/reliability.md quotes the count.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.storage.profiles import ProfileRepository, ProfileText
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_meetings import configure

STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10

# What people type, by class. Each string option gets every one of these.
CORPUS: tuple[str, ...] = (
    "",
    " ",
    "\u200b",  # zero-width space only
    "\u200b\u200c\u200d\u2060\ufeff",  # every zero-width character
    "\u202eevil\u202c",  # right-to-left override
    "مرحبا بالعالم",  # Arabic
    "שלום",  # Hebrew
    "**bold** __under__ ~~strike~~ `code` ```block``` > quote",
    "||spoiler|| [link](https://example.invalid) # heading",
    "@everyone @here",
    "<@123456789012345678> <@&123456789012345678> <#123456789012345678>",
    "<t:0:F> <:custom:123456789012345678> <a:anim:123456789012345678>",
    "🎉🇳🇴👩🏽‍💻❤️‍🔥",
    "e\u0301\u0301\u0301\u0301\u0301",  # combining marks
    "x" * 4000,
    "æøå " * 1000,
    "line1\nline2\r\nline3\ttab",
    "{name} {0} {} %s %(x)s",  # format-string injection into the catalogue
    "'; DROP TABLE meetings; --",
    "\x00\x01\x07",
    "2026-02-30",
    "31.12.1999",
    "29.2.2027",
    "28.03.2027",  # the spring-forward day in Oslo
    "25:61",
    "02:30",
    "-1",
    "0",
    "99999999999999999999",
    "1h-30",
    "every 0 weeks",
    "#GGHHII",
    "Ünïcödé_KEY",
)

# Integer options: below, at and above any range, and absurd.
INTEGERS: tuple[int, ...] = (-(2**53), -1, 0, 1, 25, 10_001, 2**31, 2**53)


@dataclass
class Case:
    command: str
    option: str
    value: Any
    options: dict[str, Any]

    def key(self) -> str:
        return f"{self.command}|{self.option}|{self.value!r}"


@dataclass
class Seen:
    cases: set[str] = field(default_factory=set)
    errors: dict[str, int] = field(default_factory=dict)


def _leaves(options: list[dict[str, Any]] | None, path: list[str]) -> Iterator[tuple[str, list]]:
    options = options or []
    subs = [o for o in options if o["type"] in (1, 2)]
    if not subs:
        yield " ".join(path), options
    for sub in subs:
        yield from _leaves(sub.get("options"), [*path, sub["name"]])


def database_digest(path: Path) -> str:
    """Every row of every table, read from the committed file."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        digest = hashlib.sha256()
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(tables):
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            digest.update(table.encode())
            for row in sorted(map(repr, rows)):
                digest.update(row.encode())
        return digest.hexdigest()
    finally:
        con.close()


class ErrorKeys(logging.Handler):
    """Collects the tree's "answered with error key" debug lines and every unexpected log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.keys: list[str] = []
        self.unexpected: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.name == "bot.tree" and message.startswith("answered with "):
            self.keys.append(message.removeprefix("answered with ").split()[0])
        if record.levelno >= logging.ERROR or "Ignoring exception" in message:
            self.unexpected.append(f"{record.name}: {message}")


class Fuzzer:
    def __init__(self, runner: BotRunner, world: World) -> None:
        self.runner = runner
        self.world = world
        self.emu = world.emu
        self.seen = Seen()
        self.handler = ErrorKeys()
        self.valid: dict[str, dict[str, Any]] = {}

    def schema(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for command in self.emu.synced_commands():
            for path, leaf in _leaves(command.get("options"), [command["name"]]):
                out[path] = leaf
        return out

    async def run(self, case: Case) -> None:
        self.seen.cases.add(case.key())
        before_messages = set(self.emu.message_meta)
        before = database_digest(self.runner.db_path)
        self.handler.keys.clear()
        self.handler.unexpected.clear()
        result = await self.emu.invoke(
            self.world.guild.id,
            self.world.organiser.id,
            case.command,
            options=case.options,
            channel_id=self.world.announce.id,
            timeout=8,
        )
        assert result.error is None, (case.key(), result.error)
        assert result.response_type is not None, case.key()
        assert self.runner.bot is not None
        await self.runner.bot.wait_until_settled()
        assert not self.handler.unexpected, (case.key(), self.handler.unexpected)
        for message_id in set(self.emu.message_meta) - before_messages:
            self.no_pings(case, message_id)
        if self.handler.keys:
            for key in self.handler.keys:
                self.seen.errors[key] = self.seen.errors.get(key, 0) + 1
            after = database_digest(self.runner.db_path)
            assert after == before, f"{case.key()}: error {self.handler.keys} but the data changed"

    def no_pings(self, case: Case, message_id: int) -> None:
        channel_id = self.emu._message_channel(message_id)
        if channel_id is None:
            return
        message = self.emu.message(channel_id, message_id)
        if message is None:
            return
        assert not message.get("mention_everyone"), case.key()
        assert not message.get("mention_roles"), case.key()
        assert not message.get("mentions"), case.key()


def _values_for(option: dict[str, Any]) -> tuple[Any, ...]:
    if option.get("choices"):
        return ()  # Discord only sends listed choices
    if option["type"] == STRING:
        return CORPUS
    if option["type"] == INTEGER:
        return INTEGERS
    return ()


@pytest.fixture
async def fuzz(fast: BotRunner, world: World) -> Any:
    fuzzer = Fuzzer(fast, world)
    logging.getLogger().addHandler(fuzzer.handler)
    previous = logging.getLogger("bot.tree").level
    logging.getLogger("bot.tree").setLevel(logging.DEBUG)
    try:
        await prepare(fuzzer)
        yield fuzzer
    finally:
        logging.getLogger().removeHandler(fuzzer.handler)
        logging.getLogger("bot.tree").setLevel(previous)


async def prepare(fuzzer: Fuzzer) -> None:
    """A configured server with one meeting and one series, so lists have something in them."""
    world, emu = fuzzer.world, fuzzer.emu
    await configure(world, "nb")
    meeting = {"title": "Inkluderingsdagen", "date": "4.3.2027", "start": "08:30", "end": "10:00"}
    await emu.invoke(world.guild.id, world.organiser.id, "meeting create", options=meeting)
    series = {"rule": "første torsdag i måneden 08:30-10:00", "title": "Frokostmøte"}
    await emu.invoke(world.guild.id, world.organiser.id, "series create", options=series)
    # The organiser is introduced, so /partner seek reaches its parsing.
    assert fuzzer.runner.db is not None
    profiles, now = ProfileRepository(fuzzer.runner.db), fuzzer.runner.clock.now()
    await profiles.save_text(
        world.guild.id, world.organiser.id, ProfileText("Ola"), now, opt_in=True
    )
    await profiles.set_sector(world.guild.id, world.organiser.id, "business", now)
    meeting_id = await _first_choice(fuzzer, "meeting cancel", "meeting")
    series_id = await _first_choice(fuzzer, "series stop", "series")
    fuzzer.valid = {
        "meeting create": meeting,
        "series create": series,
        "series skip": {"series": series_id, "date": "6.5.2027"},
        "community add_sector": {"key": "tro"},
        "community add_interest": {"key": "idrett"},
        "setup national_report": {"state": "on"},
        "partner seek": {"title": "Språkkafé", "description": "Et ukentlig språkkafé"},
        "team set": {"role": "project_lead", "member": world.members[0].id},
        "team remove": {"role": "project_lead", "member": world.members[0].id},
        "collaboration add": {"title": "Felles søknad", "member": world.members[0].id},
        "programme propose": {
            "meeting": meeting_id,
            "title": "Jobb for alle",
            "summary": "Hva vi lærte",
            "kind": "case",
        },
        "programme edit": {"proposal": "1"},
        "programme withdraw": {"proposal": "1"},
        "programme arrange": {"item": "1", "slot": "09:15"},
        "programme review": {"meeting": meeting_id},
    }
    for command in ("edit", "cancel", "repost", "attendees", "export", "checkin", "calendar"):
        fuzzer.valid[f"meeting {command}"] = {"meeting": meeting_id}
    for command in ("edit", "stop"):
        fuzzer.valid[f"series {command}"] = {"series": series_id}


async def _first_choice(fuzzer: Fuzzer, command: str, option: str) -> Any:
    world = fuzzer.world
    choices = await fuzzer.emu.autocomplete(
        world.guild.id, world.organiser.id, command, focused=option
    )
    assert choices, f"no {option} to choose in {command}"
    return choices[0]["value"]


# The string options that parse what people type, with the commands that carry them.
PARSED = (
    ("meeting create", "date"),
    ("meeting create", "start"),
    ("meeting create", "end"),
    ("meeting create", "deadline"),
    ("meeting edit", "date"),
    ("meeting edit", "end"),
    ("series create", "rule"),
    ("series skip", "date"),
    ("community add_sector", "key"),
    ("community add_sector", "colour"),
    ("reminders plan", "time"),
    ("report", "from"),
    ("partner seek", "deadline"),
)


# Commands whose success ends what the other cases need (they run last, once each).
DESTRUCTIVE = {"meeting cancel", "series stop", "privacy delete"}


def corpus_cases(fuzzer: Fuzzer) -> list[Case]:
    """Options that parse text get the whole corpus; the others a share of it (every class
    is still tried on every command, the share rotating from option to option)."""
    cases: list[Case] = []
    rotation = 0
    for command, leaf in sorted(fuzzer.schema().items()):
        if command in DESTRUCTIVE:
            continue
        base = fuzzer.valid.get(command, {})
        for option in leaf:
            values = _values_for(option)
            if option["type"] == STRING and (command, option["name"]) not in PARSED:
                rotation += 1
                values = values[rotation % SHARE :: SHARE]
            for value in values:
                cases.append(Case(command, option["name"], value, {**base, option["name"]: value}))
    return cases


SHARE = 4  # a free-text option gets every fourth corpus string


async def test_every_option_with_the_corpus(fuzz: Fuzzer) -> None:
    cases = corpus_cases(fuzz)
    for case in cases:
        await fuzz.run(case)
    # Every command also runs once with only its valid options.
    for command in sorted(fuzz.schema()):
        if command not in DESTRUCTIVE:
            await fuzz.run(Case(command, "-", None, dict(fuzz.valid.get(command, {}))))
    assert len(fuzz.seen.cases) >= 200, len(fuzz.seen.cases)
    # The corpus reaches the validation of dates, times, rules, keys and numbers.
    assert fuzz.seen.errors, "no case was refused"
    print(f"\nbad input: {len(fuzz.seen.cases)} distinct cases, errors {fuzz.seen.errors}")


def fuzz_settings(max_examples: int) -> settings:
    """Hypothesis as the fuzz tests run it: the same examples every run, no deadline."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


hostile_text = st.text(
    alphabet=st.characters(
        codec="utf-8",
        categories=("L", "M", "N", "P", "S", "Z", "Cf"),
        include_characters="@<>#&:*_~`|\n",
    ),
    max_size=120,
) | st.sampled_from(CORPUS)


async def test_parsed_options_with_generated_text(fuzz: Fuzzer) -> None:
    """Hypothesis drives the cases from a thread; the bot and emulator run on this loop."""
    loop = asyncio.get_running_loop()
    failures: list[BaseException] = []

    @fuzz_settings(80)
    @given(target=st.sampled_from(PARSED), value=hostile_text)
    def check(target: tuple[str, str], value: str) -> None:
        command, option = target
        case = Case(command, option, value, {**fuzz.valid.get(command, {}), option: value})
        asyncio.run_coroutine_threadsafe(fuzz.run(case), loop).result(timeout=30)

    try:
        await asyncio.to_thread(check)
    except BaseException as error:  # re-raised below with hypothesis's minimal example
        failures.append(error)
    if failures:
        raise failures[0]
    assert len(fuzz.seen.cases) >= 50, len(fuzz.seen.cases)
    print(f"\ngenerated: {len(fuzz.seen.cases)} distinct cases, errors {fuzz.seen.errors}")


async def test_generated_numbers(fuzz: Fuzzer) -> None:
    loop = asyncio.get_running_loop()
    numeric = [
        (command, option["name"])
        for command, leaf in sorted(fuzz.schema().items())
        if command not in DESTRUCTIVE
        for option in leaf
        if option["type"] == INTEGER
    ]
    assert numeric

    @fuzz_settings(40)
    @given(target=st.sampled_from(numeric), value=st.integers(-(2**53), 2**53))
    def check(target: tuple[str, str], value: int) -> None:
        command, option = target
        case = Case(command, option, value, {**fuzz.valid.get(command, {}), option: value})
        asyncio.run_coroutine_threadsafe(fuzz.run(case), loop).result(timeout=30)

    await asyncio.to_thread(check)
    print(f"\nnumbers: {len(fuzz.seen.cases)} distinct cases, errors {fuzz.seen.errors}")


async def test_destructive_commands_with_bad_input(fuzz: Fuzzer) -> None:
    """Cancel and stop with hostile reasons and unknown ids: refused or done, never half."""
    for value in CORPUS[:12]:
        await fuzz.run(Case("meeting cancel", "meeting", value, {"meeting": value}))
        await fuzz.run(Case("series stop", "series", value, {"series": value}))
    for value in CORPUS:
        options = {**fuzz.valid["meeting cancel"], "reason": value}
        await fuzz.run(Case("meeting cancel", "reason", value, options))


INTRODUCTION = {
    "display_name": "Kari Nordmann",
    "organisation": "Frivilligsentralen",
    "role": "Daglig leder",
    "offers": "Lokaler og frivillige",
    "seeks": "Samarbeid med næringslivet",
}


async def test_introduction_form_with_the_corpus(fuzz: Fuzzer) -> None:
    """Every field of /introduce with every corpus string: the card is posted or edited (it
    fits Discord's limits, the emulator refuses what Discord would), never pings, or the
    form is refused with a message and the stored profile stays as it was."""
    world, emu = fuzz.world, fuzz.emu
    member = world.members[0]
    asked = await emu.invoke(world.guild.id, member.id, "introduce")
    first = await emu.submit_modal(asked, member.id, INTRODUCTION)
    message = first.primary
    assert message is not None
    await emu.select(
        int(message["channel_id"]),
        int(message["id"]),
        member.id,
        f"moteplass:profile:sector:{member.id}",
        ["business"],
    )
    assert fuzz.runner.bot is not None
    await fuzz.runner.bot.wait_until_settled()
    cases = 0
    for field_id in INTRODUCTION:
        for value in CORPUS:
            fuzz.handler.unexpected.clear()
            before_messages = set(emu.message_meta)
            asked = await emu.invoke(world.guild.id, member.id, "introduce")
            assert asked.modal is not None, (field_id, value)
            answer = await emu.submit_modal(asked, member.id, {**INTRODUCTION, field_id: value})
            assert answer.error is None and answer.response_type is not None, (field_id, value)
            await fuzz.runner.bot.wait_until_settled()
            case = Case("introduce", field_id, value, {})
            fuzz.seen.cases.add(case.key())
            assert not fuzz.handler.unexpected, (field_id, value, fuzz.handler.unexpected)
            for message_id in set(emu.message_meta) - before_messages:
                fuzz.no_pings(case, message_id)
            cards = emu.messages(world.intro.id)
            assert len(cards) == 1, "one card, edited in place"
            assert not cards[0].get("mentions") and not cards[0].get("mention_everyone")
            cases += 1
    assert cases == len(INTRODUCTION) * len(CORPUS)
