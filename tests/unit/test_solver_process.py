"""`round_in_child`: the round computed in a child process is the round computed here, and
an error the solver raises comes back as itself (its key and parameters)."""

from __future__ import annotations

import dataclasses
import multiprocessing
from datetime import date

import pytest

from bot.domain.match_model import History, MatchConfig, MetRecord, Person
from bot.domain.matching import match_round
from bot.errors import BadInput
from bot.services.solver_process import round_in_child

SECTORS = ("business", "public_sector", "civil_society", "research")


def people(count: int) -> list[Person]:
    return [
        Person(
            id=str(n),
            name=f"Person {n}",
            sector=SECTORS[n % len(SECTORS)],
            organisation=f"Org {n % 7}",
            interests=frozenset({f"i{n % 5}", f"i{n % 3}"}),
            offers=f"offer {n % 4}",
            seeks=f"seek {n % 6}",
            priority=int(n % 9 == 0),
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [2, 7, 40])
async def test_the_child_gives_the_same_round(count: int) -> None:
    group = people(count)
    history = History.from_records(
        [MetRecord("0", "1", date(2026, 1, 5)), MetRecord("2", "3", date(2026, 2, 2))], 1
    )
    config = MatchConfig(seed=count, window_rounds=3)
    got = await round_in_child(group, history, config)
    want = match_round(group, history, config)
    # the same result but for the time it took
    assert dataclasses.replace(got, summary=dataclasses.replace(got.summary, seconds=0)) == (
        dataclasses.replace(want, summary=dataclasses.replace(want.summary, seconds=0))
    )
    assert multiprocessing.active_children() == []


async def test_an_error_of_the_solver_comes_back_as_itself() -> None:
    twice = [*people(3), people(1)[0]]
    with pytest.raises(BadInput) as raised:
        await round_in_child(twice, History.from_records([]), MatchConfig())
    with pytest.raises(BadInput) as here:
        match_round(twice, History.from_records([]), MatchConfig())
    assert raised.value.key == here.value.key
    assert raised.value.params == here.value.params
