"""The report chart: participants per meeting by sector, and cross-sector contacts made.

A PNG of exactly 1200×675 pixels (16:9; 12 × 6.75 inches at 100 dpi), drawn with
matplotlib's Agg backend through `Figure` + `FigureCanvasAgg` directly, never `pyplot`:
no global state, no display, safe to run in a worker thread.

What it shows
-------------
* One stacked bar per **held** meeting in the range (cancelled ones have no participants
  and are left out), in date order: participants by sector (attended when the meeting has a
  check-in, otherwise answered *going*; see `bot.domain.stats`). Bars of meetings without a
  check-in are hatched, so "said they would come" is told apart from "came".
* A line on the secondary (right) axis: the unique cross-sector contacts first made in the
  match rounds nearest in time to each meeting (`MeetingRow.cross_sector_contacts`); and,
  when any collaboration started in the range, a dashed line on the same axis: the
  collaborations started nearest in time to each meeting (`MeetingRow.collaborations`).
* With no held meeting in the range, a card with the title and `labels.empty`.

Light and dark Discord themes
-----------------------------
Discord shows a PNG as it is, on a near-white or a near-black background. A transparent
chart with dark text vanishes in the dark theme (and light text in the light one), and a
mid-grey compromise is poor in both. So the chart is an opaque white card with
near-black text (contrast about 17:1) and a thin light grey frame: it reads the
same in both themes, like a photo. Sector colours come from the taxonomy (saturated,
dark enough on white); unknown sector keys fall back to the Okabe–Ito colour-blind-safe
palette (black left out, since the line is near-black; yellow last, as it is faint on
white). Stacked segments are separated by white edges, so neighbours of similar colour
stay apart.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from bot.domain.national import NationalView
from bot.domain.stats import UNKNOWN_SECTOR, MeetingRow, Report

__all__ = [
    "BACKGROUND",
    "FALLBACK_PALETTE",
    "HEIGHT_PX",
    "TEXT",
    "WIDTH_PX",
    "ChartLabels",
    "national_chart",
    "report_chart",
    "sector_colour_map",
]

WIDTH_PX = 1200
HEIGHT_PX = 675
_DPI = 100

BACKGROUND = "#FFFFFF"
TEXT = "#1A1A1A"
_MUTED = "#4D4D4D"
_GRID = "#DADADA"
_FRAME = "#C8C8C8"
_LINE = "#111111"
_UNKNOWN_COLOUR = "#9E9E9E"

# Okabe & Ito (2008), without black; yellow last because it is faint on white.
FALLBACK_PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#F0E442",
)

# Beyond this many meetings, only every n-th date is written under the bars.
_MAX_TICK_LABELS = 16


@dataclass(frozen=True, slots=True)
class ChartLabels:
    """Texts drawn on the chart, already in the reader's language (`report.chart.*`)."""

    participants: str  # left axis and the bars
    contacts: str  # right axis and the line
    empty: str  # shown instead of bars when no meeting was held in the range
    collaborations: str = ""  # the dashed line (collaborations started); empty: no line
    no_checkin: str = ""  # legend entry for hatched bars; empty leaves it out
    subtitle: str = ""  # e.g. the date range, under the title
    date_format: str = "%d.%m.%y"  # strftime for the dates under the bars


def sector_colour_map(sectors: Sequence[str], sector_colours: Mapping[str, str]) -> dict[str, str]:
    """A colour per sector: the given one, else a stable Okabe–Ito colour not yet in use.

    The fallback is picked from a hash of the key (so a key keeps its colour from one
    report to the next), moving on to the next free colour when that one is taken.
    """
    colours: dict[str, str] = {}
    used: set[str] = set()
    for sector in sectors:
        given = sector_colours.get(sector)
        if given is not None:
            colours[sector] = given
            used.add(given.upper())
    for sector in sectors:
        if sector in colours:
            continue
        if sector == UNKNOWN_SECTOR:
            colours[sector] = _UNKNOWN_COLOUR
            continue
        start = zlib.crc32(sector.encode("utf-8")) % len(FALLBACK_PALETTE)
        for step in range(len(FALLBACK_PALETTE)):
            candidate = FALLBACK_PALETTE[(start + step) % len(FALLBACK_PALETTE)]
            if candidate.upper() not in used:
                break
        else:
            candidate = FALLBACK_PALETTE[start]
        colours[sector] = candidate
        used.add(candidate.upper())
    return colours


