"""RSVP rules: examples of each rule, then random event sequences against the invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.rsvp import (
    Answer,
    Choice,
    Event,
    Outcome,
    React,
    RsvpState,
    SetCapacity,
    Status,
    Unreact,
    apply,
    apply_all,
    choice_for_emoji,
    is_open,
    reconcile,
)

G, M, N = Choice.GOING, Choice.MAYBE, Choice.NOT_GOING


def run(state: RsvpState, *events: Event) -> Outcome:
    outcome = Outcome(state)
    for event in events:
        outcome = apply(outcome.state, event)
    return outcome


def status(outcome: Outcome, user: int) -> Status | None:
    return outcome.state.status_of(user)


def test_first_answer_is_stored() -> None:
    out = apply(RsvpState(), React(1, G, 1))
    assert out.changed and status(out, 1) is Status.GOING
    assert out.reactions_to_remove == () and out.promoted == () and not out.waitlisted


def test_switching_answer_asks_to_remove_the_old_reaction() -> None:
    out = run(RsvpState(), React(1, G, 1), React(1, M, 2))
    assert status(out, 1) is Status.MAYBE
    assert out.reactions_to_remove == ((1, G),)


def test_bot_removing_the_old_reaction_does_not_withdraw_the_new_answer() -> None:
    switched = run(RsvpState(), React(1, G, 1), React(1, M, 2))
    (user, old_choice) = switched.reactions_to_remove[0]
    after_bot = apply(switched.state, Unreact(user, old_choice))  # the echo of the removal
    assert not after_bot.changed
    assert status(after_bot, 1) is Status.MAYBE


def test_removing_your_current_reaction_withdraws() -> None:
    out = run(RsvpState(), React(1, N, 1), Unreact(1, N))
    assert out.changed and status(out, 1) is None


def test_same_reaction_twice_changes_nothing() -> None:
    first = apply(RsvpState(), React(1, M, 1))
    again = apply(first.state, React(1, M, 2))
    assert not again.changed and again.state == first.state


def test_over_capacity_goes_to_the_waitlist_first_come() -> None:
    out = run(RsvpState(capacity=1), React(1, G, 1), React(2, G, 2), React(3, G, 3))
    assert status(out, 1) is Status.GOING
    assert out.state.roster().waitlist == (2, 3)
    assert out.waitlisted


def test_withdrawing_promotes_the_first_waiting() -> None:
    full = run(RsvpState(capacity=1), React(1, G, 1), React(2, G, 2), React(3, G, 3))
    out = apply(full.state, Unreact(1, G))
    assert out.promoted == (2,)
    assert out.state.roster().going == (2,) and out.state.roster().waitlist == (3,)


def test_switching_from_going_to_maybe_promotes() -> None:
    full = run(RsvpState(capacity=1), React(1, G, 1), React(2, G, 2))
    out = apply(full.state, React(1, N, 3))
    assert out.promoted == (2,) and status(out, 1) is Status.NOT_GOING


def test_waitlisted_person_leaving_promotes_nobody() -> None:
    full = run(RsvpState(capacity=1), React(1, G, 1), React(2, G, 2), React(3, G, 3))
    out = apply(full.state, Unreact(2, G))
    assert out.promoted == () and out.state.roster().waitlist == (3,)


def test_raising_capacity_promotes_in_order_and_none_means_unlimited() -> None:
    full = run(RsvpState(capacity=1), *(React(u, G, u) for u in range(1, 6)))
    raised = apply(full.state, SetCapacity(3))
    assert raised.promoted == (2, 3)
    unlimited = apply(raised.state, SetCapacity(None))
    assert unlimited.promoted == (4, 5) and unlimited.state.roster().waitlist == ()


def test_lowering_capacity_keeps_confirmed_places() -> None:
    full = run(RsvpState(capacity=3), *(React(u, G, u) for u in range(1, 5)))
    lowered = apply(full.state, SetCapacity(1))
    assert lowered.state.roster().going == (1, 2, 3)
    after = apply(lowered.state, Unreact(1, G))
    assert after.promoted == ()  # still two going, above the new capacity of one


def test_newcomer_never_jumps_the_waitlist() -> None:
    # Capacity raised while someone waits is covered by promotion; a going person moving
    # to maybe frees a place that goes to the waiting person, not to a later ✅.
    full = run(RsvpState(capacity=1), React(1, G, 1), React(2, G, 2))
    out = run(full.state, React(1, M, 3), React(3, G, 4))
    assert out.state.roster().going == (2,) and out.state.roster().waitlist == (3,)


def test_closed_answers_change_nothing_but_capacity_still_applies() -> None:
    state = run(RsvpState(capacity=1), React(1, G, 1), React(2, G, 2)).state
    refused = apply(state, React(3, G, 3), accepting=False)
    assert refused.closed and not refused.changed and refused.state == state
    assert apply(state, Unreact(1, G), accepting=False).state == state
    assert apply(state, SetCapacity(2), accepting=False).promoted == (2,)


def test_is_open_boundaries() -> None:
    start = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)
    deadline = start - timedelta(days=1)
    before = deadline - timedelta(seconds=1)
    assert is_open(starts_at=start, deadline=deadline, status="scheduled", now=before)
    assert not is_open(starts_at=start, deadline=deadline, status="scheduled", now=deadline)
    assert is_open(starts_at=start, deadline=None, status="scheduled", now=deadline)
    assert not is_open(starts_at=start, deadline=None, status="scheduled", now=start)
    assert not is_open(starts_at=start, deadline=None, status="cancelled", now=before)


def test_emoji_mapping_ignores_others_and_variation_selector() -> None:
    assert choice_for_emoji("✅") is G and choice_for_emoji("✅\ufe0f") is G
    assert choice_for_emoji("🤔") is M and choice_for_emoji("❌") is N
    assert choice_for_emoji("👍") is None and choice_for_emoji(None) is None


def test_apply_all_never_removes_the_final_reaction() -> None:
    out = apply_all(RsvpState(), [React(1, G, 1), React(1, M, 2), React(1, G, 3)])
    assert status(out, 1) is Status.GOING
    assert (1, G) not in out.reactions_to_remove and (1, M) in out.reactions_to_remove


# --- reconciliation ----------------------------------------------------------------------


def test_reconcile_adds_offline_answers_and_removes_withdrawn() -> None:
    state = run(RsvpState(capacity=2), React(1, G, 1), React(2, M, 2)).state
    out = reconcile(state, {G: [1, 3, 4], N: [5]})
    roster = out.state.roster()
    assert roster.going == (1, 3) and roster.waitlist == (4,)
    assert roster.maybe == () and roster.not_going == (5,)
    assert out.changed


def test_reconcile_keeps_first_come_order_of_stored_answers() -> None:
    state = run(RsvpState(capacity=1), React(1, G, 1), React(2, G, 2), React(3, G, 3)).state
    out = reconcile(state, {G: [9, 3, 2]})  # 1 withdrew offline; 9 reacted offline
    roster = out.state.roster()
    assert roster.going == (2,) and roster.waitlist == (3, 9)
    assert out.promoted == (2,)


def test_reconcile_several_reactions_prefers_the_stored_answer() -> None:
    state = run(RsvpState(), React(1, M, 1)).state
    out = reconcile(state, {G: [1], M: [1]})
    assert status(out, 1) is Status.MAYBE and out.reactions_to_remove == ((1, G),)


def test_reconcile_several_reactions_without_stored_answer_is_least_committal() -> None:
    out = reconcile(RsvpState(capacity=5), {G: [7], N: [7], M: [7]})
    assert status(out, 7) is Status.NOT_GOING
    assert set(out.reactions_to_remove) == {(7, G), (7, M)}


def test_reconcile_of_the_same_picture_changes_nothing() -> None:
    state = run(RsvpState(capacity=1), React(1, G, 1), React(2, G, 2), React(3, M, 3)).state
    out = reconcile(state, {G: [2, 1], M: [3]})
    assert not out.changed and out.state == state


def test_reconcile_is_refused_while_closed() -> None:
    state = run(RsvpState(), React(1, G, 1)).state
    out = reconcile(state, {}, accepting=False)
    assert out.closed and out.state == state


# --- properties ----------------------------------------------------------------------------

USERS = st.integers(min_value=1, max_value=8)
CHOICES = st.sampled_from(list(Choice))
RAW_EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("react"), USERS, CHOICES),
        st.tuples(st.just("unreact"), USERS, CHOICES),
        st.tuples(st.just("capacity"), st.one_of(st.none(), st.integers(1, 5)), st.just(G)),
    ),
    max_size=60,
)


def to_events(raw: list[tuple[str, int | None, Choice]]) -> list[Event]:
    events: list[Event] = []
    for seq, (kind, value, choice) in enumerate(raw, start=1):
        if kind == "react":
            assert value is not None
            events.append(React(value, choice, seq))
        elif kind == "unreact":
            assert value is not None
            events.append(Unreact(value, choice))
        else:
            events.append(SetCapacity(value))
    return events


def going(state: RsvpState) -> int:
    return state.counts().going


@settings(max_examples=300)
@given(RAW_EVENTS, st.one_of(st.none(), st.integers(1, 4)))
def test_invariants_hold_after_every_event(
    raw: list[tuple[str, int | None, Choice]], capacity: int | None
) -> None:
    state = RsvpState(capacity=capacity)
    for event in to_events(raw):
        before = state
        out = apply(state, event)
        state = out.state
        answers = list(state.answers.values())
        # one answer per person, stored under their own id
        assert all(uid == a.user_id for uid, a in state.answers.items())
        assert len({a.user_id for a in answers}) == len(answers)
        cap = state.capacity
        if cap is None:
            assert state.counts().waitlist == 0
        else:
            # a place is never left free while someone waits
            if state.counts().waitlist:
                assert going(state) >= cap
            # going never grows beyond the capacity (lowering it moves nobody back)
            assert going(state) <= max(cap, going(before))
        # promotion takes the earliest on the waitlist, in order
        waiting_before = [a.user_id for a in before.ordered(Status.WAITLIST)]
        if out.promoted:
            actor = getattr(event, "user_id", None)
            queue = [u for u in waiting_before if u != actor]
            assert list(out.promoted) == queue[: len(out.promoted)]
            assert all(state.status_of(u) is Status.GOING for u in out.promoted)
        # nothing else moves: only the actor and the promoted change
        changed = {
            u
            for u in set(before.answers) | set(state.answers)
            if before.answers.get(u) != state.answers.get(u)
        }
        allowed = set(out.promoted) | (
            {event.user_id} if not isinstance(event, SetCapacity) else set()
        )
        assert changed <= allowed
        assert out.changed == (before != state)


@settings(max_examples=200)
@given(RAW_EVENTS, st.one_of(st.none(), st.integers(1, 4)))
def test_result_is_deterministic_and_reconcile_is_stable(
    raw: list[tuple[str, int | None, Choice]], capacity: int | None
) -> None:
    events = to_events(raw)
    first = apply_all(RsvpState(capacity=capacity), events)
    second = apply_all(RsvpState(capacity=capacity), events)
    assert first == second
    # The reactions the rules leave behind, read back, change nothing.
    state = first.state
    observed: dict[Choice, list[int]] = {}
    for answer in sorted(state.answers.values(), key=lambda a: a.seq):
        observed.setdefault(answer.status.choice, []).append(answer.user_id)
    again = reconcile(state, observed)
    waitlist_with_room = (
        state.capacity is None or going(state) < state.capacity
    ) and state.counts().waitlist
    if not waitlist_with_room:
        assert again.state == state and not again.changed


def test_state_of_builds_a_read_only_mapping() -> None:
    state = RsvpState.of([Answer(1, Status.GOING, 1)], capacity=3)
    assert state.status_of(1) is Status.GOING
    with pytest.raises(TypeError):
        state.answers[2] = Answer(2, Status.MAYBE, 2)  # type: ignore[index]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 8),
            st.sampled_from(list(Choice)),
            st.booleans(),
            st.one_of(st.none(), st.integers(1, 5)),
        ),
        max_size=60,
    )
)
def test_cached_tally_always_equals_a_recount(
    steps: list[tuple[int, Choice, bool, int | None]],
) -> None:
    state = RsvpState(capacity=3)
    for seq, (user, choice, added, capacity) in enumerate(steps, start=1):
        event = React(user, choice, seq) if added else Unreact(user, choice)
        state = apply(state, event).state
        if capacity is not None and seq % 7 == 0:
            state = apply(state, SetCapacity(capacity)).state
        assert state.tally() == RsvpState(state.capacity, state.answers).tally()
