"""The path of one answer: load the meeting's answers, decide, write; batched.

`AnswerBook.post(meeting_id, event, now, done)` is what a reaction becomes (`apply` is the
same, awaited). One drainer per meeting commits them, in one transaction per group of
answers (`GroupCommit`: answers for the same meeting that arrive while a transaction is
being opened go into it):

1. `RsvpTransaction.load`: the meeting's gate and answers (storage; cached across
   transactions while nothing else wrote),
2. `bot.domain.rsvp.decide`: the outcome of each answer in arrival order (pure:
   first-come numbering, the latest answer wins, the waitlist, closed answers),
3. `RsvpTransaction.write`: the rows that changed and the promotion notices owed.

Each answer's `done` gets its own outcome (or the exception that stopped it). No discord
here: `MeetingService` turns reactions into events and outcomes into embeds and notices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from bot.domain.rsvp import Choice, Event, Outcome, combine, decide, reconcile
from bot.services.group_commit import Done, GroupCommit, Take
from bot.storage.rsvps import RsvpRepository

__all__ = ["AnswerBook"]


class AnswerBook:
    def __init__(
        self,
        rsvps: RsvpRepository,
        *,
        keep: Callable[[asyncio.Task[None]], None] | None = None,
    ) -> None:
        """`keep(task)` is told of each drainer started (see `GroupCommit`)."""
        self.rsvps = rsvps
        self._groups: GroupCommit[int, tuple[Event, datetime], Outcome] = GroupCommit(
            self._run, keep=keep
        )

    def post(self, meeting_id: int, event: Event, now: datetime, done: Done[Outcome]) -> None:
        """Queue one reaction (`seq=0` in a React: it is numbered here) and return at once;
        `done` gets its outcome once committed, or the exception if it was not."""
        self._groups.post(meeting_id, (event, now), done)

    def writing(self) -> list[asyncio.Task[None]]:
        """The drainers committing queued answers now."""
        return self._groups.busy()

    async def apply(self, meeting_id: int, event: Event, now: datetime) -> Outcome:
        """One reaction or capacity change (pass `seq=0` in a React: it is numbered here).

        Reactions while answers are closed come back unchanged with `closed` set.
        """
        return await self._groups.submit(meeting_id, (event, now))

    async def apply_many(self, meeting_id: int, events: Sequence[Event], now: datetime) -> Outcome:
        """A burst of events in order, in one transaction: all written or none. The combined
        outcome (`bot.domain.rsvp.combine`)."""
        if not events:
            return Outcome(await self.rsvps.load_state(meeting_id))
        outcomes = await self._run(meeting_id, lambda: [(e, now) for e in events])
        return combine(outcomes)

    async def reconcile(
        self, meeting_id: int, observed: Mapping[Choice, Sequence[int]], now: datetime
    ) -> Outcome:
        """Bring stored answers in line with the reactions seen, atomically.

        Reactions that arrive while the caller reads the announcement should be applied
        after this call, not before, or this older snapshot would undo them.
        """
        async with self.rsvps.transaction(cached=False) as tx:
            loaded = await tx.load(meeting_id)
            outcome = reconcile(loaded.state, observed, accepting=loaded.accepting(now))
            if outcome.changed:
                await tx.write_state(loaded, outcome.state, outcome.promoted, now)
        return outcome

    async def _run(self, meeting_id: int, take: Take[tuple[Event, datetime]]) -> list[Outcome]:
        async with self.rsvps.transaction() as tx:
            items = take()
            loaded = await tx.load(meeting_id)
            batch = decide(loaded.state, items, loaded.accepting)
            await tx.write(loaded, batch, max(now for _, now in items))
        return list(batch.outcomes)
