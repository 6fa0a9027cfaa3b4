"""Matchmaking: rounds, delivery, "did you meet?" follow-ups, suggestions and tables.

The database is the source of truth; Discord shows it.

* **A round** (`make_round`): everyone taking part (complete profile, not paused or left),
  optionally only those going to a meeting, is paired by `bot.domain.matching.match_round`
  against the stored history (the server's window of rounds). The round and its groups are
  stored in one transaction (`save_round`, follow-up due after the server's `followup_days`);
  people taking part but not in it (left out) and people paused get priority next time.
* **Delivery** (`_deliver`): a private thread per group in the introductions channel with
  the members added and one message (the cards and why), or, with the server's `dm`
  setting, a DM to each member (closed DMs fall back to the group's thread). Every step is
  written down as it happens: the thread as soon as it exists (`set_thread`), each member
  as they get their match (`set_member_delivery`: thread, dm or gone), the group when done
  (`set_delivered`). A restart resumes undelivered groups: a thread is reused, members are
  added again (idempotent), and the message is posted only to members no bot message in
  that thread mentions yet, so nothing is posted twice.
* **Follow-up**: one APScheduler job per pending round (`match-followup:<round id>`),
  derived from the database at start and whenever a round is made; jobs only wake
  `run_followups`, which claims each due round (`claim_followup`) and each group
  (`claim_group_followup`) exactly once and asks "did you meet?" with four buttons whose
  custom ids carry the group and the answer (`CUSTOM_ID_TEMPLATE`, handled by a
  `DynamicItem` in `cogs.matching`, so they work after a restart).
* **Silence**: when a round is made or a follow-up runs, every earlier round whose
  follow-up was sent is counted once (`claim_ignores`): members asked who did not answer get
  `ignored_rounds + 1`, those who answered start again from zero; at `IGNORED_LIMIT` in a
  row they are paused and told (DM, else a mention in their match thread) how to resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Literal

import discord
from apscheduler.triggers.date import DateTrigger

from bot.domain.match_model import History, MatchConfig, Person, Reason, Suggestion, render_reason
from bot.domain.taxonomy import Taxonomy
from bot.errors import BadInput, ChannelUnavailable, NotSetUp
from bot.i18n import Text
from bot.permissions import INTRO_NEEDS, usable_channel
from bot.services.notify import DmResult, send_dm
from bot.services.profiles import guild_taxonomy, profile_card
from bot.storage.matches import (
    GroupRecord,
    MatchRepository,
    MatchRound,
    MatchSettings,
    MemberState,
    MetPair,
    SavedGroup,
)
from bot.storage.meetings import MeetingRepository
from bot.storage.profiles import Profile, ProfileRepository
from bot.storage.rsvps import RsvpRepository

if TYPE_CHECKING:
    from bot.bot import MoteplassBot
    from bot.domain.tables import Seating

# The solver (`bot.domain.matching`, `bot.domain.tables`) needs numpy and rustworkx: it is
# imported inside the methods that make a round, suggestions or tables, so the bot starts
# without them (docs/benchmarks.md, "Memory at start").

log = logging.getLogger(__name__)

JOB_PREFIX = "match-followup:"
# APScheduler must never drop a late job: the job only wakes run_followups, which decides.
MISFIRE_GRACE_SECONDS = 7 * 24 * 3600
IGNORED_LIMIT = 3
EVER_ROUNDS = 1000  # "never met" looks this many rounds back
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a week
# A sent DM is looked for since the round's creation less this (host clock vs Discord's).
DM_CLOCK_SKEW = timedelta(minutes=1)
CUSTOM_ID_TEMPLATE = r"match:met:(?P<group>[0-9]{1,19}):(?P<answer>yes|planned|no|collab)"
# "collab" (we started working together) is stored as "yes" and opens the collaboration form.
ANSWERS = ("yes", "planned", "no", "collab")

PAUSE_WEEKS = (1, 52)
TABLE_SIZE = (2, 12)
WINDOW_ROUNDS = (1, 24)
FOLLOWUP_DAYS = (1, 60)
DELIVERIES = ("thread", "dm")
THREAD_NEEDS = (*INTRO_NEEDS, "create_private_threads", "send_messages_in_threads")
MESSAGE_LIMIT = 2000
EMBEDS_LIMIT = 6000  # characters of all embeds in one message
EMBEDS_PER_MESSAGE = 10

FollowupView = Callable[[Text, int], discord.ui.View]


# ----- pure helpers -------------------------------------------------------------------


def followup_custom_id(group_id: int, answer: str) -> str:
    """The custom id of a "did you meet?" button (matches `CUSTOM_ID_TEMPLATE`)."""
    if answer not in ANSWERS:
        raise ValueError(answer)
    return f"match:met:{group_id:d}:{answer}"


def person_of(profile: Profile) -> Person:
    """The domain's view of a profile (ids as strings)."""
    return Person(
        id=str(profile.user_id),
        name=profile.display_name,
        sector=profile.sector or "",
        interests=frozenset(profile.interests),
        offers=profile.offers,
        seeks=profile.seeks,
        organisation=profile.organisation,
        priority=profile.priority,
    )


