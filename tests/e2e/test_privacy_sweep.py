"""The daily privacy sweep through the real bot: leaving, rejoining, the grace period."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FakeClock
from bot.services.privacy import PrivacyService
from bot.storage.privacy import PrivacyRepository
from bot.storage.profiles import ProfileRepository, ProfileText
from tests.e2e.conftest import BotRunner, World


async def _introduce(runner: BotRunner, world: World, user_id: int) -> int:
    """A profile with an intro card the bot posted; returns the card's message id."""
    assert runner.db is not None and runner.bot is not None
    profiles = ProfileRepository(runner.db)
    now = runner.clock.now()
    await profiles.save_text(world.guild.id, user_id, ProfileText("Kari"), now, opt_in=True)
    card = await runner.bot.get_partial_messageable(world.intro.id).send("card")
    await profiles.set_card(world.guild.id, user_id, world.intro.id, card.id)
    return card.id


async def test_leaving_deletes_after_the_grace_period_rejoining_keeps(
    fast: BotRunner, world: World
) -> None:
    assert fast.db is not None and fast.bot is not None
    assert isinstance(fast.clock, FakeClock)
    service: PrivacyService = fast.bot.services.privacy
    profiles = ProfileRepository(fast.db)
    privacy = PrivacyRepository(fast.db)
    stays, leaves = world.members[0], world.members[1]
    await _introduce(fast, world, stays.id)
    card = await _introduce(fast, world, leaves.id)

    # Both leave; one comes back within the grace period.
    world.emu.remove_member(world.guild.id, stays.id)
    world.emu.remove_member(world.guild.id, leaves.id)
    await service.run_sweep()
    assert {d.user_id for d in await privacy.departed(world.guild.id)} == {stays.id, leaves.id}
    fast.clock.advance(timedelta(days=10))
    world.emu.add_member(world.guild.id, "back", user_id=stays.id)
    await service.run_sweep()
    assert {d.user_id for d in await privacy.departed(world.guild.id)} == {leaves.id}
    assert await profiles.get(world.guild.id, leaves.id) is not None  # still within grace

    # 30 days after leaving: the one who stayed away is deleted, card and all.
    fast.clock.advance(timedelta(days=21))
    await service.run_sweep()
    assert await profiles.get(world.guild.id, leaves.id) is None
    assert await profiles.get(world.guild.id, stays.id) is not None
    assert await privacy.departed(world.guild.id) == []
    assert world.emu.message(world.intro.id, card) is None
    export = await privacy.export(world.guild.id, leaves.id)
    assert sum(privacy.summarise(export).values()) == 0


async def test_a_shorter_grace_period_set_by_command_is_used(fast: BotRunner, world: World) -> None:
    from tests.e2e.test_meetings import configure

    await configure(world)
    assert fast.db is not None and fast.bot is not None
    assert isinstance(fast.clock, FakeClock)
    await world.emu.invoke(
        world.guild.id, world.organiser.id, "privacy settings", options={"leave_grace_days": 0}
    )
    member = world.members[2]
    await _introduce(fast, world, member.id)
    world.emu.remove_member(world.guild.id, member.id)
    service: PrivacyService = fast.bot.services.privacy
    await service.run_sweep()  # noted as gone
    fast.clock.advance(timedelta(minutes=1))
    await service.run_sweep()  # grace 0 days: deleted on the next sweep
    assert await ProfileRepository(fast.db).get(world.guild.id, member.id) is None