def _sector_order(sectors: Sequence[str], sector_labels: Mapping[str, str]) -> list[str]:
    """Sectors in the taxonomy's order (the order of `sector_labels`), then others, unknown last."""
    present = set(sectors)
    ordered = [s for s in sector_labels if s in present and s != UNKNOWN_SECTOR]
    ordered += sorted(s for s in present if s not in ordered and s != UNKNOWN_SECTOR)
    if UNKNOWN_SECTOR in present:
        ordered.append(UNKNOWN_SECTOR)
    return ordered


def _new_figure() -> Figure:
    figure = Figure(
        figsize=(WIDTH_PX / _DPI, HEIGHT_PX / _DPI),
        dpi=_DPI,
        facecolor=BACKGROUND,
        edgecolor=_FRAME,
        linewidth=2,
        layout="constrained",
    )
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(
        buffer,
        format="png",
        dpi=_DPI,
        facecolor=BACKGROUND,
        edgecolor=_FRAME,
        metadata={"Software": None},
    )
    return buffer.getvalue()


def _titles(figure: Figure, title: str, subtitle: str) -> None:
    text = title if not subtitle else f"{title}\n{subtitle}"
    figure.suptitle(text, color=TEXT, fontsize=19, fontweight="bold", linespacing=1.4)


def _bar_figure(title: str, labels: ChartLabels) -> tuple[Figure, Axes]:
    """A titled figure with one bar axis, grid lines behind the bars."""
    figure = _new_figure()
    _titles(figure, title, labels.subtitle)
    bars = figure.add_subplot()
    _style_axis(bars)
    bars.grid(axis="y", color=_GRID, linewidth=1)
    bars.set_axisbelow(True)
    return figure, bars


def _legend_above(bars: Axes, handles: Sequence[Patch | Line2D]) -> None:
    """The legend in one row (up to four entries) above the plot, without a frame."""
    bars.legend(
        handles=list(handles),
        loc="lower left",
        bbox_to_anchor=(0.0, 1.01),
        ncol=min(len(handles), 4),
        frameon=False,
        fontsize=12,
        labelcolor=TEXT,
        handlelength=1.6,
    )


def _empty_chart(title: str, labels: ChartLabels) -> bytes:
    figure = _new_figure()
    _titles(figure, title, labels.subtitle)
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.text(
        0.5, 0.5, labels.empty, ha="center", va="center", fontsize=22, color=_MUTED, wrap=True
    )
    return _png(figure)


def _style_axis(axes: Axes) -> None:
    axes.set_facecolor(BACKGROUND)
    axes.tick_params(colors=TEXT, labelsize=13)
    for spine in axes.spines.values():
        spine.set_color(_FRAME)
    axes.yaxis.label.set_color(TEXT)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))


def _stacked_bars(
    bars: Axes,
    columns: Sequence[Mapping[str, int]],
    sectors: Sequence[str],
    colours: Mapping[str, str],
    sector_labels: Mapping[str, str],
    labels: ChartLabels,
    hatches: Sequence[str | None] = (),
) -> list[Patch | Line2D]:
    """One bar per column (its counts by sector) at 0, 1, …, stacked in `sectors` order and
    hatched where `hatches` says; the participants axis scaled to the tallest. Returns the
    legend's patches, one per sector."""
    positions = list(range(len(columns)))
    width = 0.7 if len(columns) > 1 else 0.4
    bottoms = [0] * len(columns)
    handles: list[Patch | Line2D] = []
    for sector in sectors:
        heights = [column.get(sector, 0) for column in columns]
        container = bars.bar(
            positions,
            heights,
            width=width,
            bottom=bottoms,
            color=colours[sector],
            edgecolor=BACKGROUND,
            linewidth=1.2,
        )
        for patch, hatch in zip(container.patches, hatches or [None] * len(columns), strict=True):
            if hatch:
                patch.set_hatch(hatch)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        handles.append(Patch(facecolor=colours[sector], label=sector_labels.get(sector, sector)))
    _scale(bars, bottoms, labels.participants)
    bars.set_xlim(-0.6, len(columns) - 0.4)
    return handles


def _bar_labels(
    bars: Axes, texts: Sequence[str], *, tilt_over: int, angle: int, step: int = 1
) -> None:
    """A label under every `step`-th bar, tilted by `angle` when there are more than
    `tilt_over` bars."""
    tilted = len(texts) > tilt_over
    bars.set_xticks(list(range(len(texts)))[::step])
    bars.set_xticklabels(
        texts[::step], rotation=angle if tilted else 0, ha="right" if tilted else "center"
    )


def _second_axis(bars: Axes) -> Axes:
    """The right-hand axis (contacts) over the bars."""
    axis = bars.twinx()
    _style_axis(axis)
    return axis


