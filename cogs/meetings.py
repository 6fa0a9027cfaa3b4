"""/meeting …: announce, edit, cancel, list, attendees, export, calendar; RSVP listeners."""

from __future__ import annotations

import io
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.autocomplete import chosen_meeting, recent_meetings, upcoming_meetings
from bot.bot import MoteplassBot
from bot.domain.calendar import google_calendar_link, ics_filename, meeting_ics
from bot.domain.dates import format_date_local, suggest_dates
from bot.domain.meeting import EditRequest, Meeting, parse_draft
from bot.domain.moments import to_local
from bot.domain.programme import EMBED_LIMIT, fit_lines
from bot.domain.rsvp import Roster
from bot.errors import NotFound
from bot.i18n import Text
from bot.reports.csv_export import roster_csv
from bot.services.meetings import MeetingService, counts_line
from bot.services.names import NameResolver
from bot.services.programme import programme_lines
from bot.tree import OrganiserView, answer

log = logging.getLogger(__name__)


# Subcommands cannot carry their own default permissions on Discord; these are checked
# on the server with `require_organiser` and marked so the structural test can see it.
ORGANISER = {"organiser": True}


async def _with_note(
    interaction: discord.Interaction[MoteplassBot], text: str, _: Text, note: str | None
) -> None:
    """What was done, and on a line of its own the publisher's note (its catalogue key)."""
    if note is not None:
        text += "\n" + _(note)
    await interaction.followup.send(text, ephemeral=True)


