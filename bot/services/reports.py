"""The organiser report, rendered: summary lines, CSV and PNG. Shared by /report and the CLI.

No discord here: the cog turns `summary_lines` into an embed and the bytes into files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, format_percent

from bot.db import Database
from bot.domain.dates import format_date_local
from bot.domain.national import NationalView, national_view
from bot.domain.stats import UNKNOWN_SECTOR, Report, ReportRequest, default_range
from bot.domain.taxonomy import Taxonomy, load_taxonomy
from bot.domain.team import Holding, organisations_by_role, plain
from bot.errors import BadInput
from bot.i18n import BABEL_LOCALES, Text
from bot.reports.csv_export import csv_labels, national_csv, report_csv
from bot.storage.guilds import DEFAULT_TIMEZONE, GuildSettingsRepository
from bot.storage.reports import ReportRepository
from bot.storage.team import TeamRepository

if TYPE_CHECKING:
    from bot.reports.chart import ChartLabels


@dataclass(frozen=True, slots=True)
class RenderedReport:
    report: Report
    csv: bytes
    png: bytes
    filename_stem: str  # moteplass-report-2026-01-01-2026-11-30


def request_for(
    now: datetime, zone: str, start: date | None = None, end: date | None = None
) -> ReportRequest:
    """The range from local dates (both included), defaulting to the last twelve months."""
    default_start, default_end = default_range(now, zone)
    tz = ZoneInfo(zone)
    begin = default_start if start is None else datetime.combine(start, time(0), tzinfo=tz)
    finish = (
        default_end
        if end is None
        else datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz)
    )
    if begin >= finish:
        raise BadInput("report.error.range")
    return ReportRequest(begin, finish, zone)


def _sector_labels(taxonomy: Taxonomy, _: Text) -> dict[str, str]:
    labels = {entry.key: entry.label(_.lang) for entry in taxonomy.sectors}
    labels[UNKNOWN_SECTOR] = _("report.sector.unknown")
    return labels


def _local_days(request: ReportRequest) -> tuple[date, date]:
    """The first and last local day of the range."""
    tz = request.tz
    first = request.start.astimezone(tz).date()
    last = (request.end - timedelta(microseconds=1)).astimezone(tz).date()
    return first, last


def range_text(request: ReportRequest, _: Text) -> str:
    first, last = _local_days(request)
    return _(
        "report.range",
        start=format_date_local(first, _.lang, style="medium"),
        end=format_date_local(last, _.lang, style="medium"),
    )


def _share(value: float | None, _: Text) -> str:
    if value is None:
        return _("report.no_data")
    return format_percent(value, locale=BABEL_LOCALES.get(_.lang, "nb_NO"))


def collaboration_lines(report: Report, _: Text, sectors: Mapping[str, str]) -> list[str]:
    """Collaborations started, by origin and by pair of sectors (`sectors`: key → name)."""
    counts = report.collaborations
    lines = [_("collab.report.started", count=counts.started)]
    if counts.started:
        lines.append(_("collab.report.origins", **counts.by_origin))
        pairs = ", ".join(
            f"{sectors.get(a, a)}–{sectors.get(b, b)} {n}"
            for (a, b), n in sorted(counts.by_pair.items(), key=lambda item: -item[1])
        )
        lines.append(_("collab.report.pairs", pairs=pairs))
    return lines


def summary_lines(report: Report, _: Text, taxonomy: Taxonomy | None = None) -> list[str]:
    """The embed's lines: counts only, never names."""
    t = report.totals
    locale = BABEL_LOCALES.get(_.lang, "nb_NO")
    lines = [
        _("report.meetings", count=t.meetings, cancelled=t.cancelled_meetings),
        _("report.participants", count=t.unique_participants, participations=t.participations),
        _("report.new", count=t.new_participants),
        _("report.returning", count=t.participated_before),
        _("report.answers", count=t.answers),
    ]
    if t.checked_in_meetings:
        lines.append(_("report.attended", count=t.attended, meetings=t.checked_in_meetings))
    if report.programme:
        lines.append(programme_line(report, _))
    lines += [
        _("report.rounds", count=t.rounds),
        _("report.pairs", pairs=t.pairs, tables=t.tables),
        _("report.cross_sector_share", share=_share(t.cross_sector_share, _)),
        _("report.met_share", share=_share(t.met_share, _)),
        _("report.contacts", count=t.unique_cross_sector_contacts),
        _(
            "report.contacts_per_participant",
            value=format_decimal(round(t.contacts_per_participant, 2), locale=locale),
        ),
        _(
            "report.introductions",
            count=t.introductions_in_range,
            total=t.introductions_in_range + t.introductions_before,
        ),
    ]
    lines += collaboration_lines(report, _, _sector_labels(taxonomy or load_taxonomy(), _))
    return lines


def programme_line(report: Report, _: Text, taxonomy: Taxonomy | None = None) -> str:
    """Proposals, accepted items and the presenters' sectors, summed over the meetings."""
    proposals = sum(c.proposals for c in report.programme.values())
    accepted = sum(c.accepted for c in report.programme.values())
    by_sector: dict[str, int] = {}
    for counts in report.programme.values():
        for sector, n in counts.presenters_by_sector.items():
            by_sector[sector] = by_sector.get(sector, 0) + n
    labels = _sector_labels(taxonomy or load_taxonomy(), _)
    sectors = ", ".join(f"{labels.get(s, s)} {n}" for s, n in sorted(by_sector.items()))
    return _(
        "report.programme",
        proposals=proposals,
        accepted=accepted,
        meetings=len(report.programme),
        sectors=sectors or "—",
    )


