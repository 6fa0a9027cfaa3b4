"""Introductions end to end: /introduce, the follow-up selects, the card, /profile show, and
the server's own sectors and interests from /setup. Texts are checked through catalogue keys."""

from __future__ import annotations

from typing import Any

from bot.domain.taxonomy import load_taxonomy
from bot.i18n import Catalog
from bot.storage.profiles import Profile, ProfileRepository
from tests.e2e.conftest import BotRunner, World
from tests.emulator.models import InteractionResult

FULL = {
    "display_name": "Kari Nordmann",
    "organisation": "Frivilligsentralen @everyone",
    "role": "Daglig leder",
    "offers": "Lokaler og frivillige",
    "seeks": "Samarbeid med næringslivet",
}


async def configure(world: World, language: str = "en", *, intro: bool = True) -> None:
    options: dict[str, Any] = {
        "announce_channel": world.announce.id,
        "organiser_role": world.organiser_role.id,
        "language": language,
    }
    if intro:
        options["intro_channel"] = world.intro.id
    res = await world.emu.invoke(world.guild.id, world.admin.id, "setup configure", options)
    assert res.ephemeral and res.embeds, res


async def profile_of(runner: BotRunner, world: World, user_id: int) -> Profile | None:
    assert runner.db is not None
    return await ProfileRepository(runner.db).get(world.guild.id, user_id)


async def introduce(world: World, user_id: int, values: dict[str, str]) -> InteractionResult:
    """Run /introduce and submit the modal; the answer carries the follow-up selects."""
    asked = await world.emu.invoke(world.guild.id, user_id, "introduce")
    assert asked.modal is not None, asked
    return await world.emu.submit_modal(asked, user_id, values)


def modal_defaults(res: InteractionResult) -> dict[str, str]:
    assert res.modal is not None
    found = {}
    for comp in res.modal["components"]:
        inner = comp.get("component") or comp["components"][0]
        found[inner["custom_id"]] = inner.get("value") or ""
    return found


def follow_up(res: InteractionResult) -> dict[str, Any]:
    assert res.ephemeral and res.primary is not None, res
    return res.primary


def components(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["custom_id"]: c for row in message.get("components") or [] for c in row["components"]}


def cid(part: str, user_id: int) -> str:
    return f"moteplass:profile:{part}:{user_id}"


async def answered(world: World, res: InteractionResult) -> InteractionResult:
    """A component answer deferred with an update is complete once the message is edited."""
    await world.emu.wait_until(
        lambda: res.record.original_edited or res.followups or res.response_type in (4, 7)
    )
    return res


async def choose(
    world: World, message: dict[str, Any], user_id: int, part: str, values: list[str]
) -> InteractionResult:
    res = await world.emu.select(
        int(message["channel_id"]), int(message["id"]), user_id, cid(part, user_id), values
    )
    return await answered(world, res)


async def press_done(world: World, message: dict[str, Any], user_id: int) -> InteractionResult:
    res = await world.emu.press_button(
        int(message["channel_id"]), int(message["id"]), user_id, cid("done", user_id)
    )
    return await answered(world, res)


def cards(world: World) -> list[dict[str, Any]]:
    return world.emu.messages(world.intro.id)


def field(embed: dict[str, Any], name: str) -> str:
    return next(f["value"] for f in embed["fields"] if f["name"] == name)


async def complete_profile(
    world: World, user_id: int, sector: str = "business", values: dict[str, str] | None = None
) -> dict[str, Any]:
    res = await introduce(world, user_id, values or FULL)
    message = follow_up(res)
    await choose(world, message, user_id, "sector", [sector])
    return message


