"""`decide`: one batch of answers, decided in the domain; grouping never changes the result."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.rsvp import (
    Choice,
    Event,
    React,
    RsvpState,
    SetCapacity,
    Unreact,
    apply,
    decide,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = NOW + timedelta(hours=1)

events = st.lists(
    st.one_of(
        st.builds(React, st.integers(1, 6), st.sampled_from(list(Choice)), st.just(0)),
        st.builds(Unreact, st.integers(1, 6), st.sampled_from(list(Choice))),
        st.builds(SetCapacity, st.one_of(st.none(), st.integers(0, 4))),
    ),
    max_size=30,
)


def open_until_start(now: datetime) -> bool:
    return now < START


@given(events, st.integers(0, 30), st.one_of(st.none(), st.integers(0, 4)))
def test_one_batch_or_two_give_the_same_answers(
    batch: list[Event], cut: int, capacity: int | None
) -> None:
    state = RsvpState(capacity)
    items = [(e, NOW) for e in batch]
    whole = decide(state, items, open_until_start)
    first = decide(state, items[:cut], open_until_start)
    second = decide(first.state, items[cut:], open_until_start)
    assert second.state == whole.state
    assert [o.promoted for o in (*first.outcomes, *second.outcomes)] == [
        o.promoted for o in whole.outcomes
    ]


@given(
    events,
    st.one_of(st.none(), st.integers(0, 4)),
    st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_each_outcome_of_a_batch_is_that_of_applying_the_events_one_by_one(
    batch: list[Event], capacity: int | None, open_at: list[bool]
) -> None:
    """decide works on one copy of the answers per batch; each caller still gets the state
    right after its own event, as event-by-event `apply` gives (numbered the same way)."""
    times = [NOW if is_open else START for is_open in open_at]
    state = RsvpState(capacity)
    result = decide(state, list(zip(batch, times, strict=False)), open_until_start)
    for n, (event, now) in enumerate(zip(batch, times, strict=False)):
        if isinstance(event, React):
            event = replace(event, seq=state.max_seq() + 1)
        expected = apply(state, event, accepting=open_until_start(now))
        got = result.outcomes[n]
        assert got == expected
        assert dict(got.state.answers) == dict(expected.state.answers)
        assert got.state.tally() == expected.state.tally()
        state = expected.state
    assert result.state == state


@given(events)
def test_first_come_numbers_rise_and_touched_covers_every_change(batch: list[Event]) -> None:
    state = RsvpState(2)
    result = decide(state, [(e, NOW) for e in batch], open_until_start)
    changed = {
        u
        for u in set(state.answers) | set(result.state.answers)
        if state.answers.get(u) != result.state.answers.get(u)
    }
    assert changed <= result.touched
    seqs = sorted(a.seq for a in result.state.answers.values())
    assert len(seqs) == len(set(seqs))


def test_answers_after_the_start_are_closed_but_capacity_still_applies() -> None:
    late = START + timedelta(minutes=1)
    result = decide(
        RsvpState(1),
        [(React(1, Choice.GOING, 0), late), (SetCapacity(3), late)],
        open_until_start,
    )
    assert result.outcomes[0].closed and not result.outcomes[0].changed
    assert result.state.capacity == 3 and result.state.answers == {}
