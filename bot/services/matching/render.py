"""What a round and a table plan say (pure: the cog sends these lines)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.domain.taxonomy import Taxonomy
from bot.i18n import Text
from bot.services.matching.common import (
    FALLBACKS,
    RoundReport,
    TablePlan,
    join_names,
    reasons_from_json,
    render_reasons,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


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
