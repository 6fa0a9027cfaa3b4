"""A match round computed in a short-lived child process (plain Python, no discord).

The solver (`bot.domain.matching`) needs numpy and rustworkx (and scipy above the block
size); once imported they stay in a process for good. `round_in_child` spawns one worker
for the round (`spawn`: a fresh interpreter, nothing of the bot's memory copied), sends it
the pure inputs (people, history, configuration: frozen dataclasses, pickled), gets the
`RoundResult` back and shuts the worker down, so its memory goes back to the system and the
bot process never imports the heavy libraries. The round is stored by the caller only after
the result is back (nothing of a round whose child died is stored).

A child that dies (killed, out of memory) raises `MoteplassError("match.error.round_failed")`;
an error the solver raises (a `BadInput`) comes back as itself.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from bot.domain.match_model import History, MatchConfig, Person, RoundResult
from bot.errors import MoteplassError

log = logging.getLogger(__name__)


def _match_round(people: Sequence[Person], history: History, config: MatchConfig) -> RoundResult:
    """In the child: the heavy imports happen here, never in the bot process."""
    from bot.domain.matching import match_round

    return match_round(people, history, config)


async def round_in_child(
    people: Sequence[Person], history: History, config: MatchConfig
) -> RoundResult:
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    done = False
    try:
        result = await loop.run_in_executor(pool, _match_round, list(people), history, config)
        done = True
        return result
    except BrokenProcessPool as exc:
        log.error("match round: the solver's process died (%s)", exc)
        raise MoteplassError("match.error.round_failed") from exc
    finally:
        if not done:
            # Cancelled (the bot is closing) or broken: do not wait for a round nobody
            # takes. `_processes` is the only handle on the worker before Python 3.14's
            # `terminate_workers()`.
            for process in list((pool._processes or {}).values()):
                process.kill()
        # Joining the worker blocks, so off the event loop.
        await asyncio.shield(asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True))