async def test_introduce_stores_profile_and_posts_card(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "en")
    member = world.members[0]
    res = await introduce(world, member.id, FULL)
    message = follow_up(res)
    profile = await profile_of(runner, world, member.id)
    assert profile is not None
    assert (profile.display_name, profile.organisation, profile.role) == (
        FULL["display_name"],
        FULL["organisation"],
        FULL["role"],
    )
    assert profile.matching == "active" and profile.sector is None
    # The follow-up says matching is on and how to say no, and that the card waits for a sector.
    assert catalog.text("en", "profile.followup.matching") in res.content
    assert catalog.text("en", "profile.card_status.incomplete") in res.content
    parts = components(message)
    assert set(parts) == {
        cid(p, member.id) for p in ("sector", "target_group", "theme", "matching", "done")
    }
    taxonomy = load_taxonomy()
    assert [o["value"] for o in parts[cid("sector", member.id)]["options"]] == [
        e.key for e in taxonomy.sectors
    ]
    matching = parts[cid("matching", member.id)]["options"]
    assert [o["value"] for o in matching if o.get("default")] == ["yes"]
    assert not cards(world)

    chosen = await choose(world, message, member.id, "sector", ["business"])
    assert chosen.ephemeral
    assert catalog.text("en", "profile.card_status.posted", channel=f"<#{world.intro.id}>") in (
        chosen.content
    )
    profile = await profile_of(runner, world, member.id)
    assert profile is not None and profile.sector == "business"
    (card,) = cards(world)
    assert profile.card_message_id == int(card["id"])
    embed = card["embeds"][0]
    assert embed["title"] == FULL["display_name"]
    assert embed["color"] == int(taxonomy.colour("business").lstrip("#"), 16)
    assert field(embed, catalog.text("en", "profile.card.sector")) == "Business"
    assert not card["content"] and card.get("mention_everyone") is False
    assert world.emu.allowed_mentions(int(card["id"])) in (
        {"parse": []},
        {"parse": [], "replied_user": False},
    )

    await choose(world, message, member.id, "target_group", ["elderly", "refugees"])
    await choose(world, message, member.id, "theme", ["language"])
    await choose(world, message, member.id, "matching", ["no"])
    profile = await profile_of(runner, world, member.id)
    assert profile is not None
    assert profile.interests == ("elderly", "language", "refugees")
    assert profile.matching == "left"
    # Choosing target groups again keeps the themes; the card was edited, never reposted.
    await choose(world, message, member.id, "target_group", ["families"])
    profile = await profile_of(runner, world, member.id)
    assert profile is not None and profile.interests == ("families", "language")
    (card,) = cards(world)
    interests = field(card["embeds"][0], catalog.text("en", "profile.card.interests"))
    assert "Families" in interests and "Language" in interests
    # The view shows what is stored.
    shown = world.emu.find_interaction_message(int(message["id"]))
    assert shown is not None
    parts = components(shown[1])
    assert [
        o["value"] for o in parts[cid("matching", member.id)]["options"] if o.get("default")
    ] == ["no"]

    done = await press_done(world, message, member.id)
    assert catalog.text("en", "profile.followup.finished") in done.content
    assert not done.components
    assert len(cards(world)) == 1


async def test_rerun_prefills_and_edits_the_same_card(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "en")
    member = world.members[1]
    await complete_profile(world, member.id)
    (card,) = cards(world)
    asked = await world.emu.invoke(world.guild.id, member.id, "introduce")
    assert modal_defaults(asked) == FULL
    res = await world.emu.submit_modal(
        asked, member.id, {**FULL, "display_name": "Kari N.", "seeks": ""}
    )
    expected = catalog.text("en", "profile.card_status.updated", channel=f"<#{world.intro.id}>")
    assert expected in res.content
    (again,) = cards(world)
    assert again["id"] == card["id"]
    assert again["embeds"][0]["title"] == "Kari N."
    names = [f["name"] for f in again["embeds"][0]["fields"]]
    assert catalog.text("en", "profile.card.seeks") not in names
    profile = await profile_of(runner, world, member.id)
    assert profile is not None and profile.sector == "business" and profile.seeks == ""


async def test_follow_up_select_works_after_restart(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "en")
    member = world.members[2]
    res = await introduce(world, member.id, FULL)
    message = follow_up(res)
    await runner.restart()
    chosen = await choose(world, message, member.id, "sector", ["public_sector"])
    assert chosen.error is None
    profile = await profile_of(runner, world, member.id)
    assert profile is not None and profile.sector == "public_sector"
    (card,) = cards(world)
    assert card["embeds"][0]["color"] == int(load_taxonomy().colour("public_sector")[1:], 16)
    done = await press_done(world, message, member.id)
    assert catalog.text("en", "profile.followup.finished") in done.content


