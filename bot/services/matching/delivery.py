"""Delivering a round (see the package docstring: **Delivery**)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.domain.taxonomy import Taxonomy
from bot.errors import ChannelUnavailable, NotSetUp
from bot.i18n import Text
from bot.permissions import usable_channel
from bot.services.matching.common import (
    DM_CLOCK_SKEW,
    MESSAGE_LIMIT,
    THREAD_ARCHIVE_MINUTES,
    THREAD_NEEDS,
    DeliveryReport,
    join_names,
    mentions,
    only_users,
    pack_embeds,
    reasons_from_json,
    render_reasons,
)
from bot.services.names import is_member
from bot.services.notify import DmResult, dm_channel, send_dm
from bot.services.profiles import guild_taxonomy, profile_card
from bot.services.threads import open_thread, orphan_thread
from bot.storage.matches import MatchRepository, MatchSettings, MemberState, SavedGroup
from bot.storage.profiles import Profile, ProfileRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Delivery:
    """Delivery of a round's groups: a private thread per group (or DMs), each step written
    down as it happens, resumed after a restart without posting twice. The caller holds the
    matching lock."""

    bot: MoteplassBot
    matches: MatchRepository
    profiles: ProfileRepository

    def now(self) -> datetime:
        return self.bot.clock.now()

    async def channel(self, guild: discord.Guild) -> discord.TextChannel:
        """The introductions channel, where match threads go (also the DM fallback)."""
        settings = await self.bot.guild_settings.get(guild.id)
        return usable_channel(guild, settings.intro_channel_id, THREAD_NEEDS)

    async def resume(self) -> int:
        done = 0
        for guild in list(self.bot.guilds):
            groups = await self.matches.undelivered_groups(guild.id)
            if not groups:
                continue
            try:
                channel = await self.channel(guild)
            except (NotSetUp, ChannelUnavailable):
                log.warning("guild %d: match delivery waits for a usable channel", guild.id)
                continue
            settings = await self.matches.settings(guild.id)
            report = await self.deliver(guild, channel, groups, settings, resumed=True)
            done += report.groups
            log.info("resumed delivery of %d match groups in guild %d", report.groups, guild.id)
        return done

    async def deliver(
        self,
        guild: discord.Guild,
        channel: discord.TextChannel,
        groups: Sequence[SavedGroup],
        settings: MatchSettings,
        *,
        resumed: bool = False,
    ) -> DeliveryReport:
        """Deliver `groups`; `resumed`: their delivery was begun before (maybe by a process
        that died mid-step), so what Discord already has is looked up and not made again."""
        report = DeliveryReport()
        _ = await self.bot.texts(guild.id)
        taxonomy = await guild_taxonomy(self.bot.db, guild.id)
        states: dict[int, dict[int, MemberState]] = {}
        for round_id in sorted({g.round_id for g in groups}):
            for state in await self.matches.member_states(round_id):
                states.setdefault(state.group_id, {})[state.user_id] = state
        for group in groups:
            try:
                await self._deliver_group(
                    guild,
                    channel,
                    group,
                    states.get(group.id, {}),
                    settings,
                    _,
                    taxonomy,
                    report,
                    resumed=resumed,
                )
            except discord.HTTPException as exc:
                report.failed += 1
                log.warning(
                    "match group %d not delivered (status %s, code %s)",
                    group.id,
                    exc.status,
                    exc.code,
                )
        partners = [
            uid
            for group in groups
            for uid in group.members
            if uid not in report.gone and any(g in report.gone for g in group.members)
        ]
        if partners:
            await self._raise_priority(guild.id, partners)
        return report

    async def _raise_priority(self, guild_id: int, user_ids: Iterable[int]) -> None:
        current = {p.user_id for p in await self.profiles.all(guild_id) if p.priority > 0}
        await self.profiles.set_priorities(guild_id, current | set(user_ids))

    async def _deliver_group(
        self,
        guild: discord.Guild,
        channel: discord.TextChannel,
        group: SavedGroup,
        states: Mapping[int, MemberState],
        settings: MatchSettings,
        _: Text,
        taxonomy: Taxonomy,
        report: DeliveryReport,
        *,
        resumed: bool = False,
    ) -> None:
        profiles: dict[int, Profile] = {}
        for uid in group.members:
            profile = await self.profiles.get(guild.id, uid)
            if profile is not None:
                profiles[uid] = profile
        names = {uid: p.display_name for uid, p in profiles.items()}
        present: list[int] = []
        gone: list[int] = []
        for uid in group.members:
            state = states.get(uid)
            delivered = state.delivered_via if state is not None else None
            if delivered == "gone":
                gone.append(uid)
            elif delivered is not None or await is_member(guild, uid):
                present.append(uid)
            else:
                gone.append(uid)
                await self.matches.set_member_delivery(group.id, uid, "gone")
                report.gone.append(uid)
                log.info("match group %d: a member left the server, skipped", group.id)
        if not present:
            await self.matches.set_delivered(group.id, group.thread_id)
            report.groups += 1
            return
        reasons = reasons_from_json(group.reasons_json)
        why = render_reasons(_, reasons, {str(k): v for k, v in names.items()}, taxonomy)
        extra = [_("match.intro.why", reasons=why)] if why else []
        if gone:
            left = join_names([names.get(uid, "?") for uid in gone])
            extra.append(_("match.intro.gone", names=left))
        cards = [profile_card(_, profiles[uid], taxonomy) for uid in present if uid in profiles]
        pending = [
            uid for uid in present if states.get(uid) is None or not states[uid].delivered_via
        ]
        thread_id = group.thread_id
        if settings.delivery == "dm":
            fallback: list[int] = []
            round_ = await self.matches.round_of_group(group.id) if resumed else None
            since = round_.created_at if round_ is not None else self.now()
            for uid in pending:
                others = [o for o in present if o != uid]
                lines = list(extra)
                if others:
                    who = join_names([names.get(o, "?") for o in others])
                    lines.insert(0, _("match.intro.dm", names=who, server=guild.name))
                first, *more = pack_embeds(
                    [profile_card(_, profiles[o], taxonomy) for o in others if o in profiles]
                )
                content = "\n".join(lines)[:MESSAGE_LIMIT]
                if resumed and await self._dm_holds(uid, content, since):
                    # the DM went out, the crash came before it was stored
                    await self.matches.set_member_delivery(group.id, uid, "dm")
                    report.dms += 1
                    continue
                result = await send_dm(self.bot, uid, content=content, embeds=first)
                for batch in more if result is DmResult.SENT else []:
                    await send_dm(self.bot, uid, embeds=batch)
                if result is DmResult.SENT:
                    await self.matches.set_member_delivery(group.id, uid, "dm")
                    report.dms += 1
                else:
                    fallback.append(uid)
            if fallback:
                intro = _("match.intro.fallback")
                thread_id = await self._post_intro(
                    channel, group, present, fallback, names, intro, extra, cards, resumed
                )
                report.fallbacks += len(fallback)
        elif pending:
            intro = _("match.intro.thread")
            created = group.thread_id is None
            thread_id = await self._post_intro(
                channel, group, present, pending, names, intro, extra, cards, resumed
            )
            report.threads += int(created)
        await self.matches.set_delivered(group.id, thread_id)
        report.groups += 1

    async def _group_thread(
        self,
        channel: discord.TextChannel,
        group: SavedGroup,
        names: Mapping[int, str],
        present: Sequence[int],
        resumed: bool = False,
    ) -> discord.Thread:
        """The group's thread: the stored one when it still exists, else (resumed) the one a
        crash left unstored, else a new private one."""
        if group.thread_id is not None:
            thread = await open_thread(self.bot, group.thread_id)
            if thread is not None:
                return thread
        _ = await self.bot.texts(channel.guild.id)
        title = _("match.thread.name", names=join_names([names.get(u, "?") for u in present]))
        if resumed and group.thread_id is None:
            orphan = await orphan_thread(
                self.bot, channel, title[:100], await self.matches.thread_ids(channel.guild.id)
            )
            if orphan is not None:
                log.info("match group %d: adopted its thread made before a crash", group.id)
                await self.matches.set_thread(group.id, orphan.id)
                return orphan
        thread = await channel.create_thread(
            name=title[:100],
            type=discord.ChannelType.private_thread,
            invitable=False,
            auto_archive_duration=THREAD_ARCHIVE_MINUTES,
        )
        await self.matches.set_thread(group.id, thread.id)
        return thread

    async def open_thread(self, thread_id: int) -> discord.Thread | None:
        return await open_thread(self.bot, thread_id)

    async def _dm_holds(self, user_id: int, content: str, since: datetime) -> bool:
        """Whether this person's DMs from the bot hold `content` sent since `since` (the
        round's creation, less `DM_CLOCK_SKEW`: an earlier round with the same partner had
        the same text)."""
        assert self.bot.user is not None
        since -= DM_CLOCK_SKEW
        try:
            dm = await dm_channel(self.bot, user_id)
            async for message in dm.history(limit=20):
                if message.created_at < since:
                    break
                if message.author.id == self.bot.user.id and message.content == content:
                    return True
        except discord.HTTPException:
            return False
        return False

    async def _post_intro(
        self,
        channel: discord.TextChannel,
        group: SavedGroup,
        present: Sequence[int],
        targets: Sequence[int],
        names: Mapping[int, str],
        intro: str,
        extra: Sequence[str],
        cards: Sequence[discord.Embed],
        resumed: bool = False,
    ) -> int:
        """Add `targets` to the group's thread and post the cards to those who have not had
        them there yet (a resumed delivery never posts twice). Returns the thread id."""
        thread = await self._group_thread(channel, group, names, present, resumed)
        assert self.bot.user is not None
        already: set[int] = set()
        if resumed or group.thread_id == thread.id:
            try:
                async for message in thread.history(limit=50):
                    if message.author.id == self.bot.user.id and message.embeds:
                        already.update(message.raw_mentions)
            except discord.Forbidden:
                log.warning("match thread %d: cannot read its history", thread.id)
        to_post: list[int] = []
        for uid in targets:
            try:
                await thread.add_user(discord.Object(id=uid))
            except discord.NotFound:
                log.info("match group %d: a member left the server, skipped", group.id)
                await self.matches.set_member_delivery(group.id, uid, "gone")
                continue
            if uid not in already:
                to_post.append(uid)
        if to_post:
            content = "\n".join([f"{mentions(to_post)} {intro}", *extra])
            first, *more = pack_embeds(cards)
            await thread.send(
                content[:MESSAGE_LIMIT], embeds=first, allowed_mentions=only_users(to_post)
            )
            for batch in more:
                await thread.send(embeds=batch)
        for uid in targets:
            if uid in to_post or uid in already:
                await self.matches.set_member_delivery(group.id, uid, "thread")
        return thread.id
