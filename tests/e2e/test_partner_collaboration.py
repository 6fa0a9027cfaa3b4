"""From a partner search to a counted collaboration, through the real client: the 30-day
question in the partner thread, *We started working together*, the form, the other
person's confirmation (across a restart), and the report's count by origin."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import Catalog
from bot.services.partners import collab_custom_id, draft_custom_id, interest_custom_id
from bot.storage.partners import members_of_interest
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_collaborations import component_ids, repo, report_counts, requests_to
from tests.e2e.test_matching import bot_messages, buttons
from tests.e2e.test_meetings import configure
from tests.e2e.test_partners import (
    cast,
    clock,
    drafted,
    only_search,
    partner_threads,
    press,
    service,
)
from tests.e2e.test_partners import repo as partner_repo


async def test_a_partner_thread_becomes_a_counted_collaboration(
    fast: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world)
    emu = world.emu
    m = await cast(fast, world)
    message, search = await drafted(fast, world, m[0])
    await press(world, message, m[0], draft_custom_id(search.id, "post"))
    search = await only_search(fast, world)
    card = emu.message(world.intro.id, search.message_id)  # type: ignore[arg-type]
    assert card is not None
    await press(world, card, m[1], interest_custom_id(search.id))
    (thread,) = partner_threads(world)
    thread_id = int(thread["id"])
    (interest,) = await partner_repo(fast).interests(world.guild.id, search.id)
    assert fast.db is not None
    assert await members_of_interest(fast.db, world.guild.id, interest.id) == [m[0].id, m[1].id]

    # Thirty days later the thread is asked; "We started working together" opens the form.
    clock(fast).set(clock(fast).now() + timedelta(days=31))
    await service(fast).sweep()
    (question,) = [msg for msg in bot_messages(world, thread_id) if buttons(msg)]
    start = collab_custom_id(interest.id)
    assert start in buttons(question)
    outsider = await emu.press_button(thread_id, int(question["id"]), m[3].id, start)
    assert outsider.modal is None
    assert catalog.text("en", "collab.error.not_in_group") in outsider.content
    asked = await emu.press_button(thread_id, int(question["id"]), m[1].id, start)
    assert asked.modal is not None
    form = await emu.submit_modal(asked, m[1].id, {"title": "Språkkafé i biblioteket", "link": ""})
    draft = form.primary
    assert draft is not None and form.ephemeral
    (collab_id,) = {int(c.split(":")[2]) for c in component_ids(draft)}
    stored = await repo(fast).get(collab_id)
    assert stored is not None
    assert (stored.origin, stored.origin_ref, stored.fallback_channel_id) == (
        "partner",
        interest.id,
        thread_id,
    )
    members = sorted(x.user_id for x in await repo(fast).members(collab_id))
    assert members == sorted([m[0].id, m[1].id])  # the poster and the interested person

    # Sent for confirmation; the poster confirms after a restart: it counts, as a partner
    # search's, between business and the public sector.
    _select, send = component_ids(draft)
    sent = await emu.press_button(int(draft["channel_id"]), int(draft["id"]), m[1].id, send)
    assert catalog.text("en", "collab.sent", count=1) in sent.content
    await fast.restart()
    (request,) = requests_to(world, m[0].id, collab_id)
    yes = next(c for c in buttons(request) if c.endswith(":yes"))
    confirmed = await emu.press_button(emu.dm_channel(m[0].id), int(request["id"]), m[0].id, yes)
    assert catalog.text("en", "collab.confirm.started") in confirmed.content
    counts = await report_counts(fast, world)
    assert counts.started == 1
    assert dict(counts.by_origin) == {"match": 0, "partner": 1, "meeting": 0, "other": 0}
    assert dict(counts.by_pair) == {("business", "public_sector"): 1}