async def test_profile_show_own_other_missing_and_departed(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "en")
    kari, ola, newcomer = world.members[0], world.members[1], world.members[2]
    await complete_profile(world, kari.id)
    await introduce(world, ola.id, {"display_name": "Ola"})  # no sector yet: not public

    own = await world.emu.invoke(world.guild.id, kari.id, "profile show")
    assert own.ephemeral and own.embeds[0]["title"] == FULL["display_name"]
    assert catalog.text("en", "profile.show.matching.active") in own.content

    other = await world.emu.invoke(
        world.guild.id, ola.id, "profile show", options={"member": kari.id}
    )
    assert other.ephemeral and other.embeds[0]["title"] == FULL["display_name"]
    assert f"<@{kari.id}>" in other.embeds[0]["description"]

    unfinished = await world.emu.invoke(world.guild.id, ola.id, "profile show")
    assert unfinished.ephemeral and unfinished.embeds[0]["title"] == "Ola"
    assert catalog.text("en", "profile.show.incomplete") in unfinished.content
    hidden = await world.emu.invoke(
        world.guild.id, kari.id, "profile show", options={"member": ola.id}
    )
    member_text = catalog.text("en", "profile.error.member_no_profile", member=f"<@{ola.id}>")
    assert hidden.ephemeral and hidden.content == member_text and not hidden.embeds

    none = await world.emu.invoke(world.guild.id, newcomer.id, "profile show")
    assert none.ephemeral and none.content == catalog.text("en", "profile.error.no_profile")

    world.emu.remove_member(world.guild.id, kari.id)
    gone = await world.emu.invoke(
        world.guild.id, ola.id, "profile show", options={"member": kari.id}
    )
    assert gone.ephemeral and not gone.embeds
    assert gone.content == catalog.text("en", "profile.error.not_member", member=f"<@{kari.id}>")


async def test_swedish_and_norwegian_servers_get_their_language(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "sv")
    member = world.members[0]
    res = await introduce(world, member.id, FULL)
    assert catalog.text("sv", "profile.followup.matching") in res.content
    message = follow_up(res)
    sector_select = components(message)[cid("sector", member.id)]
    assert sector_select["placeholder"] == catalog.text("sv", "profile.select.sector")
    labels = {o["value"]: o["label"] for o in sector_select["options"]}
    assert labels["business"] == load_taxonomy().label("business", "sv")
    await choose(world, message, member.id, "sector", ["civil_society"])
    embed = cards(world)[0]["embeds"][0]
    assert field(embed, catalog.text("sv", "profile.card.sector")) == load_taxonomy().label(
        "civil_society", "sv"
    )
    assert embed["footer"]["text"] == catalog.text("sv", "profile.card.footer")
    asked = await world.emu.invoke(world.guild.id, member.id, "introduce")
    assert asked.modal is not None and asked.modal["title"] == catalog.text(
        "sv", "profile.modal.title"
    )
    # Norwegian, the default: an error in the server's language.
    await configure(world, "nb")
    missing = await world.emu.invoke(world.guild.id, world.members[3].id, "profile show")
    assert missing.content == catalog.text("nb", "profile.error.no_profile")