@app_commands.guild_only()
class MeetingCog(commands.GroupCog, group_name="meeting", group_description="Meetings"):
    def __init__(self, bot: MoteplassBot) -> None:
        self.bot = bot
        self.service = bot.services.meetings
        self.names = NameResolver(bot.db)
        super().__init__()

    async def cog_unload(self) -> None:
        await self.service.close()

    # ----- listeners ---------------------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Fires after every new gateway session: reconcile what happened while away.
        await self.service.reconcile_all()

    @commands.Cog.listener()
    async def on_shard_disconnect(self, shard_id: int) -> None:
        self.service.gateway_down(shard_id)

    @commands.Cog.listener()
    async def on_shard_resumed(self, shard_id: int) -> None:
        self.service.gateway_up(shard_id)

    @commands.Cog.listener()
    async def on_shard_connect(self, shard_id: int) -> None:
        self.service.gateway_up(shard_id)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.names.remember(payload.member)  # Discord sends the member with every add
        await self.service.on_reaction(payload, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.service.on_reaction(payload, added=False)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.service.on_message_delete(payload.message_id)

    # ----- shared parsing ----------------------------------------------------------

    async def _meeting(self, interaction: discord.Interaction[MoteplassBot], value: str) -> Meeting:
        assert interaction.guild_id is not None
        return await self.service.meetings.require(interaction.guild_id, chosen_meeting(value))

    async def _organiser_meeting(
        self, interaction: discord.Interaction[MoteplassBot], value: str
    ) -> tuple[Text, Meeting]:
        """The one organiser check (and the server's catalogue), then the chosen meeting."""
        _ = await self.bot.organiser_texts(interaction)
        return _, await self._meeting(interaction, value)

    async def _date_choices(
        self, interaction: discord.Interaction[MoteplassBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        settings = await self.bot.guild_settings.get(interaction.guild_id)
        last = await self.service.meetings.last_meeting(interaction.guild_id)
        last_day = to_local(last.starts_at, last.timezone).date() if last else None
        days = suggest_dates(last_day, self.bot.clock.now(), settings.timezone, n=25)
        needle = current.strip().casefold()
        choices = []
        for day in days:
            label = f"{day:%d.%m.%Y} · {format_date_local(day, settings.language)}"
            if needle and needle not in label.casefold():
                continue
            choices.append(app_commands.Choice(name=label[:100], value=day.isoformat()))
        return choices[:25]

    # ----- commands ----------------------------------------------------------------

    @app_commands.command(name="create", description="Announce a new meeting", extras=ORGANISER)
    @app_commands.describe(
        title="What the meeting is called",
        date="Date, e.g. 2026-12-03 or 3.12.2026",
        start="Start time, e.g. 08:30",
        end="End time (10:00) or duration (1h30)",
        place="Address or link",
        description="Programme or description",
        capacity="Most people who can come (empty: no limit)",
        deadline="Last day to answer, e.g. 1.12.2026",
    )
    async def create(
        self,
        interaction: discord.Interaction[MoteplassBot],
        title: str,
        date: str,
        start: str,
        end: str,
        place: str = "",
        description: str = "",
        capacity: int | None = None,
        deadline: str | None = None,
    ) -> None:
        assert interaction.guild is not None
        _ = await self.bot.organiser_texts(interaction)
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        draft = parse_draft(
            title=title,
            date_text=date,
            start_text=start,
            end_text=end,
            timezone=settings.timezone,
            now=self.bot.clock.now(),
            place=place,
            description=description,
            capacity=capacity,
            deadline_text=deadline,
        )
        await self.service.announce_channel(interaction.guild)  # fail before storing
        meeting = await self.service.meetings.create(
            interaction.guild.id, draft, self.bot.clock.now(), created_by=interaction.user.id
        )
        meeting, note = await self.service.publish(interaction.guild, meeting)
        self.bot.dispatch("meeting_changed", meeting.id)
        await _with_note(interaction, _("meeting.created", title=meeting.title), _, note)

    @create.autocomplete("date")
    async def _create_date(
        self, interaction: discord.Interaction[MoteplassBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._date_choices(interaction, current)

    @app_commands.command(name="edit", description="Change a meeting", extras=ORGANISER)
    @app_commands.describe(
        meeting="The meeting",
        title="New title",
        date="New date",
        start="New start time",
        end="New end time or duration",
        place="New place",
        description="New programme or description",
        capacity="New capacity (0 removes the limit)",
        deadline="New answer deadline",
    )
    @app_commands.autocomplete(meeting=upcoming_meetings)
    async def edit(
        self,
        interaction: discord.Interaction[MoteplassBot],
        meeting: str,
        title: str | None = None,
        date: str | None = None,
        start: str | None = None,
        end: str | None = None,
        place: str | None = None,
        description: str | None = None,
        capacity: int | None = None,
        deadline: str | None = None,
    ) -> None:
        assert interaction.guild is not None
        _ = await self.bot.organiser_texts(interaction)
        current = await self._meeting(interaction, meeting)
        request = EditRequest(
            title=title,
            date_text=date,
            start_text=start,
            end_text=end,
            place=place,
            description=description,
            capacity=capacity,
            deadline_text=deadline,
        )
        updated, note = await self.service.edit(interaction.guild, current, request)
        await _with_note(interaction, _("meeting.edited", title=updated.title), _, note)

    @app_commands.command(name="cancel", description="Cancel a meeting", extras=ORGANISER)
    @app_commands.describe(meeting="The meeting", reason="Why (shown to everyone)")
    @app_commands.autocomplete(meeting=upcoming_meetings)
    async def cancel(
        self,
        interaction: discord.Interaction[MoteplassBot],
        meeting: str,
        reason: str | None = None,
    ) -> None:
        assert interaction.guild is not None
        _ = await self.bot.organiser_texts(interaction)
        current = await self._meeting(interaction, meeting)
        await self.service.cancel(interaction.guild, current, reason)
        await answer(interaction, _("meeting.cancelled", title=current.title))

    @app_commands.command(
        name="repost", description="Post the announcement again", extras=ORGANISER
    )
    @app_commands.describe(meeting="The meeting")
    @app_commands.autocomplete(meeting=upcoming_meetings)
    async def repost(self, interaction: discord.Interaction[MoteplassBot], meeting: str) -> None:
        assert interaction.guild is not None
        _, current = await self._organiser_meeting(interaction, meeting)
        await self.service.announce_channel(interaction.guild)
        await self.service.repost(interaction.guild, current)
        await answer(interaction, _("meeting.reposted", title=current.title))

    @app_commands.command(name="list", description="Upcoming meetings")
    async def list_(self, interaction: discord.Interaction[MoteplassBot]) -> None:
        assert interaction.guild is not None
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        _ = self.bot.catalog.translator(settings.language)
        meetings = await self.service.meetings.list_upcoming(
            interaction.guild.id, self.bot.clock.now(), limit=10
        )
        if not meetings:
            await answer(interaction, _("meeting.list.empty"))
            return
        embed = discord.Embed(title=_("meeting.list.title"))
        fields: list[tuple[str, str, list[str]]] = []
        for item in meetings:
            counts = await self.service.rsvps.counts(item.id)
            value = f"<t:{int(item.starts_at.timestamp())}:F>\n{counts_line(_, counts)}"
            if item.place:
                value += f"\n{item.place}"
            programme = await programme_lines(self.bot, item, _)
            fields.append((item.title[:256], value[:1024], programme))
        # Each accepted programme gets an equal share of what is left of the 6,000.
        used = len(embed.title or "") + sum(len(n) + len(v) for n, v, _p in fields)
        with_programme = sum(1 for *_nv, p in fields if p) or 1
        share = (EMBED_LIMIT - used) // with_programme
        for name, value, programme in fields:
            room = min(1024 - len(value), share) - 1
            text = fit_lines(programme, room, lambda n: _("programme.embed.more", count=n))
            embed.add_field(name=name, value=f"{value}\n{text}" if text else value, inline=False)
        await answer(interaction, embed=embed)

    @app_commands.command(name="attendees", description="Who is coming", extras=ORGANISER)
    @app_commands.describe(meeting="The meeting")
    @app_commands.autocomplete(meeting=recent_meetings)
    async def attendees(self, interaction: discord.Interaction[MoteplassBot], meeting: str) -> None:
        _, current, roster, names = await self._roster(interaction, meeting)
        embed = discord.Embed(title=current.title[:256])
        for key, people in (
            ("meeting.status.going", roster.going),
            ("meeting.status.maybe", roster.maybe),
            ("meeting.status.not_going", roster.not_going),
            ("meeting.status.waitlist", roster.waitlist),
        ):
            text = ", ".join(discord.utils.escape_markdown(names[uid]) for uid in people) or "—"
            if len(text) > 1000:
                text = text[:990].rsplit(",", 1)[0] + ", …"
            embed.add_field(name=f"{_(key)} ({len(people)})", value=text, inline=False)
        await answer(interaction, embed=embed)

    @app_commands.command(name="export", description="Answers as a CSV file", extras=ORGANISER)
    @app_commands.describe(meeting="The meeting")
    @app_commands.autocomplete(meeting=recent_meetings)
    async def export(self, interaction: discord.Interaction[MoteplassBot], meeting: str) -> None:
        _, current, roster, names = await self._roster(interaction, meeting)
        rows = (
            (user_id, names[user_id], status, order)
            for status, people in (
                ("going", roster.going),
                ("waitlist", roster.waitlist),
                ("maybe", roster.maybe),
                ("not_going", roster.not_going),
            )
            for order, user_id in enumerate(people, start=1)
        )
        data = roster_csv(rows)
        file = discord.File(io.BytesIO(data), filename=f"meeting-{current.id}.csv")
        await answer(interaction, _("meeting.exported", title=current.title), file=file)

    async def _roster(
        self, interaction: discord.Interaction[MoteplassBot], value: str
    ) -> tuple[Text, Meeting, Roster, dict[int, str]]:
        """The organiser check, the chosen meeting, its answers and everyone's name."""
        assert interaction.guild is not None
        _, current = await self._organiser_meeting(interaction, value)
        roster = await self.service.rsvps.attendees(current.id)
        return _, current, roster, await self._names(interaction.guild, roster.everyone(), _)

    async def _names(
        self, guild: discord.Guild, user_ids: tuple[int, ...], _: Text
    ) -> dict[int, str]:
        """Display names for a list; someone who left gets the catalogue's placeholder."""
        found = await self.names.names(guild, user_ids)
        left = _("meeting.name.left")
        return {user_id: name or left for user_id, name in found.items()}

    @app_commands.command(name="checkin", description="Record who came", extras=ORGANISER)
    @app_commands.describe(meeting="The meeting")
    @app_commands.autocomplete(meeting=recent_meetings)
    async def checkin(self, interaction: discord.Interaction[MoteplassBot], meeting: str) -> None:
        assert interaction.guild is not None
        _, current = await self._organiser_meeting(interaction, meeting)
        going, checked = await self.service.checkin_state(current.id)
        names = await self._names(interaction.guild, (*going, *checked), _)
        view = CheckinView(_, self.bot, current, going, names, checked)
        await answer(interaction, view.text(), view=view)

    @app_commands.command(name="calendar", description="Add a meeting to your calendar")
    @app_commands.describe(meeting="The meeting")
    @app_commands.autocomplete(meeting=upcoming_meetings)
    async def calendar(self, interaction: discord.Interaction[MoteplassBot], meeting: str) -> None:
        _ = await self.bot.texts(interaction.guild_id)
        current = await self._meeting(interaction, meeting)
        file = discord.File(
            io.BytesIO(meeting_ics(current, self.bot.clock.now())), filename=ics_filename(current)
        )
        link = google_calendar_link(current)
        await answer(interaction, _("meeting.calendar", link=link), file=file)

    @edit.autocomplete("date")
    async def _edit_date(
        self, interaction: discord.Interaction[MoteplassBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._date_choices(interaction, current)


class _GoingSelect(discord.ui.Select["CheckinView"]):
    def __init__(self, view: CheckinView, chunk: list[int], first: int) -> None:
        super().__init__(
            placeholder=view._("meeting.checkin.going", first=first, last=first + len(chunk) - 1),
            min_values=0,
            max_values=len(chunk),
            options=[
                discord.SelectOption(
                    label=view.names.get(uid, str(uid))[:100] or str(uid),
                    value=str(uid),
                    default=uid in view.checked,
                )
                for uid in chunk
            ],
            custom_id=f"checkin:going:{first}",
        )
        self.chunk = chunk

    async def callback(self, interaction: discord.Interaction[MoteplassBot]) -> None:  # type: ignore[override]
        assert self.view is not None
        chosen = {int(v) for v in self.values}
        await self.view.save(interaction, (self.view.checked - set(self.chunk)) | chosen)


class _OthersSelect(discord.ui.UserSelect["CheckinView"]):
    def __init__(self, view: CheckinView, others: list[int]) -> None:
        super().__init__(
            placeholder=view._("meeting.checkin.others"),
            min_values=0,
            max_values=25,
            default_values=[discord.Object(uid) for uid in others[:25]],
            custom_id="checkin:others",
        )

    async def callback(self, interaction: discord.Interaction[MoteplassBot]) -> None:  # type: ignore[override]
        assert self.view is not None
        view = self.view
        for user in self.values:
            view.names.setdefault(user.id, user.display_name)
        chosen = {user.id for user in self.values if not user.bot}
        fresh = frozenset(chosen - view.checked)
        await view.save(interaction, (view.checked & set(view.going)) | chosen, fresh)


class _CheckinButton(discord.ui.Button["CheckinView"]):
    def __init__(self, label: str, action: str, *, disabled: bool = False) -> None:
        style = discord.ButtonStyle.primary if action == "all" else discord.ButtonStyle.secondary
        super().__init__(label=label, style=style, disabled=disabled, custom_id=f"checkin:{action}")
        self.action = action

    async def callback(self, interaction: discord.Interaction[MoteplassBot]) -> None:  # type: ignore[override]
        assert self.view is not None
        view = self.view
        if self.action == "all":
            await view.save(interaction, view.checked | set(view.going))
            return
        view.page += 1 if self.action == "next" else -1
        view.build()
        await interaction.response.edit_message(content=view.text(), view=view)


class CheckinView(OrganiserView):
    """Who came: selects of the people going (25 each, three per page) and a user select for
    anyone else. Every choice is saved at once, so nothing is lost if the view expires."""

    PAGE = 75

    def __init__(
        self,
        _: Text,
        bot: MoteplassBot,
        meeting: Meeting,
        going: list[int],
        names: dict[int, str],
        checked: set[int],
    ) -> None:
        super().__init__(timeout=900)
        self._ = _
        self.bot = bot
        self.meeting = meeting
        self.going = going
        self.names = names
        self.checked = set(checked)
        self.page = 0
        self.build()

    def text(self) -> str:
        _ = self._
        head = _("meeting.checkin.header", title=self.meeting.title)
        if not self.going:
            head += "\n" + _("meeting.checkin.nobody_going")
        return head + "\n" + _("meeting.checkin.count", count=len(self.checked))

    def build(self) -> None:
        _ = self._
        self.clear_items()
        start = self.page * self.PAGE
        shown = self.going[start : start + self.PAGE]
        for offset in range(0, len(shown), 25):
            self.add_item(_GoingSelect(self, shown[offset : offset + 25], start + offset + 1))
        self.add_item(_OthersSelect(self, sorted(self.checked - set(self.going))))
        if self.going:
            self.add_item(_CheckinButton(_("meeting.checkin.all_going"), "all"))
        pages = -(-len(self.going) // self.PAGE)
        if pages > 1:
            self.add_item(
                _CheckinButton(_("meeting.checkin.previous"), "previous", disabled=self.page == 0)
            )
            self.add_item(
                _CheckinButton(_("meeting.checkin.next"), "next", disabled=self.page + 1 >= pages)
            )

    async def save(
        self,
        interaction: discord.Interaction[MoteplassBot],
        chosen: set[int],
        picked: frozenset[int] = frozenset(),
    ) -> None:
        """Apply what changed on this message to what is stored now. The view's lists may be
        old: someone whose data was deleted since is not checked in again by them; only a
        fresh pick in the user select (`picked`) adds someone who is not going."""
        await interaction.response.defer()  # before the write: the 3 s deadline
        service: MeetingService = self.bot.services.meetings
        try:
            going, checked = await service.save_checkins(
                self.meeting, self.checked, chosen, picked, interaction.user.id
            )
        except (ValueError, NotFound):  # the meeting is gone
            self.stop()
            await interaction.edit_original_response(
                content=self._("meeting.error.not_found"), view=None
            )
            return
        self.going = going
        self.checked = checked
        self.build()
        await interaction.edit_original_response(content=self.text(), view=self)


async def setup(bot: MoteplassBot) -> None:
    await bot.add_cog(MeetingCog(bot))
