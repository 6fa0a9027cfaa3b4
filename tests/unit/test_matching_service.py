"""Pure helpers of the matching service: ids, history, stored reasons, rendering."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import discord
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.matching import Reason
from bot.errors import BadInput
from bot.i18n import Catalog
from bot.services.matching import (
    ANSWERS,
    CUSTOM_ID_TEMPLATE,
    check_range,
    chunks,
    followup_custom_id,
    history_of,
    pack_embeds,
    person_of,
    reasons_from_json,
    reasons_to_json,
    render_reasons,
)
from bot.services.profiles import shipped_taxonomy
from bot.storage.matches import MetPair
from bot.storage.profiles import Profile

NOW = datetime(2027, 2, 1, tzinfo=UTC)


def _profile(user_id: int, sector: str | None = "business", priority: int = 0) -> Profile:
    return Profile(
        guild_id=1,
        user_id=user_id,
        display_name=f"P{user_id}",
        organisation="Org",
        role="",
        sector=sector,
        interests=("refugees",),
        offers="mentoring",
        seeks="",
        matching="active",
        paused_until=None,
        ignored_rounds=0,
        priority=priority,
        card_channel_id=None,
        card_message_id=None,
        created_at=NOW,
        updated_at=NOW,
    )


@given(st.integers(min_value=1, max_value=2**63 - 1), st.sampled_from(ANSWERS))
def test_custom_id_round_trips_through_the_template(group_id: int, answer: str) -> None:
    custom_id = followup_custom_id(group_id, answer)
    assert len(custom_id) <= 100
    match = re.fullmatch(CUSTOM_ID_TEMPLATE, custom_id)
    assert match is not None
    assert (int(match["group"]), match["answer"]) == (group_id, answer)


def test_custom_id_refuses_unknown_answers() -> None:
    with pytest.raises(ValueError):
        followup_custom_id(1, "maybe")
    assert re.fullmatch(CUSTOM_ID_TEMPLATE, "match:met:1:maybe") is None


def test_person_of_carries_what_matching_needs() -> None:
    person = person_of(_profile(42, priority=1))
    assert (person.id, person.name, person.sector) == ("42", "P42", "business")
    assert person.interests == frozenset({"refugees"})
    assert (person.offers, person.organisation, person.priority) == ("mentoring", "Org", 1)


def test_history_of_uses_the_domains_pair_order() -> None:
    # "10" sorts before "9" as text: the History must agree with the domain's lookups
    recent = [MetPair(9, 10, NOW, 1)]
    ever = [MetPair(3, 4, NOW, 0), MetPair(5, 5, NOW, 0)]
    history = history_of(recent, ever)
    assert history.met_recently("9", "10") and history.met_recently("10", "9")
    assert history.met_ever("10", "9") and history.met_ever("4", "3")
    assert not history.met_recently("3", "4")
    assert not history.met_ever("5", "5")


def test_reasons_survive_storage_and_bad_json_gives_none() -> None:
    reasons = (
        Reason("cross_sector", ("1", "2"), ("business", "public_sector")),
        Reason("offers", ("1", "2"), ("mentor",), ("mentoring «Oslo»", "a mentor")),
    )
    assert reasons_from_json(reasons_to_json(reasons)) == reasons
    assert reasons_from_json("[]") == ()
    assert reasons_from_json("") == ()
    assert reasons_from_json("not json") == ()
    assert reasons_from_json('{"kind": "shared"}') == ()
    assert reasons_from_json('[{"people": []}, {"kind": "shared"}]') == (Reason("shared"),)


def test_render_reasons_in_the_language_without_organiser_notes(catalog: Catalog) -> None:
    taxonomy = shipped_taxonomy()
    reasons = (
        Reason("cross_sector", ("1", "2"), ("business", "public_sector")),
        Reason("priority", ("1",)),
        Reason("same_sector_fallback", ("1", "2"), ("business",)),
    )
    names = {"1": "Kari", "2": "Ola"}
    english = render_reasons(catalog.translator("en"), reasons, names, taxonomy)
    assert "Business" in english and "priority" not in english
    assert english.count("; ") == 1
    norwegian = render_reasons(catalog.translator("nb"), reasons, names, taxonomy)
    assert "Næringsliv" in norwegian
    only = render_reasons(
        catalog.translator("en"),
        reasons,
        names,
        taxonomy,
        kinds=frozenset({"same_sector_fallback"}),
    )
    assert "; " not in only and "Business" in only


def test_chunks_pack_lines_under_the_limit() -> None:
    lines = [f"line {n}" for n in range(50)]
    packed = chunks(lines, limit=40)
    assert all(len(p) <= 40 for p in packed)
    assert "\n".join(packed).split("\n") == lines
    assert chunks(["x" * 50], limit=10) == ["x" * 9 + "…"]
    assert chunks([]) == []


def test_check_range_names_the_bounds() -> None:
    assert check_range(4, (1, 52), "match.error.pause_weeks") == 4
    with pytest.raises(BadInput) as raised:
        check_range(53, (1, 52), "match.error.pause_weeks")
    assert raised.value.key == "match.error.pause_weeks"
    assert raised.value.params == {"min": 1, "max": 52}


def test_pack_embeds_respects_discords_size_limits() -> None:
    long_cards = [discord.Embed(title=str(n), description="x" * 2400) for n in range(3)]
    packed = pack_embeds(long_cards)
    assert [len(batch) for batch in packed] == [2, 1]
    assert all(sum(len(e) for e in batch) <= 6000 for batch in packed)
    assert [e.title for batch in packed for e in batch] == ["0", "1", "2"]
    short = [discord.Embed(title=str(n)) for n in range(12)]
    assert [len(batch) for batch in pack_embeds(short)] == [10, 2]
    assert pack_embeds([]) == [[]]
    huge = [discord.Embed(description="y" * 5000), discord.Embed(description="z" * 5000)]
    assert [len(batch) for batch in pack_embeds(huge)] == [1, 1]