def _sector_look(taxonomy: Taxonomy, _: Text) -> tuple[dict[str, str], dict[str, str]]:
    """The sectors' names in this language and their card colours, for CSV and chart."""
    colours = {entry.key: entry.colour for entry in taxonomy.sectors if entry.colour}
    return _sector_labels(taxonomy, _), colours


def _chart_labels(_: Text, *, empty: str, subtitle: str, per_meeting: bool) -> ChartLabels:
    """The chart's texts; a server's chart (`per_meeting`) also has the collaborations line
    and the no-check-in legend."""
    from bot.reports.chart import ChartLabels  # matplotlib: only when used

    return ChartLabels(
        participants=_("report.chart.participants"),
        contacts=_("report.chart.contacts"),
        collaborations=_("collab.report.chart") if per_meeting else "",
        empty=empty,
        no_checkin=_("report.chart.no_checkin") if per_meeting else "",
        subtitle=subtitle,
    )


def render(report: Report, _: Text, taxonomy: Taxonomy | None = None) -> RenderedReport:
    """CSV and PNG (CPU work: run it in a thread from async code)."""
    # matplotlib loads at the first report, not when the bot starts (docs/benchmarks.md).
    from bot.reports.chart import report_chart

    sectors, colours = _sector_look(taxonomy or load_taxonomy(), _)
    csv_bytes = report_csv(report, csv_labels(_, sectors))
    subtitle = range_text(report.request, _)
    png = report_chart(
        report,
        title=_("report.chart.title"),
        sector_labels=sectors,
        sector_colours=colours,
        labels=_chart_labels(_, empty=_("report.chart.empty"), subtitle=subtitle, per_meeting=True),
    )
    first, last = _local_days(report.request)
    return RenderedReport(report, csv_bytes, png, f"moteplass-report-{first}-{last}")


async def build(db: Database, guild_id: int, request: ReportRequest) -> Report:
    return await ReportRepository(db).report(guild_id, request)


@dataclass(frozen=True, slots=True)
class NationalReport:
    view: NationalView
    first: date  # local days, both included (each region in its own zone)
    last: date


@dataclass(frozen=True, slots=True)
class RenderedNational:
    national: NationalReport
    csv: bytes
    png: bytes
    filename_stem: str  # moteplass-national-2026-01-01-2026-11-30


async def build_national(
    db: Database, now: datetime, start: date | None = None, end: date | None = None
) -> NationalReport:
    """A row per server that opted in, each from its own facts in its own zone."""
    # The days are those of the default zone; each region reads them in its own zone.
    first, last = _local_days(request_for(now, DEFAULT_TIMEZONE, start, end))
    regions: list[tuple[str, Report]] = []
    for guild in await GuildSettingsRepository(db).national_report_guilds():
        request = request_for(now, guild.timezone, first, end)  # no end: up to now
        name = guild.region_name or str(guild.guild_id)
        regions.append((name, await ReportRepository(db).report(guild.guild_id, request)))
    return NationalReport(national_view(regions), first, last)


def render_national(
    national: NationalReport, _: Text, taxonomy: Taxonomy | None = None
) -> RenderedNational:
    """CSV and PNG of the national view in the reader's language (CPU work)."""
    sectors, colours = _sector_look(taxonomy or load_taxonomy(), _)
    view = national.view
    csv_bytes = national_csv(view, csv_labels(_, sectors))
    from bot.reports.chart import national_chart  # matplotlib: only when used

    subtitle = _(
        "report.national.subtitle",
        start=format_date_local(national.first, _.lang, style="medium"),
        end=format_date_local(national.last, _.lang, style="medium"),
        regions=len(view.rows),
        participants=view.total.participants,
        contacts=view.total.new_contacts,
    )
    png = national_chart(
        view,
        title=_("report.national.title"),
        sector_labels=sectors,
        sector_colours=colours,
        labels=_chart_labels(
            _, empty=_("report.national.empty"), subtitle=subtitle, per_meeting=False
        ),
    )
    stem = f"moteplass-national-{national.first}-{national.last}"
    return RenderedNational(national, csv_bytes, png, stem)


TEAM_LINES = 15  # organisations named in the summary, then "and N more"


def team_lines(holdings: Sequence[Holding], _: Text) -> list[str]:
    """The organisations that carried the region (team roles given before the range's end)
    with their roles, for the summary: organisation names only, never people."""
    organisations = organisations_by_role(holdings)
    if not organisations:
        return []
    lines = [_("team.report.header")]
    for name, roles in organisations[:TEAM_LINES]:
        role_names = ", ".join(_(f"team.role.{role}") for role in roles)
        lines.append(_("team.report.organisation", organisation=plain(name), roles=role_names))
    if len(organisations) > TEAM_LINES:
        lines.append(_("team.report.more", count=len(organisations) - TEAM_LINES))
    return lines


async def build_team_lines(
    db: Database, guild_id: int, request: ReportRequest, _: Text
) -> list[str]:
    return team_lines(await TeamRepository(db).holdings(guild_id, before=request.end), _)
