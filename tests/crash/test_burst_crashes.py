"""SIGKILL of the real bot process in the middle of a burst of reactions, with a channel
reminder of the same meeting falling due in the same minute (fault scenario 5).

The burst's reactions are all on Discord (the emulator) at once; the bot takes them from
the gateway and edits the embed every `EMBED_EDIT_INTERVAL`. It is killed at its second
embed edit, while the reminder (made due at that moment by `/reminders plan`) may or may
not be out. After the restart the answers equal the reactions, the embed shows them, and
the reminder is posted once. Reminders are due now as in test_reminder_crashes.py (plan
time 00:00, a grace window of 30 hours).
"""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.rsvp import EMOJI, Choice, Counts
from bot.i18n import Catalog
from bot.services.meetings import counts_line
from tests.crash.harness import BotProcess
from tests.crash.test_meeting_crashes import MESSAGE, counts, meeting_titled, rows
from tests.crash.test_reminder_crashes import ledger, meeting_options, replies, set_up
from tests.e2e.conftest import World

GOING, MAYBE, NOT_GOING = (EMOJI[c] for c in (Choice.GOING, Choice.MAYBE, Choice.NOT_GOING))


@pytest.fixture
def process_env() -> dict[str, str]:
    return {"REMINDER_GRACE_HOURS": "30"}


@pytest.mark.parametrize("at", ["second-embed-edit", "reminder-post"])
async def test_kill_mid_burst_with_a_reminder_due_loses_no_answer_and_posts_once(
    process: BotProcess, world: World, catalog: Catalog, at: str
) -> None:
    emu = world.emu
    people = [emu.add_member(world.guild.id, f"burst{n}") for n in range(24)]
    await process.start()
    await set_up(world, channel_days=1)  # a week ahead: the reminder is not due yet
    await emu.invoke(world.guild.id, world.organiser.id, "meeting create", meeting_options(7))
    meeting = meeting_titled(process, "Frokostmøte")
    channel, message = world.announce.id, meeting.message_id
    # 16 going, 4 maybe, 4 going who change their mind to not going
    burst: list[tuple[int, int, int, str, bool]] = []
    for n, person in enumerate(people):
        burst.append((channel, message, person.id, MAYBE if 16 <= n < 20 else GOING, True))
    for person in people[20:]:
        burst += [(channel, message, person.id, NOT_GOING, True)]
        burst += [(channel, message, person.id, GOING, False)]
    edits = emu.count_requests("PATCH", rf"/channels/{channel}/messages/{message}$")
    if at == "second-embed-edit":
        point = process.kill_on(
            "PATCH", MESSAGE, nth=2, where=lambda r: r.path.endswith(f"/{message}")
        )
    else:  # the reminder, a reply to the announcement
        point = process.kill_on(
            "POST",
            "/channels/{channel_id}/messages",
            where=lambda r: bool((r.json or {}).get("message_reference")),
        )

    async def burst_and_reminder_due() -> None:
        plan = emu.invoke(
            world.guild.id, world.organiser.id, "reminders plan", options={"channel_days": 7}
        )
        # in two halves, so that the second embed edit falls in the second half
        half = len(burst) // 2
        await emu.react_many(burst[:half])
        await emu.wait_until(
            lambda: emu.count_requests("PATCH", rf"/channels/{channel}/messages/{message}$") > edits
        )
        await asyncio.gather(emu.react_many(burst[half:]), plan)

    await process.crash_during(point, burst_and_reminder_due())
    await process.start()
    want = {
        person.id: "maybe" if 16 <= n < 20 else "not_going" if n >= 20 else "going"
        for n, person in enumerate(people)
    }

    def answers() -> dict[int, str]:
        found = rows(
            process, "SELECT user_id, status FROM rsvps WHERE meeting_id = ?", (meeting.id,)
        )
        return {r[0]: r[1] for r in found}

    await emu.wait_until(lambda: answers() == want, 10)
    expected = Counts(going=16, maybe=4, not_going=4, waitlist=0)
    assert counts(process, meeting.id) == expected
    _ = catalog.translator("en")
    shown = counts_line(_, expected)

    def embed_shows() -> bool:
        fields = emu.message(channel, message)["embeds"][0]["fields"]
        return any(f["name"] == _("meeting.embed.answers") and f["value"] == shown for f in fields)

    await emu.wait_until(embed_shows, 10)
    await emu.wait_until(lambda: ledger(process.db_path, "channel_reminder") == ["sent"], 20)
    assert len(replies(world)) == 1
    await process.restart()  # a clean start changes nothing
    assert len(replies(world)) == 1 and answers() == want and embed_shows()
    assert not process.errors(), process.log_tail()
