"""The report as a CSV attachment: the same numbers as the embed and the chart, counts only.

Format, decided once:

* UTF-8 with a byte-order mark, so Excel (which otherwise guesses the Windows code page)
  shows æ, ø, å, ä and ö right.
* Comma-separated (RFC 4180), records ended by CRLF. The comma is what Google Sheets,
  LibreOffice, Numbers, pandas and Python's `csv` read without being told. Excel with
  Norwegian or Swedish regional settings expects `;` when a file is double-clicked and may
  show one column; *Data → From Text/CSV* reads it right (it detects the comma and the
  BOM). We do not add a `sep=,` line: Excel then ignores the BOM and garbles the letters.
* Decimals use a point, shares are fractions from 0 to 1 with four decimals, dates are ISO
  (`2026-12-03`) in the server's zone. An empty cell means "no data" (a share with nothing
  to divide by; attendance of a meeting without a check-in).
* Sections follow each other, separated by an empty row; each starts with a one-cell row
  naming it (`meetings`, `rounds`, `introductions_by_month`, `collaborations_by_month`,
  `collaborations_by_sectors`, `totals`, `programme`), then a header row, then the data.
  `totals` has `key,value` rows. A pair of sectors is written as the sectors' names with
  `lang_labels`, else as their keys.
* Header keys are stable English snake_case (`CSV_COLUMNS`; sector columns are
  `sector_<key>`). With `lang_labels` (key → text), headers and total keys are shown as
  those labels instead, for people; without it, the file is for machines. `csv_labels`
  builds the mapping from the `report.csv.*` messages.
* No personal data: no names, no user ids. Meeting titles (written by organisers) are
  the only text; a title starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`
  so spreadsheets do not run it as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence

from bot.domain.national import NationalView
from bot.domain.stats import Report

__all__ = [
    "COLLAB_MONTH_COLUMNS",
    "COLLAB_PAIR_COLUMNS",
    "CSV_COLUMNS",
    "MEETING_COLUMNS",
    "MONTH_COLUMNS",
    "NATIONAL_COLUMNS",
    "PROGRAMME_COLUMNS",
    "ROUND_COLUMNS",
    "SECTIONS",
    "TOTAL_KEYS",
    "csv_labels",
    "national_csv",
    "report_csv",
    "roster_csv",
    "sector_column",
]

SECTIONS: tuple[str, ...] = (
    "meetings",
    "rounds",
    "introductions_by_month",
    "collaborations_by_month",
    "collaborations_by_sectors",
    "totals",
    "programme",
)

MEETING_COLUMNS: tuple[str, ...] = (
    "meeting_id",
    "date",
    "title",
    "status",
    "going",
    "maybe",
    "not_going",
    "waitlist",
    "attended",
    "participants",
    "new_participants",
    "returning_participants",
    "cross_sector_contacts",
    "collaborations",
)
ROUND_COLUMNS: tuple[str, ...] = (
    "round_id",
    "date",
    "kind",
    "groups",
    "people",
    "cross_sector_groups",
    "cross_sector_share",
    "answered",
    "met_yes",
    "met_share",
)
MONTH_COLUMNS: tuple[str, ...] = ("month", "introductions", "cumulative")
COLLAB_MONTH_COLUMNS: tuple[str, ...] = ("month", "collaborations")
COLLAB_PAIR_COLUMNS: tuple[str, ...] = ("sector_a", "sector_b", "collaborations")
# Per meeting with proposals: how many, how many accepted, then the accepted presenters
# by sector (`sector_<key>` columns, as in `meetings`).
PROGRAMME_COLUMNS: tuple[str, ...] = ("meeting_id", "date", "title", "proposals", "accepted")
TOTAL_KEYS: tuple[str, ...] = (
    "range_start",
    "range_end",
    "zone",
    "meetings",
    "cancelled_meetings",
    "checked_in_meetings",
    "unique_participants",
    "new_participants",
    "participated_before",
    "participations",
    "answers",
    "attended",
    "rounds",
    "pairs",
    "tables",
    "matched_people",
    "cross_sector_share",
    "met_share",
    "unique_cross_sector_contacts",
    "contacts_per_participant",
    "introductions_in_range",
    "introductions_before",
    "collaborations_started",
    "collaborations_from_match",
    "collaborations_from_partner",
    "collaborations_from_meeting",
    "collaborations_other",
)
# `python -m bot report --all`: one row per region, then the sector columns, then `total`.
NATIONAL_COLUMNS: tuple[str, ...] = (
    "region",
    "meetings",
    "participants",
    "new_participants",
    "unique_cross_sector_contacts",
    "rounds",
    "introductions_in_range",
    "collaborations_started",
)
# Every fixed key that may appear in a header or as a total key (sector columns aside).
CSV_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(
        SECTIONS
        + MEETING_COLUMNS
        + ROUND_COLUMNS
        + MONTH_COLUMNS
        + COLLAB_MONTH_COLUMNS
        + COLLAB_PAIR_COLUMNS
        + PROGRAMME_COLUMNS
        + ("key", "value")
        + TOTAL_KEYS
        + NATIONAL_COLUMNS
        + ("total",)
    )
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def sector_column(sector: str) -> str:
    return f"sector_{sector}"


def csv_labels(
    translate: Callable[[str], str], sector_labels: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Labels for `report_csv`: each key's `report.csv.<key>` message, and sector names.

    `translate` is a catalogue bound to a language (`bot.i18n.Text`), `sector_labels` maps
    sector keys to their names in that language.
    """
    labels = {key: translate(f"report.csv.{key}") for key in CSV_COLUMNS}
    for sector, label in (sector_labels or {}).items():
        labels[sector_column(sector)] = label
    return labels


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _safe_text(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def roster_csv(rows: Iterable[tuple[int, str, str, int]]) -> bytes:
    """`/meeting export`: one row per answer (user id, name, status, order in that status),
    in the same format as `report_csv` (BOM, `,`, CRLF, formula-safe text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["user_id", "name", "status", "order"])
    for user_id, name, status, order in rows:
        writer.writerow([user_id, _safe_text(name), status, order])
    return (BOM + buffer.getvalue()).encode("utf-8")


def report_csv(report: Report, lang_labels: Mapping[str, str] | None = None) -> bytes:
    """The report as CSV bytes (UTF-8 with BOM, `,`, CRLF); see the module docstring."""
    labels = lang_labels or {}

    def header(keys: Sequence[str]) -> list[str]:
        return [labels.get(key, key) for key in keys]

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    sector_keys = [sector_column(s) for s in report.sectors]
    writer.writerow(header(["meetings"]))
    writer.writerow(header([*MEETING_COLUMNS, *sector_keys]))
    for row in report.meetings:
        writer.writerow(
            [
                row.meeting_id,
                row.date_local.isoformat(),
                _safe_text(row.title),
                row.status,
                row.going,
                row.maybe,
                row.not_going,
                row.waitlist,
                "" if row.attended is None else row.attended,
                row.participants,
                row.new_participants,
                row.returning_participants,
                row.cross_sector_contacts,
                row.collaborations,
                *(row.by_sector.get(sector, 0) for sector in report.sectors),
            ]
        )
    writer.writerow([])

    writer.writerow(header(["rounds"]))
    writer.writerow(header(ROUND_COLUMNS))
    for r in report.rounds:
        writer.writerow(
            [
                r.round_id,
                r.date_local.isoformat(),
                r.kind,
                r.groups,
                r.people,
                r.cross_sector_groups,
                _number(r.cross_sector_share),
                r.answered,
                r.met_yes,
                _number(r.met_share),
            ]
        )
    writer.writerow([])

    totals = report.totals
    writer.writerow(header(["introductions_by_month"]))
    writer.writerow(header(MONTH_COLUMNS))
    for month in totals.introductions_growth:
        writer.writerow([month.month.strftime("%Y-%m"), month.introductions, month.cumulative])
    writer.writerow([])

    collabs = report.collaborations
    writer.writerow(header(["collaborations_by_month"]))
    writer.writerow(header(COLLAB_MONTH_COLUMNS))
    for started_month, count in collabs.by_month.items():
        writer.writerow([started_month.strftime("%Y-%m"), count])
    writer.writerow([])

    writer.writerow(header(["collaborations_by_sectors"]))
    writer.writerow(header(COLLAB_PAIR_COLUMNS))
    for (a, b), count in collabs.by_pair.items():
        writer.writerow([labels.get(sector_column(a), a), labels.get(sector_column(b), b), count])
    writer.writerow([])

    request = report.request
    values: dict[str, object] = {
        "range_start": request.start.isoformat(),
        "range_end": request.end.isoformat(),
        "zone": request.zone,
        "meetings": totals.meetings,
        "cancelled_meetings": totals.cancelled_meetings,
        "checked_in_meetings": totals.checked_in_meetings,
        "unique_participants": totals.unique_participants,
        "new_participants": totals.new_participants,
        "participated_before": totals.participated_before,
        "participations": totals.participations,
        "answers": totals.answers,
        "attended": totals.attended,
        "rounds": totals.rounds,
        "pairs": totals.pairs,
        "tables": totals.tables,
        "matched_people": totals.matched_people,
        "cross_sector_share": _number(totals.cross_sector_share),
        "met_share": _number(totals.met_share),
        "unique_cross_sector_contacts": totals.unique_cross_sector_contacts,
        "contacts_per_participant": _number(totals.contacts_per_participant),
        "introductions_in_range": totals.introductions_in_range,
        "introductions_before": totals.introductions_before,
        "collaborations_started": collabs.started,
        "collaborations_from_match": collabs.by_origin["match"],
        "collaborations_from_partner": collabs.by_origin["partner"],
        "collaborations_from_meeting": collabs.by_origin["meeting"],
        "collaborations_other": collabs.by_origin["other"],
    }
    writer.writerow(header(["totals"]))
    writer.writerow(header(["key", "value"]))
    for key in TOTAL_KEYS:
        writer.writerow([labels.get(key, key), values[key]])
    writer.writerow([])

    presenter_sectors = sorted(
        {s for counts in report.programme.values() for s in counts.presenters_by_sector}
    )
    writer.writerow(header(["programme"]))
    writer.writerow(header([*PROGRAMME_COLUMNS, *(sector_column(s) for s in presenter_sectors)]))
    for row in report.meetings:
        counts = report.programme.get(row.meeting_id)
        if counts is None:
            continue
        writer.writerow(
            [
                row.meeting_id,
                row.date_local.isoformat(),
                _safe_text(row.title),
                counts.proposals,
                counts.accepted,
                *(counts.presenters_by_sector.get(s, 0) for s in presenter_sectors),
            ]
        )

    return (BOM + buffer.getvalue()).encode("utf-8")


def national_csv(view: NationalView, lang_labels: Mapping[str, str] | None = None) -> bytes:
    """The national view as CSV bytes: a header, a row per region, the `total` row last.

    Same format as `report_csv` (BOM, `,`, CRLF, formula-safe text); the region names are
    the only text. Counts only: no names or ids of people.
    """
    labels = lang_labels or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    keys = [*NATIONAL_COLUMNS, *(sector_column(s) for s in view.sectors)]
    writer.writerow([labels.get(key, key) for key in keys])
    for row in (*view.rows, view.total):
        region = _safe_text(row.region) if row is not view.total else labels.get("total", "total")
        writer.writerow(
            [
                region,
                row.meetings,
                row.participants,
                row.new_participants,
                row.new_contacts,
                row.rounds,
                row.introductions,
                row.collaborations,
                *(row.by_sector.get(sector, 0) for sector in view.sectors),
            ]
        )
    return (BOM + buffer.getvalue()).encode("utf-8")