def _pair_key(pair: MetPair) -> tuple[str, str]:
    a, b = str(pair.a), str(pair.b)
    return (a, b) if a <= b else (b, a)


def history_of(recent: Iterable[MetPair], ever: Iterable[MetPair] = ()) -> History:
    """A domain History from stored pairs: `recent` (the window) also counts as `ever`."""
    recent_keys = frozenset(_pair_key(p) for p in recent if p.a != p.b)
    ever_keys = frozenset(_pair_key(p) for p in ever if p.a != p.b)
    return History(recent=recent_keys, ever=ever_keys | recent_keys)


def reasons_to_json(reasons: Iterable[Reason]) -> str:
    return json.dumps(
        [
            {"kind": r.kind, "people": list(r.people), "keys": list(r.keys), "texts": list(r.texts)}
            for r in reasons
        ],
        ensure_ascii=False,
    )


def reasons_from_json(text: str) -> tuple[Reason, ...]:
    """Stored reasons back as data; anything malformed (or deleted: `[]`) gives none."""
    try:
        raw = json.loads(text or "[]")
    except json.JSONDecodeError:
        return ()
    found: list[Reason] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
            continue
        found.append(
            Reason(
                item["kind"],
                tuple(str(v) for v in item.get("people", ())),
                tuple(str(v) for v in item.get("keys", ())),
                tuple(str(v) for v in item.get("texts", ())),
            )
        )
    return tuple(found)


# Reasons meant for the organiser's summary, not for the members' message.
_ORGANISER_ONLY = frozenset({"priority"})
# Reasons that explain a weaker group (shown in the organiser's summary).
FALLBACKS = frozenset({"same_sector_fallback", "repeat_fallback", "same_organisation"})


def render_reasons(
    _: Text,
    reasons: Iterable[Reason],
    names: Mapping[str, str],
    taxonomy: Taxonomy,
    *,
    kinds: frozenset[str] | None = None,
) -> str:
    """Reasons as one line in `_`'s language, joined with "; "."""
    parts = [
        render_reason(r, _, names, lambda key: taxonomy.label(key, _.lang))
        for r in reasons
        if (kinds is None or r.kind in kinds) and r.kind not in _ORGANISER_ONLY
    ]
    return "; ".join(parts)


def mentions(user_ids: Iterable[int]) -> str:
    return " ".join(f"<@{uid:d}>" for uid in user_ids)


def only_users(user_ids: Iterable[int]) -> discord.AllowedMentions:
    return discord.AllowedMentions(
        everyone=False,
        roles=False,
        users=[discord.Object(id=uid) for uid in user_ids],
        replied_user=False,
    )


def join_names(names: Sequence[str]) -> str:
    return " & ".join(names)