async def test_setup_adds_sector_and_interest_offered_in_introduce(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "en")
    emu, guild = world.emu, world.guild.id
    for user, command, options, said, label in (
        (
            world.organiser,
            "add_sector",
            {"key": "faith", "label_nb": "Tros- og livssyn", "colour": "#AA5500"},
            "setup.taxonomy.sector_added",
            "Tros- og livssyn",
        ),
        (
            world.admin,
            "add_sector",
            {"key": "faith", "label_en": "Faith and belief"},
            "setup.taxonomy.sector_renamed",
            "Faith and belief",
        ),
        (
            world.admin,
            "add_interest",
            {"key": "sport_for_all", "label_en": "Sport for all"},
            "setup.taxonomy.interest_added",
            "Sport for all",
        ),
    ):
        res = await emu.invoke(guild, user.id, f"community {command}", options=options)
        assert res.ephemeral
        assert res.content == catalog.text("en", said, label=label, key=options["key"])

    member = world.members[0]
    res = await introduce(world, member.id, FULL)
    message = follow_up(res)
    parts = components(message)
    sectors = {o["value"]: o["label"] for o in parts[cid("sector", member.id)]["options"]}
    assert sectors["faith"] == "Faith and belief"
    themes = [o["value"] for o in parts[cid("theme", member.id)]["options"]]
    assert "sport_for_all" in themes
    await choose(world, message, member.id, "sector", ["faith"])
    await choose(world, message, member.id, "theme", ["sport_for_all"])
    embed = cards(world)[0]["embeds"][0]
    assert embed["color"] == 0xAA5500
    assert field(embed, catalog.text("en", "profile.card.sector")) == "Faith and belief"
    assert "Sport for all" in field(embed, catalog.text("en", "profile.card.interests"))

    # Refusals, each with its own message; nothing is stored.
    cases = [
        ({"key": "Bad Key", "label_nb": "X"}, "setup.error.bad_key", {"key": "Bad Key"}),
        (
            {"key": "x", "label_nb": "X", "colour": "red"},
            "setup.error.bad_colour",
            {"colour": "red"},
        ),
        ({"key": "nolabel", "label_nb": "   "}, "setup.error.no_label", {}),
    ]
    for options, key, params in cases:
        bad = await emu.invoke(guild, world.admin.id, "community add_sector", options=options)
        assert bad.ephemeral and bad.content == catalog.text("en", key, **params), bad
    taken = await emu.invoke(
        guild,
        world.admin.id,
        "community add_interest",
        options={"key": "business", "label_en": "B"},
    )
    assert taken.content == catalog.text("en", "setup.error.key_taken", key="business")
    refused = await emu.invoke(
        guild, world.members[1].id, "community add_sector", options={"key": "mine", "label_en": "M"}
    )
    assert refused.content == catalog.text("en", "error.not_organiser")
    assert runner.db is not None
    keys = await runner.db.fetchall("SELECT key FROM taxonomy_extensions ORDER BY key")
    assert [r["key"] for r in keys] == ["faith", "sport_for_all"]


async def test_setup_caps_sectors_at_what_a_select_can_show(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "en")
    shipped = len(load_taxonomy().sectors)
    for n in range(25 - shipped):
        res = await world.emu.invoke(
            world.guild.id,
            world.admin.id,
            "community add_sector",
            options={"key": f"extra{n}", "label_en": f"Extra {n}"},
        )
        added = catalog.text(
            "en", "setup.taxonomy.sector_added", label=f"Extra {n}", key=f"extra{n}"
        )
        assert res.content == added
    full = await world.emu.invoke(
        world.guild.id,
        world.admin.id,
        "community add_sector",
        options={"key": "one_too_many", "label_en": "One too many"},
    )
    assert full.content == catalog.text("en", "setup.error.taxonomy_full", limit=25)
    res = await introduce(world, world.members[0].id, FULL)
    sector = components(follow_up(res))[cid("sector", world.members[0].id)]
    assert len(sector["options"]) == 25


async def test_blank_display_name_is_refused_and_nothing_is_lost(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "en")
    member = world.members[0]
    await complete_profile(world, member.id)
    before = await profile_of(runner, world, member.id)
    typed = {**FULL, "display_name": " \u200b  ", "offers": "A long text I do not want to lose"}
    res = await introduce(world, member.id, typed)
    assert res.ephemeral and res.content == catalog.text("en", "profile.error.empty_name")
    assert not res.components
    assert await profile_of(runner, world, member.id) == before
    # Running /introduce again shows what was typed, so nothing has to be written twice.
    asked = await world.emu.invoke(world.guild.id, member.id, "introduce")
    assert modal_defaults(asked)["offers"] == typed["offers"]
    fixed = await world.emu.submit_modal(asked, member.id, {**typed, "display_name": "Kari"})
    assert catalog.text("en", "profile.saved") in fixed.content
    after = await profile_of(runner, world, member.id)
    assert after is not None and (after.display_name, after.offers) == ("Kari", typed["offers"])
    # A first-time member with a blank name gets no profile at all.
    newcomer = world.members[4]
    blank = await introduce(world, newcomer.id, {"display_name": "   "})
    assert blank.content == catalog.text("en", "profile.error.empty_name")
    assert await profile_of(runner, world, newcomer.id) is None


