"""The guided start's pure part: the step a server is at and its checklist."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.rule_phrases import describe_rule
from bot.domain.setup_steps import (
    CHANNELS,
    CHECKLIST,
    ITEMS,
    LANGUAGE,
    REMINDERS,
    RHYTHMS,
    SERIES,
    STEPS,
    TEAM,
    SetupFacts,
    all_done,
    checklist,
    current_step,
    rhythm,
    step_done,
    suggested_zone,
)
from bot.i18n import Catalog

FIELDS = [f.name for f in dataclasses.fields(SetupFacts)]
facts_strategy = st.builds(SetupFacts, **{name: st.booleans() for name in FIELDS})


def test_a_new_server_starts_at_the_channels_and_ends_at_the_checklist() -> None:
    assert current_step(SetupFacts()) == CHANNELS
    everything = SetupFacts(**dict.fromkeys(FIELDS, True))
    assert current_step(everything) == CHECKLIST and all_done(everything)
    assert [item.done for item in checklist(SetupFacts())] == [False] * len(ITEMS)


def test_each_step_needs_all_of_its_items() -> None:
    channels = SetupFacts(announce_channel=True, intro_channel=True)
    assert current_step(channels) == CHANNELS  # the organiser role is still missing
    channels = dataclasses.replace(channels, organiser_role=True)
    assert current_step(channels) == LANGUAGE
    series = dataclasses.replace(channels, language_confirmed=True, series=True)
    # The first meeting comes from the series by itself: the step is done without it,
    # the checklist still shows it left until it is announced.
    assert step_done(series, SERIES) and current_step(series) == REMINDERS
    assert not all_done(dataclasses.replace(series, reminder_plan=True, project_lead=True))
    team = dataclasses.replace(series, reminder_plan=True, project_lead=True)
    assert current_step(team) == TEAM  # the card is not posted yet


@given(facts_strategy)
def test_the_current_step_is_the_first_not_done(facts: SetupFacts) -> None:
    step = current_step(facts)
    assert all(step_done(facts, s) for s in STEPS if s < step)
    assert step == CHECKLIST or not step_done(facts, step)
    assert not step_done(facts, CHECKLIST)
    if all_done(facts):
        assert step == CHECKLIST


def test_every_offered_rhythm_reads_and_says_itself_in_every_language(catalog: Catalog) -> None:
    for index in range(len(RHYTHMS)):
        found = rhythm(index)
        assert found is not None and found.start_time < found.end_time
        for lang in ("nb", "sv", "en"):
            assert describe_rule(found.parsed.rule, catalog.translator(lang))
    assert rhythm(-1) is None and rhythm(len(RHYTHMS)) is None


def test_the_zone_is_suggested_from_the_servers_locale() -> None:
    assert suggested_zone("sv-SE") == "Europe/Stockholm"
    assert suggested_zone("da") == "Europe/Copenhagen"
    assert suggested_zone("fi") == "Europe/Helsinki"
    assert suggested_zone("no") == suggested_zone("en-US") == "Europe/Oslo"
