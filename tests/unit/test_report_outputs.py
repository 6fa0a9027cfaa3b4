"""Report attachments: the CSV reads back with the same numbers and no personal data; the
chart is a PNG of the stated size, also for an empty report."""

from __future__ import annotations

import csv
import io
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.stats import (
    UNKNOWN_SECTOR,
    AnswerFact,
    MeetingFact,
    Report,
    ReportRequest,
    build_report,
)
from bot.i18n import LANGUAGES, Catalog
from bot.reports.chart import (
    FALLBACK_PALETTE,
    HEIGHT_PX,
    WIDTH_PX,
    ChartLabels,
    report_chart,
    sector_colour_map,
)
from bot.reports.csv_export import (
    CSV_COLUMNS,
    MEETING_COLUMNS,
    ROUND_COLUMNS,
    SECTIONS,
    TOTAL_KEYS,
    csv_labels,
    report_csv,
    sector_column,
)
from tests.unit.test_stats import P1, P10, REQUEST, hand_built

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECTOR_LABELS = {
    "civil_society": "Sivilsamfunn og frivillighet",
    "business": "Næringsliv",
    "public_sector": "Kommune og offentlig sektor",
    UNKNOWN_SECTOR: "Ukjent sektor",
}
SECTOR_COLOURS = {"civil_society": "#2E7D32", "business": "#1565C0", "public_sector": "#C62828"}
LABELS = ChartLabels(
    participants="Deltakere",
    contacts="Nye kontakter på tvers av sektorer",
    empty="Ingen møter i denne perioden",
    no_checkin="Påmeldt (ingen innsjekking)",
    subtitle="1.1.2026–30.6.2026",
)


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report(REQUEST, *hand_built())


def _sections(data: bytes) -> dict[str, list[list[str]]]:
    """Section name → its rows (header first), split on the empty rows."""
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for row in rows:
        if not row:
            current = None
        elif current is None:
            assert len(row) == 1, row
            current = sections.setdefault(row[0], [])
        else:
            current.append(row)
    return sections