def _scale(axis: Axes, values: Sequence[int], label: str) -> None:
    axis.set_ylim(0, max(1.0, max(values) * 1.15))
    axis.set_ylabel(label, fontsize=14)


def report_chart(
    report: Report,
    *,
    title: str,
    sector_labels: Mapping[str, str],
    sector_colours: Mapping[str, str],
    labels: ChartLabels,
) -> bytes:
    """The chart as PNG bytes, 1200×675 px; see the module docstring for what it shows.

    `sector_labels` (key → name in the reader's language, in taxonomy order) and
    `sector_colours` (key → `#RRGGBB`, from the taxonomy) may lack keys: an unknown key is
    shown as itself with a fallback colour. No names or ids are drawn, only dates and counts.
    """
    held: list[MeetingRow] = [row for row in report.meetings if row.status != "cancelled"]
    if not held:
        return _empty_chart(title, labels)

    sectors = _sector_order(
        [s for row in held for s, n in row.by_sector.items() if n > 0], sector_labels
    )
    colours = sector_colour_map(sectors, sector_colours)

    figure, bars = _bar_figure(title, labels)

    positions = list(range(len(held)))
    hatches = [None if row.checked_in else "//" for row in held]
    handles = _stacked_bars(
        bars, [row.by_sector for row in held], sectors, colours, sector_labels, labels, hatches
    )
    _bar_labels(
        bars,
        [row.date_local.strftime(labels.date_format) for row in held],
        tilt_over=8,
        angle=45,
        step=max(1, -(-len(held) // _MAX_TICK_LABELS)),
    )

    line_axis = _second_axis(bars)
    contacts = [row.cross_sector_contacts for row in held]
    (line,) = line_axis.plot(
        positions,
        contacts,
        color=_LINE,
        linewidth=2.5,
        marker="o",
        markersize=8,
        markerfacecolor=_LINE,
        markeredgecolor=BACKGROUND,
        markeredgewidth=1.5,
        label=labels.contacts,
    )
    handles.append(line)
    collaborations = [row.collaborations for row in held]
    if labels.collaborations and any(collaborations):
        (dashed,) = line_axis.plot(
            positions,
            collaborations,
            color=_MUTED,
            linewidth=2.5,
            linestyle="--",
            marker="s",
            markersize=7,
            markerfacecolor=_MUTED,
            markeredgecolor=BACKGROUND,
            label=labels.collaborations,
        )
        handles.append(dashed)
    _scale(line_axis, contacts + collaborations, labels.contacts)

    if labels.no_checkin and any(hatches):
        handles.append(
            Patch(facecolor=BACKGROUND, edgecolor=_MUTED, hatch="//", label=labels.no_checkin)
        )
    _legend_above(bars, handles)
    return _png(figure)


_REGION_LABEL_LIMIT = 24


def _short(text: str) -> str:
    return text if len(text) <= _REGION_LABEL_LIMIT else text[: _REGION_LABEL_LIMIT - 1] + "…"


def national_chart(
    view: NationalView,
    *,
    title: str,
    sector_labels: Mapping[str, str],
    sector_colours: Mapping[str, str],
    labels: ChartLabels,
) -> bytes:
    """The national view as PNG bytes, 1200×675 px, in the style of `report_chart`.

    One stacked bar per region (participants by sector) and a marker per region for its new
    cross-sector contacts (right axis). The total is for `labels.subtitle` (a bar that tall
    would flatten the regions). With no region, a card with `labels.empty`.
    """
    rows = view.rows
    if not rows:
        return _empty_chart(title, labels)
    sectors = _sector_order(list(view.sectors), sector_labels)
    colours = sector_colour_map(sectors, sector_colours)

    figure, bars = _bar_figure(title, labels)

    positions = list(range(len(rows)))
    handles = _stacked_bars(
        bars, [row.by_sector for row in rows], sectors, colours, sector_labels, labels
    )
    _bar_labels(bars, [_short(row.region) for row in rows], tilt_over=6, angle=30)

    marker_axis = _second_axis(bars)
    contacts = [row.new_contacts for row in rows]
    (markers,) = marker_axis.plot(
        positions,
        contacts,
        linestyle="none",
        marker="D",
        markersize=11,
        markerfacecolor=_LINE,
        markeredgecolor=BACKGROUND,
        markeredgewidth=1.5,
        label=labels.contacts,
    )
    _scale(marker_axis, contacts, labels.contacts)
    handles.append(markers)
    _legend_above(bars, handles)
    return _png(figure)
