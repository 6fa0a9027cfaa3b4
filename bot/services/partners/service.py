"""The partner-search service (see the package docstring)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import discord

from bot.domain.match_model import MatchConfig, Person, Suggestion
from bot.domain.moments import to_local
from bot.domain.partners import (
    FOLLOWUP_DAYS,
    SUGGESTIONS,
    Candidate,
    clean_text,
    expires_at,
    parse_deadline,
    rank_partners,
    seeker_of,
)
from bot.errors import BadInput, ChannelUnavailable, NotFound
from bot.i18n import Text
from bot.permissions import usable_channel
from bot.services.lifecycle import Lifecycle, drop_jobs, schedule_every
from bot.services.matching import (
    EVER_ROUNDS,
    THREAD_ARCHIVE_MINUTES,
    THREAD_NEEDS,
    history_of,
    mentions,
    only_users,
    person_of,
)
from bot.services.names import is_member
from bot.services.partners.cards import (
    CHOICE_KINDS,
    CLOSE_STATUSES,
    InterestResult,
    PartnerViews,
    PostResult,
    followup_no_custom_id,
    interest_custom_id,
    search_card,
)
from bot.services.profiles import guild_taxonomy, profile_card
from bot.services.threads import open_thread, orphan_thread
from bot.storage.matches import MatchRepository
from bot.storage.partners import OPEN, Interest, PartnerRepository, Search
from bot.storage.profiles import Profile, ProfileRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)

JOB_ID = "partner-sweep"
SWEEP = timedelta(minutes=10)
MISFIRE_GRACE_SECONDS = 3600
HISTORY_LIMIT = 100  # messages read back when looking for a card or a question


class PartnerService(Lifecycle):
    start_failure = "partner search start-up failed"

    def __init__(self, bot: MoteplassBot, views: PartnerViews) -> None:
        super().__init__(bot)
        self.views = views
        self.repo = PartnerRepository(bot.db)
        self.profiles = ProfileRepository(bot.db)
        self.matches = MatchRepository(bot.db)
        # Posting, threads, closing and the sweep never interleave in one process: they
        # hold self._lock.

    # ----- lifecycle -----------------------------------------------------------------

    async def _every_start(self) -> None:
        """The sweep (finishes what a restart cut off), and the job."""
        await self.sweep()
        self.schedule()

    def schedule(self) -> None:
        scheduler = self.bot.scheduler
        if scheduler.running:
            schedule_every(scheduler, JOB_ID, self._run_job, SWEEP, MISFIRE_GRACE_SECONDS)

    async def close(self) -> None:
        if self.bot.scheduler.running:
            drop_jobs(self.bot.scheduler, JOB_ID)

    async def _run_job(self) -> None:
        await self._guarded("partner sweep", self.sweep)

    async def sweep(self) -> None:
        """Expire what ran out, finish cut-off cards and threads, edit stale cards, ask the
        30-day question where it is due."""
        async with self._lock:
            expired = await self.repo.expire_due(self.now())
            if expired:
                log.info("partner searches expired: %d", expired)
            await self._resume()
            await self._sync_cards()
            await self._retry_followups()
            await self._ask_due()

    # ----- shared --------------------------------------------------------------------

    async def channel(self, guild: discord.Guild) -> discord.TextChannel:
        """Where cards go: `/setup configure partner_channel`, else the introductions
        channel (threads are made under it)."""
        settings = await self.bot.guild_settings.get(guild.id)
        channel_id = settings.partner_channel_id or settings.intro_channel_id
        return usable_channel(guild, channel_id, THREAD_NEEDS)

    async def require_profile(self, guild_id: int, user_id: int, key: str) -> Profile:
        profile = await self.profiles.get(guild_id, user_id)
        if profile is None or not profile.complete:
            raise BadInput(key)
        return profile

    async def require_search(self, guild_id: int, search_id: int) -> Search:
        search = await self.repo.get(guild_id, search_id)
        if search is None:
            raise NotFound("partner.error.unknown")
        return search

    async def _zone(self, guild_id: int) -> str:
        return (await self.bot.guild_settings.get(guild_id)).timezone

    # ----- the draft -----------------------------------------------------------------

    async def create_draft(
        self,
        guild: discord.Guild,
        user_id: int,
        *,
        title: str,
        description: str,
        brings: str,
        deadline: str | None,
    ) -> Search:
        """Check everything, then store the draft (nothing is stored on bad input)."""
        await self.require_profile(guild.id, user_id, "partner.error.no_profile")
        text = clean_text(title, description, brings)
        zone = await self._zone(guild.id)
        today = to_local(self.now(), zone).date()
        day = parse_deadline(deadline, today) if deadline and deadline.strip() else None
        await self.channel(guild)  # fail before storing
        search = await self.repo.create_draft(
            guild.id,
            user_id,
            title=text.title,
            description=text.description,
            brings=text.brings,
            deadline=day,
            now=self.now(),
        )
        log.info("partner search %d drafted in guild %d", search.id, guild.id)
        return search

    async def _own_draft(self, guild_id: int, search_id: int, user_id: int) -> Search:
        search = await self.require_search(guild_id, search_id)
        if search.user_id != user_id:
            raise BadInput("partner.error.not_yours")
        return search

    async def choose(
        self, guild_id: int, search_id: int, user_id: int, part: str, values: Sequence[str]
    ) -> Search:
        """The wanted sectors, target groups or themes of the poster's draft."""
        search = await self._own_draft(guild_id, search_id, user_id)
        if search.status != "draft":
            raise BadInput("partner.error.already_posted")
        if part not in CHOICE_KINDS:
            raise ValueError(part)
        taxonomy = await guild_taxonomy(self.bot.db, guild_id)
        kind = next(k for k in CHOICE_KINDS if k == part)
        known = [e.key for e in taxonomy.entries(kind)]
        keys = [k for k in known if k in set(values)]  # taxonomy order, each once
        await self.repo.set_choice(guild_id, search_id, part, keys)
        return await self.require_search(guild_id, search_id)

    # ----- posting -------------------------------------------------------------------

    async def post(self, guild: discord.Guild, search_id: int, user_id: int) -> PostResult:
        """Open the poster's draft and post its card (once); the suggestions."""
        async with self._lock:
            search = await self._own_draft(guild.id, search_id, user_id)
            again = search.status != "draft"
            if not again:
                if not search.sectors:
                    raise BadInput("partner.error.no_sectors")
                await self.require_profile(guild.id, user_id, "partner.error.no_profile")
                channel = await self.channel(guild)
                zone = await self._zone(guild.id)
                now = self.now()
                if search.deadline is not None and search.deadline < to_local(now, zone).date():
                    raise BadInput("partner.error.deadline_past", text=search.deadline.isoformat())
                expiry = expires_at(now, search.deadline, zone)
                await self.repo.open(guild.id, search.id, channel.id, now, expiry)
                search = await self.require_search(guild.id, search.id)
                log.info("partner search %d opened in guild %d", search.id, guild.id)
            if search.message_id is None and search.channel_id is not None:
                search = await self._post_card(guild, search, resumed=again)
            suggestions = await self.suggestions(guild.id, search)
        return PostResult(search, suggestions, search.message_id is not None, again)

    async def _card_parts(self, guild_id: int, search: Search) -> tuple[Text, discord.Embed]:
        _ = await self.bot.texts(guild_id)
        taxonomy = await guild_taxonomy(self.bot.db, guild_id)
        poster = await self.profiles.get(guild_id, search.user_id)
        zone = await self._zone(guild_id)
        return _, search_card(_, search, poster, taxonomy, zone)

    async def _post_card(self, guild: discord.Guild, search: Search, *, resumed: bool) -> Search:
        """Send the card, unless (resumed) a crash left it in the channel unstored."""
        assert search.channel_id is not None
        channel = guild.get_channel(search.channel_id)
        if not isinstance(channel, discord.TextChannel):
            log.warning("partner search %d: its channel is gone", search.id)
            return search
        found = await self._find_card(channel, search.id) if resumed else None
        if found is not None:
            log.info("partner search %d: adopted its card posted before a crash", search.id)
            await self.repo.set_card(search.id, found)
        else:
            _, embed = await self._card_parts(guild.id, search)
            view = self.views.card(_, search.id) if search.status == OPEN else None
            try:
                if view is None:
                    message = await channel.send(embed=embed)
                else:
                    message = await channel.send(embed=embed, view=view)
            except discord.HTTPException as exc:
                log.warning("partner search %d: card not posted (code %s)", search.id, exc.code)
                return search
            await self.repo.set_card(search.id, message.id)
        if search.status != OPEN:
            await self.repo.card_synced(search.id, search.status)
        return await self.require_search(guild.id, search.id)

    async def _find_card(self, channel: discord.TextChannel, search_id: int) -> int | None:
        assert self.bot.user is not None
        wanted = interest_custom_id(search_id)
        try:
            async for message in channel.history(limit=HISTORY_LIMIT):
                if message.author.id == self.bot.user.id and wanted in _custom_ids(message):
                    return message.id
        except discord.HTTPException:
            return None
        return None

    async def suggestions(self, guild_id: int, search: Search) -> list[tuple[Profile, Suggestion]]:
        """Up to five people from the wanted sectors, ranked by the matching's scores."""
        poster = await self.profiles.get(guild_id, search.user_id)
        if poster is None:
            return []
        now = self.now()
        opted_out = await self.repo.opted_out(guild_id)
        people = await self.profiles.all(guild_id)
        by_id = {str(p.user_id): p for p in people}
        candidates = [
            Candidate(person_of(p), p.takes_part(now), p.user_id not in opted_out) for p in people
        ]
        settings = await self.matches.settings(guild_id)
        recent = await self.matches.history(guild_id, settings.window_rounds)
        ever = await self.matches.history(guild_id, EVER_ROUNDS)
        me: Person = person_of(poster)
        seeker = seeker_of(
            me,
            sectors=search.sectors,
            interests=search.interests,
            title=search.title,
            description=search.description,
            brings=search.brings,
        )
        found = rank_partners(
            seeker,
            candidates,
            history_of(recent, ever),
            k=SUGGESTIONS,
            config=MatchConfig(window_rounds=settings.window_rounds),
        )
        return [(by_id[s.person], s) for s in found]

    # ----- closing and the card --------------------------------------------------------

    async def close_search(
        self, guild_id: int, search_id: int, user_id: int, status: str
    ) -> Search:
        """The poster closes their open search: found partners, or withdrawn."""
        if status not in CLOSE_STATUSES:
            raise ValueError(status)
        async with self._lock:
            search = await self.require_search(guild_id, search_id)
            if search.user_id != user_id:
                raise BadInput("partner.error.not_yours_close")
            if search.status != OPEN:
                raise BadInput("partner.error.closed")
            await self.repo.close(guild_id, search_id, status, self.now())
            log.info("partner search %d closed (%s) in guild %d", search_id, status, guild_id)
            await self._sync_cards()
            return await self.require_search(guild_id, search_id)

    async def _sync_cards(self) -> None:
        """Edit every card whose search changed status (closed, expired) since."""
        for search in await self.repo.unsynced_cards():
            assert search.channel_id is not None and search.message_id is not None
            if self.bot.get_guild(search.guild_id) is None:
                continue
            _, embed = await self._card_parts(search.guild_id, search)
            channel = self.bot.get_partial_messageable(search.channel_id)
            view = self.views.card(_, search.id) if search.status == OPEN else None
            try:
                await channel.get_partial_message(search.message_id).edit(embed=embed, view=view)
            except discord.NotFound:
                log.info("partner search %d: its card is gone", search.id)
            except discord.HTTPException as exc:
                log.warning("partner search %d: card not edited (code %s)", search.id, exc.code)
                continue
            await self.repo.card_synced(search.id, search.status)

    # ----- interested people ------------------------------------------------------------

    async def interest(self, guild: discord.Guild, search_id: int, user_id: int) -> InterestResult:
        """Someone is interested: their private thread with the poster (made once)."""
        async with self._lock:
            search = await self.require_search(guild.id, search_id)
            if search.status != OPEN:
                raise BadInput("partner.error.closed")
            if search.user_id == user_id:
                raise BadInput("partner.error.own_search")
            await self.require_profile(guild.id, user_id, "partner.error.interest_no_profile")
            interest, new = await self.repo.add_interest(guild.id, search_id, user_id, self.now())
            if new:
                log.info("partner search %d: someone is interested", search_id)
            try:
                thread_id = await self._open_interest(guild, search, interest, resumed=not new)
            except discord.HTTPException as exc:
                log.warning("partner interest %d: thread failed (code %s)", interest.id, exc.code)
                raise ChannelUnavailable("partner.error.thread_failed") from None
        return InterestResult(thread_id, new)

    async def _open_interest(
        self, guild: discord.Guild, search: Search, interest: Interest, *, resumed: bool
    ) -> int:
        """The interest's thread with both members and the cards, each step once."""
        assert search.channel_id is not None
        channel = guild.get_channel(search.channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise ChannelUnavailable(channel=f"<#{search.channel_id}>")
        _, card = await self._card_parts(guild.id, search)
        taxonomy = await guild_taxonomy(self.bot.db, guild.id)
        poster = await self.profiles.get(guild.id, search.user_id)
        person = await self.profiles.get(guild.id, interest.user_id)
        name = person.display_name if person is not None else "?"
        title = _("partner.thread.name", title=search.title[:60], name=name)[:100]
        thread = None
        if interest.thread_id is not None:
            thread = await open_thread(self.bot, interest.thread_id)
        if thread is None:
            if resumed and interest.thread_id is None:
                thread = await orphan_thread(
                    self.bot, channel, title, await self.repo.thread_ids(channel.guild.id)
                )
                if thread is not None:
                    log.info("partner thread %d adopted after a crash", thread.id)
            if thread is None:
                thread = await channel.create_thread(
                    name=title,
                    type=discord.ChannelType.private_thread,
                    invitable=False,
                    auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                )
            await self.repo.set_thread(interest.id, thread.id, self.now())
        both = [search.user_id, interest.user_id]
        for uid in both:
            with contextlib.suppress(discord.NotFound):
                await thread.add_user(discord.Object(id=uid))
        if interest.opened_at is None:
            if not (resumed and await self._has_cards(thread)):
                cards = [card]
                cards += [profile_card(_, p, taxonomy) for p in (poster, person) if p is not None]
                text = f"{mentions(both)} {_('partner.thread.intro')}"
                await thread.send(text, embeds=cards, allowed_mentions=only_users(both))
            await self.repo.set_opened(interest.id, self.now())
        return thread.id

    async def _has_cards(self, thread: discord.Thread) -> bool:
        assert self.bot.user is not None
        try:
            async for message in thread.history(limit=HISTORY_LIMIT):
                if message.author.id == self.bot.user.id and message.embeds:
                    return True
        except discord.HTTPException:
            return False
        return False

    async def _resume(self) -> None:
        """Cards and threads a restart (or a refusal) cut off."""
        for search in await self.repo.unposted():
            guild = self.bot.get_guild(search.guild_id)
            if guild is not None:
                await self._post_card(guild, search, resumed=True)
        for interest in await self.repo.unopened():
            guild = self.bot.get_guild(interest.guild_id)
            of = await self.repo.get(interest.guild_id, interest.search_id)
            if guild is None or of is None:
                continue
            try:
                await self._open_interest(guild, of, interest, resumed=True)
            except (discord.HTTPException, ChannelUnavailable) as exc:
                log.warning("partner interest %d: not finished (%s)", interest.id, exc)

    # ----- the 30-day question ----------------------------------------------------------

    async def _ask_due(self) -> None:
        cutoff = self.now() - timedelta(days=FOLLOWUP_DAYS)
        for interest in await self.repo.due_followups(cutoff):
            guild = self.bot.get_guild(interest.guild_id)
            if guild is None:
                continue  # not in that server now: left for later
            if await self.repo.claim_followup(interest.id, self.now()):
                await self._ask(guild, interest, retried=False)

    async def _retry_followups(self) -> None:
        for interest in await self.repo.claimed_followups():
            guild = self.bot.get_guild(interest.guild_id)
            if guild is not None:
                await self._ask(guild, interest, retried=True)

    async def _ask(self, guild: discord.Guild, interest: Interest, *, retried: bool) -> None:
        """Ask once; a retried claim looks for the question in the thread first."""
        search = await self.repo.get(guild.id, interest.search_id)
        both = [interest.user_id] if search is None else [search.user_id, interest.user_id]
        present = [await is_member(guild, uid) for uid in both]
        thread = None
        if search is not None and all(present) and interest.thread_id is not None:
            thread = await open_thread(self.bot, interest.thread_id)
        if thread is None:
            await self.repo.followup_done(interest.id, asked=False)
            log.info("partner interest %d: not asked (a member or the thread is gone)", interest.id)
            return
        if retried and await self._asked_in(thread, interest.id):
            await self.repo.followup_done(interest.id, asked=True)
            return
        _ = await self.bot.texts(guild.id)
        try:
            for uid in both:
                with contextlib.suppress(discord.NotFound):
                    await thread.add_user(discord.Object(id=uid))
            await thread.send(
                f"{mentions(both)} {_('partner.followup.question')}",
                view=self.views.followup(_, interest.id),
                allowed_mentions=only_users(both),
            )
        except discord.HTTPException as exc:
            log.warning("partner interest %d: question not posted (code %s)", interest.id, exc.code)
            return  # stays claimed: the next sweep looks for it, then asks
        await self.repo.followup_done(interest.id, asked=True)
        log.info("partner interest %d: asked whether they work together", interest.id)

    async def _asked_in(self, thread: discord.Thread, interest_id: int) -> bool:
        assert self.bot.user is not None
        wanted = followup_no_custom_id(interest_id)
        try:
            async for message in thread.history(limit=HISTORY_LIMIT):
                if message.author.id == self.bot.user.id and wanted in _custom_ids(message):
                    return True
        except discord.HTTPException:
            return False
        return False

    async def answer_no(self, interest_id: int, user_id: int) -> tuple[str, int | None]:
        """The 30-day question's "no": (catalogue key of the acknowledgement, guild id)."""
        interest = await self.repo.interest(interest_id)
        if interest is None:
            return "partner.followup.unknown", None
        saved = await self.repo.record_answer(interest_id, user_id, "no", self.now())
        if saved is None:
            return "partner.followup.not_member", interest.guild_id
        return "partner.followup.thanks", interest.guild_id

    # ----- settings ----------------------------------------------------------------------

    async def settings(self, guild_id: int, user_id: int, suggest: bool | None) -> bool:
        """Whether the member may be suggested to searches (changed when `suggest` given)."""
        if suggest is not None:
            await self.repo.set_suggestable(guild_id, user_id, suggest)
        return await self.repo.suggestable(guild_id, user_id)


def _custom_ids(message: discord.Message) -> set[str]:
    found: set[str] = set()
    for row in message.components:
        for item in getattr(row, "children", ()):
            custom_id = getattr(item, "custom_id", None)
            if custom_id:
                found.add(str(custom_id))
    return found