def _table(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *body = rows
    assert all(len(r) == len(header) for r in body)
    return [dict(zip(header, r, strict=True)) for r in body]


# --- CSV ----------------------------------------------------------------------------------


def test_csv_has_the_report_numbers(report: Report) -> None:
    sections = _sections(report_csv(report))
    assert list(sections) == list(SECTIONS)

    meetings = _table(sections["meetings"])
    assert list(meetings[0])[: len(MEETING_COLUMNS)] == list(MEETING_COLUMNS)
    assert [int(m["meeting_id"]) for m in meetings] == [r.meeting_id for r in report.meetings]
    for row, parsed in zip(report.meetings, meetings, strict=True):
        assert parsed["date"] == row.date_local.isoformat()
        assert int(parsed["going"]) == row.going
        assert int(parsed["maybe"]) == row.maybe
        assert int(parsed["not_going"]) == row.not_going
        assert int(parsed["waitlist"]) == row.waitlist
        assert parsed["attended"] == ("" if row.attended is None else str(row.attended))
        assert int(parsed["participants"]) == row.participants
        assert int(parsed["new_participants"]) == row.new_participants
        assert int(parsed["returning_participants"]) == row.returning_participants
        assert int(parsed["cross_sector_contacts"]) == row.cross_sector_contacts
        for sector in report.sectors:
            assert int(parsed[sector_column(sector)]) == row.by_sector.get(sector, 0)

    rounds = _table(sections["rounds"])
    assert list(rounds[0]) == list(ROUND_COLUMNS)
    assert rounds[0]["cross_sector_share"] == "0.6667"
    assert rounds[1]["met_share"] == ""  # nobody answered: no data, not 0
    assert [int(r["groups"]) for r in rounds] == [r.groups for r in report.rounds]

    months = _table(sections["introductions_by_month"])
    assert [(m["month"], int(m["introductions"]), int(m["cumulative"])) for m in months] == [
        (g.month.strftime("%Y-%m"), g.introductions, g.cumulative)
        for g in report.totals.introductions_growth
    ]

    header, *pairs = sections["totals"]
    assert header == ["key", "value"]
    totals = dict(pairs)
    assert list(totals) == list(TOTAL_KEYS)
    t = report.totals
    assert int(totals["meetings"]) == t.meetings
    assert int(totals["unique_participants"]) == t.unique_participants
    assert int(totals["new_participants"]) == t.new_participants
    assert int(totals["answers"]) == t.answers
    assert int(totals["attended"]) == t.attended
    assert int(totals["pairs"]) == t.pairs
    assert int(totals["unique_cross_sector_contacts"]) == t.unique_cross_sector_contacts
    assert float(totals["contacts_per_participant"]) == pytest.approx(t.contacts_per_participant)
    assert float(totals["cross_sector_share"]) == pytest.approx(0.75)
    assert float(totals["met_share"]) == pytest.approx(0.6)
    assert int(totals["introductions_in_range"]) == t.introductions_in_range
    assert totals["zone"] == "Europe/Oslo"


def test_csv_holds_no_personal_data(report: Report) -> None:
    data = report_csv(report)
    text = data.decode("utf-8-sig")
    for person in range(P1, P10 + 1):
        assert str(person) not in text
    assert "Nyttårsmøte" in text  # meeting titles are there, and in UTF-8


def test_csv_defuses_formulas_in_titles() -> None:
    meetings = [MeetingFact(1, REQUEST.start, "=HYPERLINK(1)", "scheduled")]
    answers = [AnswerFact(1, 5, "going", "business")]
    data = report_csv(build_report(REQUEST, meetings, answers, [], [], []))
    meeting = _table(_sections(data)["meetings"])[0]
    assert meeting["title"] == "'=HYPERLINK(1)"


def test_csv_of_an_empty_report() -> None:
    sections = _sections(report_csv(build_report(REQUEST, [], [], [], [], [])))
    assert len(sections["meetings"]) == 1  # the header only
    assert len(sections["rounds"]) == 1
    assert dict(sections["totals"][1:])["cross_sector_share"] == ""


@pytest.mark.parametrize("lang", LANGUAGES)
def test_csv_with_localised_labels(report: Report, catalog: Catalog, lang: str) -> None:
    labels = csv_labels(catalog.translator(lang), SECTOR_LABELS)
    for key in CSV_COLUMNS:
        assert catalog.has(f"report.csv.{key}", lang), key
        assert labels[key] != f"report.csv.{key}"
    sections = _sections(report_csv(report, labels))
    meetings_name = labels["meetings"]
    header = sections[meetings_name][0]
    assert header[: len(MEETING_COLUMNS)] == [labels[k] for k in MEETING_COLUMNS]
    assert labels[sector_column("business")] in header
    # Numbers are the same with or without labels.
    plain = _sections(report_csv(report))
    assert sections[meetings_name][1:] == plain["meetings"][1:]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_chart_and_summary_messages_exist(catalog: Catalog, lang: str) -> None:
    keys = [
        "report.title",
        "report.range",
        "report.meetings",
        "report.participants",
        "report.new",
        "report.returning",
        "report.attended",
        "report.pairs",
        "report.cross_sector_share",
        "report.met_share",
        "report.contacts_per_participant",
        "report.introductions",
        "report.chart.participants",
        "report.chart.contacts",
        "report.chart.empty",
        "report.chart.no_checkin",
        "report.sector.unknown",
        *(f"report.status.{s}" for s in ("going", "maybe", "not_going", "waitlist")),
    ]
    for key in keys:
        assert catalog.has(key, lang), key


# --- chart --------------------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert (length, chunk) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _chart(report: Report) -> bytes:
    return report_chart(
        report,
        title="Møteplass – rapport",
        sector_labels=SECTOR_LABELS,
        sector_colours=SECTOR_COLOURS,
        labels=LABELS,
    )


def test_chart_is_a_png_of_the_stated_size(report: Report) -> None:
    data = _chart(report)
    assert len(data) > 10_000
    assert _png_size(data) == (WIDTH_PX, HEIGHT_PX) == (1200, 675)


def test_empty_report_gives_a_chart() -> None:
    data = _chart(build_report(REQUEST, [], [], [], [], []))
    assert _png_size(data) == (1200, 675)


def test_only_cancelled_meetings_give_the_empty_chart() -> None:
    meetings = [MeetingFact(1, REQUEST.start, "Avlyst", "cancelled")]
    answers = [AnswerFact(1, 5, "going", "business")]
    assert _png_size(_chart(build_report(REQUEST, meetings, answers, [], [], []))) == (1200, 675)


def test_many_meetings_and_unknown_sectors() -> None:
    request = ReportRequest(
        datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "Europe/Oslo"
    )
    meetings = [
        MeetingFact(i, datetime(2025, 1, 2, tzinfo=UTC) + timedelta(days=14 * i), "m", "scheduled")
        for i in range(50)
    ]
    answers = [
        AnswerFact(i, p, "going", f"sector_{p % 9}" if p % 4 else None)
        for i in range(50)
        for p in range(i % 7 + 1)
    ]
    data = _chart(build_report(request, meetings, answers, [], [], []))
    assert _png_size(data) == (1200, 675)


def test_sector_colours_fall_back_to_a_colour_blind_safe_palette() -> None:
    sectors = ["business", "new_sector", "another", UNKNOWN_SECTOR]
    colours = sector_colour_map(sectors, {"business": "#1565C0"})
    assert colours["business"] == "#1565C0"
    assert colours["new_sector"] in FALLBACK_PALETTE
    assert colours["another"] in FALLBACK_PALETTE
    assert colours["new_sector"] != colours["another"]
    # Stable: the same key gets the same colour in another report.
    assert sector_colour_map(["new_sector"], {})["new_sector"] == colours["new_sector"]


def test_chart_never_loads_pyplot() -> None:
    code = (
        "import sys\n"
        "from tests.unit.test_report_outputs import _chart, REQUEST, hand_built\n"
        "from bot.domain.stats import build_report\n"
        "_chart(build_report(REQUEST, *hand_built()))\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