def chunks(lines: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Lines packed into messages of at most `limit` characters (long lines are cut)."""
    found: list[str] = []
    current = ""
    for line in lines:
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        if current and len(current) + 1 + len(line) > limit:
            found.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        found.append(current)
    return found


def pack_embeds(
    embeds: Sequence[discord.Embed], limit: int = EMBEDS_LIMIT
) -> list[list[discord.Embed]]:
    """Embeds in order, packed into as few messages as Discord's size limits allow (three
    long cards do not fit in one). Always at least one (possibly empty) batch."""
    batches: list[list[discord.Embed]] = [[]]
    size = 0
    for embed in embeds:
        current = batches[-1]
        if current and (size + len(embed) > limit or len(current) >= EMBEDS_PER_MESSAGE):
            batches.append([])
            size = 0
        batches[-1].append(embed)
        size += len(embed)
    return batches


def check_range(value: int, bounds: tuple[int, int], key: str) -> int:
    low, high = bounds
    if not low <= value <= high:
        raise BadInput(key, min=low, max=high)
    return value


# ----- results --------------------------------------------------------------------------


@dataclass(slots=True)
class DeliveryReport:
    """What one delivery pass did (for the organiser's summary)."""

    groups: int = 0
    threads: int = 0
    dms: int = 0
    fallbacks: int = 0
    gone: list[int] = field(default_factory=list)
    failed: int = 0


@dataclass(frozen=True, slots=True)
class RoundReport:
    round: MatchRound
    groups: tuple[SavedGroup, ...]
    names: Mapping[int, str]
    cross_sector_share: float
    delivery: DeliveryReport


@dataclass(frozen=True, slots=True)
class TablePlan:
    meeting_title: str | None
    seating: Seating
    people: Mapping[str, Profile]


class RoundExists(Exception):
    """The rhythm slot has its round already (made before a crash, or by a racing caller)."""

    def __init__(self, round_: MatchRound) -> None:
        super().__init__(round_.id)
        self.round = round_


class AnswerStatus(Enum):
    SAVED = "saved"
    NOT_MEMBER = "not_member"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class AnswerOutcome:
    status: AnswerStatus
    guild_id: int | None


# ----- rendering (pure: the cog sends these) ---------------------------------------------


def round_summary(_: Text, report: RoundReport, taxonomy: Taxonomy) -> list[str]:
    """The organiser's summary of a round, as lines."""
    names = report.names
    text_names = {str(k): v for k, v in names.items()}
    lines = [
        _(
            "match.round.summary",
            people=report.round.people,
            groups=report.round.groups,
            share=f"{report.cross_sector_share:.0%}",
        )
    ]
    for group in report.groups:
        lines.append("• " + join_names([names.get(uid, str(uid)) for uid in group.members]))
    weaker = [
        (
            group,
            render_reasons(
                _, reasons_from_json(group.reasons_json), text_names, taxonomy, kinds=FALLBACKS
            ),
        )
        for group in report.groups
    ]
    weaker = [(g, why) for g, why in weaker if why]
    if weaker:
        lines.append(_("match.round.fallbacks"))
        for group, why in weaker:
            people = join_names([names.get(uid, str(uid)) for uid in group.members])
            lines.append(f"• {people}: {why}")
    delivery = report.delivery
    lines.append(
        _(
            "match.round.delivered",
            threads=delivery.threads,
            dms=delivery.dms,
            fallbacks=delivery.fallbacks,
        )
    )
    if delivery.gone:
        gone = ", ".join(names.get(uid, str(uid)) for uid in delivery.gone)
        lines.append(_("match.round.gone", names=gone))
    if delivery.failed:
        lines.append(_("match.round.failed", count=delivery.failed))
    return lines


def tables_text(_: Text, plan: TablePlan, taxonomy: Taxonomy) -> list[str]:
    """The table list with display names (no mentions) and its quality, as lines."""
    summary = plan.seating.summary
    if plan.meeting_title is not None:
        title = _(
            "match.tables.title",
            title=plan.meeting_title,
            people=summary.people,
            tables=summary.tables,
        )
    else:
        title = _("match.tables.title_all", people=summary.people, tables=summary.tables)
    lines = [title]
    for number, table in enumerate(plan.seating.tables, start=1):
        seated = []
        for member in table.members:
            profile = plan.people[member]
            sector = taxonomy.label(profile.sector or "", _.lang)
            seated.append(f"{profile.display_name} ({sector})")
        lines.append(_("match.tables.table", number=number, names=", ".join(seated)))
    lines.append(
        _(
            "match.tables.quality",
            pairs=summary.same_sector_pairs,
            bound=summary.same_sector_lower_bound,
            share=f"{summary.cross_sector_share:.0%}",
            repeats=summary.repeats,
        )
    )
    return lines


# ----- the service -----------------------------------------------------------------------


class MatchingService:
    def __init__(self, bot: MoteplassBot, followup_view: FollowupView) -> None:
        self.bot = bot
        self.followup_view = followup_view
        self.profiles = ProfileRepository(bot.db)
        self.matches = MatchRepository(bot.db)
        self.meetings = MeetingRepository(bot.db)
        self.rsvps = RsvpRepository(bot.db)
        # Rounds, deliveries, follow-ups and counting never interleave in one process.
        self._lock = asyncio.Lock()
        self._ready = asyncio.Event()
        self._started = False

    def now(self) -> datetime:
        return self.bot.clock.now()

    # ----- lifecycle -----------------------------------------------------------------

    async def settled(self) -> None:
        await self._ready.wait()
        async with self._lock:
            pass

    async def start(self) -> None:
        """On every `on_ready`: the first time, finish interrupted deliveries and catch up on
        due follow-ups; every time, re-derive the jobs from the database."""
        try:
            if not self._started:
                self._started = True
                released, given_up = await self.matches.release_interrupted_followups()
                if released or given_up:
                    log.warning(
                        "follow-ups cut off by a restart: %d retried, %d given up",
                        len(released),
                        given_up,
                    )
                await self.resume_deliveries()
                await self.run_followups()
            await self.sync()
        except Exception:
            log.exception("matching start-up failed")
        finally:
            self._ready.set()

    async def close(self) -> None:
        scheduler = self.bot.scheduler
        if scheduler.running:
            for job in scheduler.get_jobs():
                if job.id.startswith(JOB_PREFIX):
                    job.remove()

    async def sync(self) -> int:
        """One job per round whose follow-up is pending; stale jobs removed. Returns jobs."""
        scheduler = self.bot.scheduler
        if not scheduler.running:
            return 0
        now = self.now()
        wanted: set[str] = set()
        for round_ in await self.matches.pending_followups():
            if round_.followup_due_at is None:
                continue
            job_id = f"{JOB_PREFIX}{round_.id:d}"
            wanted.add(job_id)
            scheduler.add_job(
                self._run_job,
                DateTrigger(run_date=max(round_.followup_due_at, now)),
                id=job_id,
                replace_existing=True,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
                coalesce=True,
            )
        for job in scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
        return len(wanted)

    def job_ids(self) -> list[str]:
        return sorted(j.id for j in self.bot.scheduler.get_jobs() if j.id.startswith(JOB_PREFIX))

    async def _run_job(self) -> None:
        try:
            await self.run_followups()
        except Exception:
            log.exception("match follow-up failed")

    # ----- who takes part --------------------------------------------------------------

    async def _going(self, guild_id: int, meeting_id: int | None) -> tuple[str | None, set[int]]:
        if meeting_id is None:
            return None, set()
        meeting = await self.meetings.require(guild_id, meeting_id)
        roster = await self.rsvps.attendees(meeting.id)
        return meeting.title, set(roster.going)

    async def _participants(self, guild_id: int, meeting_id: int | None) -> list[Profile]:
        title, going = await self._going(guild_id, meeting_id)
        only = going if title is not None else None
        return await self.profiles.participants(guild_id, self.now(), only)

    async def _history(self, guild_id: int, window: int) -> History:
        recent = await self.matches.history(guild_id, window)
        ever = await self.matches.history(guild_id, EVER_ROUNDS)
        return history_of(recent, ever)

    async def delivery_channel(self, guild: discord.Guild) -> discord.TextChannel:
        """The introductions channel, where match threads go (also the DM fallback)."""
        settings = await self.bot.guild_settings.get(guild.id)
        return usable_channel(guild, settings.intro_channel_id, THREAD_NEEDS)

    # ----- a round -------------------------------------------------------------------

    async def make_round(
        self,
        guild: discord.Guild,
        *,
        meeting_id: int | None,
        created_by: int | None,
        rhythm_slot: str | None = None,
    ) -> RoundReport:
        """Pair, store and deliver one round. BadInput (nothing stored) with fewer than two.
        `rhythm_slot`: the ledger key of the rhythm slot the round is for (bot.services.rhythm);
        RoundExists if that slot has its round already."""
        channel = await self.delivery_channel(guild)
        async with self._lock:
            if rhythm_slot is not None:
                existing = await self.matches.round_for_slot(guild.id, rhythm_slot)
                if existing is not None:
                    raise RoundExists(existing)
            settings = await self.matches.settings(guild.id)
            first = await self._participants(guild.id, meeting_id)
            if len(first) < 2:
                raise BadInput("match.error.too_few", count=len(first))
            # Counting earlier silence may pause someone: ask again who takes part.
            await self._count_silence(guild, exclude=frozenset())
            people = await self._participants(guild.id, meeting_id)
            if len(people) < 2:
                raise BadInput("match.error.too_few", count=len(people))
            now = self.now()
            seed = secrets.randbelow(2**31)
            history = await self._history(guild.id, settings.window_rounds)
            by_id = {str(p.user_id): p for p in people}
            from bot.domain.matching import match_round

            # In a worker thread: a large round takes seconds of CPU, and the event loop
            # must keep answering Discord (heartbeats, reactions, commands) meanwhile.
            result = await asyncio.to_thread(
                match_round,
                [person_of(p) for p in people],
                history,
                MatchConfig(seed=seed, window_rounds=settings.window_rounds),
            )
            records = [
                GroupRecord(
                    members=tuple((by_id[m].user_id, by_id[m].sector or "") for m in group.members),
                    score=group.score,
                    same_sector=len({by_id[m].sector for m in group.members}) == 1,
                    reasons_json=reasons_to_json(group.reasons),
                )
                for group in result.groups
            ]
            round_, groups = await self.matches.save_round(
                guild.id,
                kind="pairs",
                seed=seed,
                groups=records,
                now=now,
                meeting_id=meeting_id,
                created_by=created_by,
                followup_due=now + timedelta(days=settings.followup_days),
                rhythm_slot=rhythm_slot,
            )
            log.info(
                "match round %d in guild %d: %d people, %d groups",
                round_.id,
                guild.id,
                round_.people,
                round_.groups,
            )
            matched = {p.user_id for p in people}
            taking_part = {p.user_id for p in await self.profiles.participants(guild.id, now)}
            paused = {p.user_id for p in await self.profiles.paused(guild.id, now)}
            await self.profiles.set_priorities(guild.id, (taking_part - matched) | paused)
            delivery = await self._deliver(guild, channel, groups, settings)
        await self.sync()
        return RoundReport(
            round=round_,
            groups=tuple(groups),
            names={p.user_id: p.display_name for p in people},
            cross_sector_share=result.summary.cross_sector_share,
            delivery=delivery,
        )

    # ----- delivery ------------------------------------------------------------------

    async def resume_deliveries(self) -> int:
        """Finish every undelivered group (after a restart). Returns groups delivered."""
        async with self._lock:
            return await self._resume()

    async def _resume(self) -> int:
        done = 0
        for guild in list(self.bot.guilds):
            groups = await self.matches.undelivered_groups(guild.id)
            if not groups:
                continue
            try:
                channel = await self.delivery_channel(guild)
            except (NotSetUp, ChannelUnavailable):
                log.warning("guild %d: match delivery waits for a usable channel", guild.id)
                continue
            settings = await self.matches.settings(guild.id)
            report = await self._deliver(guild, channel, groups, settings, resumed=True)
            done += report.groups
            log.info("resumed delivery of %d match groups in guild %d", report.groups, guild.id)
        return done

    async def _deliver(
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

    async def _is_member(self, guild: discord.Guild, user_id: int) -> bool:
        if guild.get_member(user_id) is not None:
            return True
        try:
            await guild.fetch_member(user_id)
        except discord.NotFound:
            return False
        except discord.HTTPException:
            return True  # unsure: deliver rather than skip
        return True

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
            elif delivered is not None or await self._is_member(guild, uid):
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
            thread = await self._open_thread(group.thread_id)
            if thread is not None:
                return thread
        _ = await self.bot.texts(channel.guild.id)
        title = _("match.thread.name", names=join_names([names.get(u, "?") for u in present]))
        if resumed and group.thread_id is None:
            orphan = await self._orphan_thread(channel, title[:100])
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

    async def _orphan_thread(
        self, channel: discord.TextChannel, name: str
    ) -> discord.Thread | None:
        """An active private thread of the bot under `channel` named `name` that no group has
        stored: the crash came between creating a group's thread and storing its id."""
        assert self.bot.user is not None
        try:
            active = await channel.guild.active_threads()
        except discord.HTTPException:
            return None
        known = await self.matches.thread_ids(channel.guild.id)
        for thread in sorted(active, key=lambda t: t.id):
            if (
                thread.parent_id == channel.id
                and thread.owner_id == self.bot.user.id
                and thread.type is discord.ChannelType.private_thread
                and thread.name == name
                and thread.id not in known
            ):
                return thread
        return None

    async def _dm_holds(self, user_id: int, content: str, since: datetime) -> bool:
        """Whether this person's DMs from the bot hold `content` sent since `since` (the
        round's creation, less `DM_CLOCK_SKEW`: an earlier round with the same partner had
        the same text)."""
        assert self.bot.user is not None
        since -= DM_CLOCK_SKEW
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            dm = user.dm_channel or await user.create_dm()
            async for message in dm.history(limit=20):
                if message.created_at < since:
                    break
                if message.author.id == self.bot.user.id and message.content == content:
                    return True
        except discord.HTTPException:
            return False
        return False

    async def _open_thread(self, thread_id: int) -> discord.Thread | None:
        """The thread, unarchived so it takes messages; None when it is gone."""
        try:
            thread = await self.bot.fetch_channel(thread_id)
        except discord.HTTPException:
            return None
        if not isinstance(thread, discord.Thread):
            return None
        if thread.archived and not thread.locked:
            try:
                thread = await thread.edit(archived=False)
            except discord.HTTPException:
                return None
        return thread

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

    # ----- follow-ups ----------------------------------------------------------------

    async def run_followups(self) -> int:
        """Ask every due round's groups "did you meet?" once (after finishing deliveries
        that failed earlier). Returns groups asked."""
        asked = 0
        async with self._lock:
            await self._resume()
            now = self.now()
            for round_ in await self.matches.due_followups(now):
                guild = self.bot.get_guild(round_.guild_id)
                if guild is None:
                    continue  # not in that server now: left for later
                if not await self.matches.claim_followup(round_.id):
                    continue
                await self._count_silence(guild, exclude=frozenset({round_.id}))
                asked += await self._ask_round(guild, round_)
            for round_ in await self.matches.rounds_with_unasked_groups():
                guild = self.bot.get_guild(round_.guild_id)
                if guild is not None:
                    asked += await self._ask_round(guild, round_)
        if asked:
            log.info("asked %d match groups whether they met", asked)
        return asked

    async def _ask_round(self, guild: discord.Guild, round_: MatchRound) -> int:
        _ = await self.bot.texts(guild.id)
        states: dict[int, list[MemberState]] = {}
        for state in await self.matches.member_states(round_.id):
            states.setdefault(state.group_id, []).append(state)
        profiles = {p.user_id: p.display_name for p in await self.profiles.all(guild.id)}
        retried = await self.matches.retried_groups(round_.id)
        asked = 0
        for group in await self.matches.groups(round_.id):
            if not group.delivered or not await self.matches.claim_group_followup(
                group.id, self.now()
            ):
                continue
            asked += 1
            await self._ask_group(_, guild, group, states.get(group.id, []), profiles, retried)
            await self.matches.mark_group_followup_sent(group.id)
        return asked

    async def _ask_group(
        self,
        _: Text,
        guild: discord.Guild,
        group: SavedGroup,
        members: list[MemberState],
        profiles: Mapping[int, str],
        retried: set[int],
    ) -> None:
        in_thread = [s.user_id for s in members if s.delivered_via == "thread"]
        by_dm = [s.user_id for s in members if s.delivered_via == "dm"]
        for uid in by_dm:
            if group.id in retried and await self._asked_by_dm(uid, group):
                continue  # the try cut off by a crash had reached this person
            others = [profiles.get(s.user_id, "?") for s in members if s.user_id != uid]
            text = _("match.followup.dm", names=join_names(others) or "—", server=guild.name)
            view = self.followup_view(_, group.id)
            if await send_dm(self.bot, uid, content=text, view=view) is not DmResult.SENT:
                in_thread.append(uid)
        if in_thread and group.thread_id is not None:
            if group.id in retried and await self._already_asked(group):
                return
            text = f"{mentions(in_thread)} {_('match.followup.question')}"
            view = self.followup_view(_, group.id)
            await self._post_in_thread(group.thread_id, text, in_thread, view=view)

    async def _already_asked(self, group: SavedGroup) -> bool:
        """Whether the question is in the group's thread already (a retried follow-up)."""
        assert group.thread_id is not None
        thread = await self._open_thread(group.thread_id)
        if thread is None:
            return False
        return await self._asked_in(thread, group)

    async def _asked_by_dm(self, user_id: int, group: SavedGroup) -> bool:
        """Whether this person's DMs hold the question already (a retried follow-up)."""
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            channel = user.dm_channel or await user.create_dm()
        except discord.HTTPException:
            return False
        return await self._asked_in(channel, group)

    async def _asked_in(self, channel: discord.abc.Messageable, group: SavedGroup) -> bool:
        assert self.bot.user is not None
        prefix = followup_custom_id(group.id, ANSWERS[0]).rsplit(":", 1)[0] + ":"
        try:
            async for message in channel.history(limit=50):
                if message.author.id != self.bot.user.id:
                    continue
                for row in message.components:
                    for item in getattr(row, "children", ()):
                        if str(getattr(item, "custom_id", "") or "").startswith(prefix):
                            return True
        except discord.HTTPException:
            return False
        return False

    async def _post_in_thread(
        self,
        thread_id: int,
        content: str,
        users: Sequence[int],
        view: discord.ui.View | None = None,
    ) -> bool:
        """Post to the users in a match thread (adding them first: someone whose DMs closed
        since may not be in it yet)."""
        thread = await self._open_thread(thread_id)
        if thread is None:
            log.warning("match thread %d is gone", thread_id)
            return False
        try:
            for uid in users:
                with contextlib.suppress(discord.NotFound):
                    await thread.add_user(discord.Object(id=uid))
            text = content[:MESSAGE_LIMIT]
            if view is None:
                await thread.send(text, allowed_mentions=only_users(users))
            else:
                await thread.send(text, allowed_mentions=only_users(users), view=view)
        except discord.HTTPException as exc:
            log.warning("match thread %d: post failed (code %s)", thread_id, exc.code)
            return False
        return True

    async def _count_silence(self, guild: discord.Guild, exclude: frozenset[int]) -> None:
        """Count the unanswered follow-ups of every earlier round once; pause and tell those
        who reached `IGNORED_LIMIT` in a row."""
        for round_ in await self.matches.rounds_to_count(guild.id):
            if round_.id in exclude or not await self.matches.claim_ignores(round_.id):
                continue
            states = await self.matches.member_states(round_.id)
            asked = [s for s in states if s.asked and s.delivered_via in ("thread", "dm")]
            ignored = [s.user_id for s in asked if s.met is None]
            answered = [s.user_id for s in asked if s.met is not None]
            paused = await self.profiles.record_ignored(
                guild.id, ignored, answered, limit=IGNORED_LIMIT
            )
            if not paused:
                continue
            threads = {g.id: g.thread_id for g in await self.matches.groups(round_.id)}
            for state in asked:
                if state.user_id in paused:
                    await self._tell_paused(guild, state.user_id, threads.get(state.group_id))

    async def _tell_paused(self, guild: discord.Guild, user_id: int, thread_id: int | None) -> None:
        _ = await self.bot.texts(guild.id)
        text = _("match.paused.notice", count=IGNORED_LIMIT, server=guild.name)
        if await send_dm(self.bot, user_id, content=text) is DmResult.SENT:
            log.info(
                "guild %d: a member was paused after %d silent rounds", guild.id, IGNORED_LIMIT
            )
            return
        if thread_id is None or not await self._post_in_thread(
            thread_id, f"<@{user_id:d}> {text}", [user_id]
        ):
            log.warning("guild %d: could not tell a paused member", guild.id)

    async def answer(self, group_id: int, user_id: int, met: str) -> AnswerOutcome:
        """Store a button answer; only a member of that group may answer."""
        round_ = await self.matches.round_of_group(group_id)
        if round_ is None:
            return AnswerOutcome(AnswerStatus.UNKNOWN, None)
        stored = "yes" if met == "collab" else met  # working together: they met
        if not await self.matches.record_answer(group_id, user_id, stored, self.now()):
            return AnswerOutcome(AnswerStatus.NOT_MEMBER, round_.guild_id)
        # Answering ends a silent streak.
        await self.profiles.record_ignored(round_.guild_id, [], [user_id], limit=IGNORED_LIMIT)
        return AnswerOutcome(AnswerStatus.SAVED, round_.guild_id)

    # ----- for one person ------------------------------------------------------------

    async def require_profile(self, guild_id: int, user_id: int) -> Profile:
        profile = await self.profiles.get(guild_id, user_id)
        if profile is None or not profile.complete:
            raise BadInput("match.error.no_profile")
        return profile

    async def suggestions(self, guild_id: int, user_id: int) -> list[tuple[Profile, Suggestion]]:
        """Up to three people from other sectors this person has never been matched with."""
        profile = await self.require_profile(guild_id, user_id)
        settings = await self.matches.settings(guild_id)
        people = await self.profiles.participants(guild_id, self.now())
        by_id = {str(p.user_id): p for p in people}
        history = await self._history(guild_id, settings.window_rounds)
        from bot.domain.matching import suggest_for

        found = suggest_for(
            person_of(profile),
            [person_of(p) for p in people],
            history,
            k=3,
            config=MatchConfig(window_rounds=settings.window_rounds),
        )
        return [(by_id[s.person], s) for s in found]

    async def pause(self, guild_id: int, user_id: int, weeks: int) -> datetime:
        check_range(weeks, PAUSE_WEEKS, "match.error.pause_weeks")
        await self.require_profile(guild_id, user_id)
        now = self.now()
        until = now + timedelta(weeks=weeks)
        await self.profiles.set_matching(guild_id, user_id, "paused", now, paused_until=until)
        return until

    async def set_status(self, guild_id: int, user_id: int, status: str) -> None:
        """`active` (resume) or `left`."""
        await self.require_profile(guild_id, user_id)
        await self.profiles.set_matching(guild_id, user_id, status, self.now())

    # ----- organisers ----------------------------------------------------------------

    async def tables(self, guild_id: int, size: int, meeting_id: int | None) -> TablePlan:
        """Tables of about `size` for those going to the meeting (or everyone taking part).

        Not stored: the seed is the meeting id (or today's date), so asking again gives the
        same tables for the same people."""
        check_range(size, TABLE_SIZE, "match.error.table_size")
        title, going = await self._going(guild_id, meeting_id)
        now = self.now()
        people = await self.profiles.participants(
            guild_id, now, going if title is not None else None
        )
        if len(people) < 2:
            raise BadInput("match.error.too_few", count=len(people))
        settings = await self.matches.settings(guild_id)
        history = await self._history(guild_id, settings.window_rounds)
        seed = meeting_id if meeting_id is not None else now.date().toordinal()
        from bot.domain.tables import seat

        seating = seat(
            [person_of(p) for p in people],
            history,
            size,
            MatchConfig(seed=seed, window_rounds=settings.window_rounds),
        )
        return TablePlan(title, seating, {str(p.user_id): p for p in people})

    async def update_settings(
        self,
        guild_id: int,
        *,
        delivery: str | None = None,
        window: int | None = None,
        followup_days: int | None = None,
    ) -> MatchSettings:
        current = await self.matches.settings(guild_id)
        if delivery is not None and delivery not in DELIVERIES:
            raise BadInput("match.error.delivery")
        if window is not None:
            check_range(window, WINDOW_ROUNDS, "match.error.window")
        if followup_days is not None:
            check_range(followup_days, FOLLOWUP_DAYS, "match.error.followup_days")
        updated = dataclasses.replace(
            current,
            delivery=delivery or current.delivery,
            window_rounds=window if window is not None else current.window_rounds,
            followup_days=followup_days if followup_days is not None else current.followup_days,
        )
        if updated != current:
            await self.matches.save_settings(updated)
        return updated