async def test_over_long_texts_are_clipped_and_said(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "en")
    member = world.members[0]
    long_values = {
        "display_name": "N" * 2000,
        "organisation": "O" * 2000,
        "role": "R" * 2000,
        "offers": "x" * 2000,
        "seeks": "y" * 2000,
    }
    res = await introduce(world, member.id, long_values)
    fields = ", ".join(
        catalog.text("en", f"profile.field.{name}")
        for name in ("display_name", "organisation", "role", "offers", "seeks")
    )
    assert catalog.text("en", "profile.clipped", fields=fields) in res.content
    profile = await profile_of(runner, world, member.id)
    assert profile is not None
    assert len(profile.display_name) == 80 and len(profile.offers) == 1000
    assert profile.offers.endswith("…")
    await choose(world, follow_up(res), member.id, "sector", ["other"])
    embed = cards(world)[0]["embeds"][0]
    assert len(embed["title"]) <= 256
    assert all(len(f["value"]) <= 1024 and len(f["name"]) <= 256 for f in embed["fields"])
    total = len(embed["title"]) + len(embed.get("description", "")) + len(embed["footer"]["text"])
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert total <= 6000
    # The prefilled modal fits the input limits Discord enforces.
    asked = await world.emu.invoke(world.guild.id, member.id, "introduce")
    assert asked.modal is not None
    inputs = [c.get("component") or c["components"][0] for c in asked.modal["components"]]
    limits = {inner["custom_id"]: inner["max_length"] for inner in inputs}
    assert all(len(v) <= limits[k] for k, v in modal_defaults(asked).items())


async def test_crafted_select_values_are_refused(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "en")
    member, other = world.members[0], world.members[1]
    res = await introduce(world, member.id, FULL)
    message = follow_up(res)
    bad = await choose(world, message, member.id, "sector", ["no_such_sector"])
    assert bad.ephemeral
    assert bad.content == catalog.text("en", "profile.error.unknown_sector", value="no_such_sector")
    bad_theme = await choose(world, message, member.id, "theme", ["language", "business"])
    assert bad_theme.content == catalog.text(
        "en", "profile.error.unknown_interest", value="business"
    )
    bad_choice = await choose(world, message, member.id, "matching", ["maybe"])
    assert bad_choice.content == catalog.text("en", "profile.error.unknown_choice", value="maybe")
    early = await press_done(world, message, member.id)
    assert early.content == catalog.text("en", "profile.error.sector_first")
    # Someone else's interaction on this member's select changes nothing.
    stranger = await world.emu.select(
        int(message["channel_id"]),
        int(message["id"]),
        other.id,
        cid("sector", member.id),
        ["business"],
    )
    await answered(world, stranger)
    assert stranger.content == catalog.text("en", "profile.error.not_yours")
    profile = await profile_of(runner, world, member.id)
    assert profile is not None and profile.sector is None and profile.interests == ()
    assert profile.matching == "active" and not cards(world)


async def test_no_intro_channel_is_said_and_the_profile_kept(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "en", intro=False)
    member = world.members[0]
    res = await introduce(world, member.id, FULL)
    message = follow_up(res)
    chosen = await choose(world, message, member.id, "sector", ["business"])
    assert catalog.text("en", "profile.card_status.no_channel") in chosen.content
    profile = await profile_of(runner, world, member.id)
    assert profile is not None and profile.sector == "business" and profile.card_message_id is None
    assert not cards(world)
    # Once an organiser sets the channel, Done posts the card.
    await configure(world, "en")
    done = await press_done(world, message, member.id)
    assert catalog.text("en", "profile.card_status.posted", channel=f"<#{world.intro.id}>") in (
        done.content
    )
    assert len(cards(world)) == 1


async def test_deleted_card_is_posted_again_and_deleted_channel_is_said(
    runner: BotRunner, world: World, catalog: Catalog
) -> None:
    await configure(world, "en")
    member = world.members[0]
    message = await complete_profile(world, member.id)
    (card,) = cards(world)
    world.emu.delete_message(world.intro.id, int(card["id"]))
    await choose(world, message, member.id, "theme", ["health"])
    (new_card,) = cards(world)
    assert new_card["id"] != card["id"]
    profile = await profile_of(runner, world, member.id)
    assert profile is not None and profile.card_message_id == int(new_card["id"])

    world.emu.delete_channel(world.intro.id)
    await world.emu.wait_for_idle()
    res = await introduce(world, member.id, {**FULL, "role": "Styreleder"})
    expected = catalog.text("en", "profile.card_status.unavailable", channel=f"<#{world.intro.id}>")
    assert expected in res.content
    profile = await profile_of(runner, world, member.id)
    assert profile is not None and profile.role == "Styreleder"
    assert profile.card_message_id is None
