"""The programme's pure parts: the rules, the order, the field text under Discord's limits,
the per-meeting counts, and the report outputs built from them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.meeting import Meeting
from bot.domain.programme import (
    EMBED_LIMIT,
    FIELD_LIMIT,
    LINE_LIMIT,
    ProgrammeCounts,
    ProgrammeFact,
    ProgrammeLine,
    Proposal,
    ProposalText,
    Status,
    check_changeable,
    check_co_presenters,
    check_meeting_open,
    check_text,
    fit_lines,
    line_text,
    moved_to,
    ordered,
    parse_slot,
    programme_counts,
)
from bot.domain.rsvp import Counts
from bot.domain.stats import MeetingFact, ReportRequest, build_report
from bot.errors import BadInput
from bot.i18n import Catalog
from bot.reports.csv_export import report_csv
from bot.services.meetings import announcement_embed
from bot.services.programme import programme_text
from bot.services.reports import programme_line
from tests.unit.test_report_outputs import _sections, _table

NOW = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)


def proposal(
    pid: int, *, position: int | None = None, slot: str | None = None, **kw: object
) -> Proposal:
    values: dict[str, object] = {
        "id": pid,
        "guild_id": 1,
        "meeting_id": 10,
        "user_id": 100 + pid,
        "title": f"Item {pid}",
        "summary": "",
        "kind": "talk",
        "co_presenters": (),
        "sector": "business",
        "status": Status.ACCEPTED,
        "position": position,
        "slot": slot,
        "decided_by": None,
        "decided_at": None,
        "notice": None,
        "notice_sent_at": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(kw)
    return Proposal(**values)  # type: ignore[arg-type]


def more(n: int) -> str:
    return f"… and {n} more"


# ----- rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (ProposalText(" ", "x", "talk"), "programme.error.title_empty"),
        (ProposalText("x" * 101, "x", "talk"), "programme.error.title_too_long"),
        (ProposalText("x", "y" * 501, "talk"), "programme.error.summary_too_long"),
        (ProposalText("x", "y", "keynote"), "programme.error.kind"),
    ],
)
def test_bad_text_is_refused_with_its_key(text: ProposalText, key: str) -> None:
    with pytest.raises(BadInput) as raised:
        check_text(text)
    assert raised.value.key == key


def test_text_at_the_limits_is_accepted() -> None:
    text = ProposalText("x" * 100, "y" * 500, "case")
    assert check_text(text) is text


def test_meeting_must_be_upcoming_and_not_cancelled() -> None:
    later = NOW + timedelta(days=1)
    check_meeting_open(starts_at=later, cancelled=False, now=NOW)
    for starts_at, cancelled, key in (
        (later, True, "programme.error.cancelled"),
        (NOW, False, "programme.error.past_meeting"),
    ):
        with pytest.raises(BadInput) as raised:
            check_meeting_open(starts_at=starts_at, cancelled=cancelled, now=NOW)
        assert raised.value.key == key


def test_co_presenters_two_at_most_never_oneself() -> None:
    assert check_co_presenters(1, [2, 2, 3, 4]) == (2, 3)
    with pytest.raises(BadInput):
        check_co_presenters(1, [1])


def test_only_the_proposer_changes_an_open_proposal() -> None:
    item = proposal(1, status=Status.OPEN)
    check_changeable(item, 101)
    for who, state, key in (
        (999, Status.OPEN, "programme.error.not_yours"),
        (101, Status.ACCEPTED, "programme.error.decided"),
        (101, Status.DECLINED, "programme.error.decided"),
    ):
        with pytest.raises(BadInput) as raised:
            check_changeable(proposal(1, status=state), who)
        assert raised.value.key == key


@pytest.mark.parametrize(("text", "slot"), [("9.15", "09:15"), ("09:15", "09:15"), ("14", "14:00")])
def test_slots(text: str, slot: str) -> None:
    assert parse_slot(text) == slot


def test_bad_slot() -> None:
    with pytest.raises(BadInput):
        parse_slot("25:99")


# ----- order -------------------------------------------------------------------------


def test_order_by_position_then_slot_then_proposal() -> None:
    items = [
        proposal(1),
        proposal(2, slot="09:30"),
        proposal(3, position=2),
        proposal(4, position=1),
        proposal(5, slot="09:00"),
    ]
    assert [p.id for p in ordered(items)] == [4, 3, 5, 2, 1]


@given(
    n=st.integers(min_value=1, max_value=12),
    pick=st.integers(min_value=0, max_value=11),
    position=st.integers(min_value=-3, max_value=20),
)
def test_moving_an_item_keeps_every_item_once(n: int, pick: int, position: int) -> None:
    items = [proposal(i + 1) for i in range(n)]
    target = items[pick % n].id
    order = moved_to(items, target, position)
    assert sorted(order) == [p.id for p in items]
    assert order.index(target) == min(max(position, 1), n) - 1
    rest = [p.id for p in items if p.id != target]
    assert [i for i in order if i != target] == rest


# ----- the field text ----------------------------------------------------------------


def test_line_text() -> None:
    line = ProgrammeLine("09:15", "Jobb for alle", "Kari", "Business", ("Per", "Siri"))
    assert line_text(line) == "09:15 · Jobb for alle — Kari (Business), Per, Siri"
    assert line_text(ProgrammeLine(None, "T", "Kari", "")) == "T — Kari"
    long = ProgrammeLine(None, "x" * 100, "y" * 300, "z")
    assert len(line_text(long)) == LINE_LIMIT


@given(
    lines=st.lists(st.text(alphabet="abc ·—", min_size=1, max_size=LINE_LIMIT), max_size=80),
    limit=st.integers(min_value=0, max_value=FIELD_LIMIT),
    max_lines=st.none() | st.integers(min_value=0, max_value=10),
)
def test_fit_lines_never_exceeds_the_limit_and_counts_what_is_left_out(
    lines: list[str], limit: int, max_lines: int | None
) -> None:
    text = fit_lines(lines, limit, more, max_lines=max_lines)
    assert len(text) <= limit
    whole = "\n".join(lines)
    if len(whole) <= limit and (max_lines is None or len(lines) <= max_lines):
        assert text == whole
    elif text:
        *shown, last = text.split("\n")
        hidden = int(last.removeprefix("… and ").removesuffix(" more"))
        assert hidden >= 1
        assert "\n".join(shown) == "\n".join(lines[: len(lines) - hidden])


def meeting(description: str = "", place: str = "") -> Meeting:
    start = NOW + timedelta(days=30)
    return Meeting(
        id=10,
        guild_id=1,
        title="T" * 256,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        timezone="Europe/Oslo",
        place=place,
        description=description,
        capacity=30,
        rsvp_deadline=start - timedelta(days=1),
        channel_id=5,
        message_id=6,
    )


@pytest.mark.parametrize("lang", ["nb", "sv", "en"])
@pytest.mark.parametrize(("description", "place"), [("", ""), ("d" * 3700, "p" * 1000)])
def test_a_long_programme_fits_the_announcement(
    catalog: Catalog, lang: str, description: str, place: str
) -> None:
    _ = catalog.translator(lang)
    lines = [
        f"{9 + n // 4:02d}:{n % 4 * 15:02d} · " + "t" * 100 + " — " + "n" * 40 for n in range(60)
    ]
    embed = announcement_embed(_, meeting(description, place), Counts(1, 2, 3, 4), lines)
    assert len(embed) <= EMBED_LIMIT
    field = next((f for f in embed.fields if f.name == _("programme.embed.field")), None)
    if field is None:  # no room left at all: the announcement itself comes first
        return
    assert field.value is not None and len(field.value) <= FIELD_LIMIT
    last = field.value.split("\n")[-1]
    shown = len(field.value.split("\n")) - 1
    assert last == _("programme.embed.more", count=len(lines) - shown)


def test_a_short_programme_is_shown_whole_after_the_place(catalog: Catalog) -> None:
    _ = catalog.translator("en")
    lines = ["09:00 · A — Kari (Business)", "09:20 · B — Ola (Municipality)"]
    embed = announcement_embed(_, meeting(place="Rådhuset"), Counts(0, 0, 0, 0), lines)
    names = [f.name for f in embed.fields]
    assert names.index("Programme") == names.index(_("meeting.embed.where")) + 1
    assert embed.fields[names.index("Programme")].value == "\n".join(lines)


def test_programme_text_in_messages(catalog: Catalog) -> None:
    _ = catalog.translator("en")
    assert programme_text(_, []) == ""
    text = programme_text(_, [f"line {n}" for n in range(8)])
    assert text.splitlines()[0] == _("programme.text.heading")
    assert text.splitlines()[-1] == _("programme.embed.more", count=3)
    long = programme_text(_, ["x" * LINE_LIMIT] * 5)  # five lines do not fit in the budget
    assert long.splitlines()[1:] == ["x" * LINE_LIMIT, _("programme.embed.more", count=4)]
    longer = programme_text(_, ["x" * LINE_LIMIT] * 8)  # beyond both the lines and the budget
    assert longer.splitlines()[1:] == ["x" * LINE_LIMIT, _("programme.embed.more", count=7)]


# ----- counts ------------------------------------------------------------------------


def test_counts_per_meeting() -> None:
    facts = [
        ProgrammeFact(1, Status.ACCEPTED, "business"),
        ProgrammeFact(1, Status.ACCEPTED, None),
        ProgrammeFact(1, Status.DECLINED, "civil_society"),
        ProgrammeFact(1, Status.WITHDRAWN, "business"),
        ProgrammeFact(1, Status.OPEN, "business"),
        ProgrammeFact(2, Status.WITHDRAWN, "business"),
        ProgrammeFact(3, Status.DECLINED, "public_sector"),
    ]
    counts = programme_counts(facts)
    assert set(counts) == {1, 3}
    assert (counts[1].proposals, counts[1].accepted) == (4, 2)
    assert dict(counts[1].presenters_by_sector) == {"business": 1, "unknown": 1}
    assert (counts[3].proposals, counts[3].accepted, dict(counts[3].presenters_by_sector)) == (
        1,
        0,
        {},
    )


@given(
    st.lists(
        st.tuples(
            st.integers(1, 4),
            st.sampled_from(list(Status)),
            st.sampled_from(["business", "public_sector", None]),
        )
    )
)
def test_counts_add_up(rows: list[tuple[int, Status, str | None]]) -> None:
    counts = programme_counts(ProgrammeFact(*row) for row in rows)
    for meeting_id, c in counts.items():
        mine = [r for r in rows if r[0] == meeting_id]
        assert c.proposals == sum(1 for r in mine if r[1] is not Status.WITHDRAWN)
        assert c.accepted == sum(1 for r in mine if r[1] is Status.ACCEPTED)
        assert sum(c.presenters_by_sector.values()) == c.accepted


def test_report_outputs_carry_the_programme(catalog: Catalog) -> None:
    request = ReportRequest(NOW - timedelta(days=30), NOW, "Europe/Oslo")
    meetings = [MeetingFact(1, NOW - timedelta(days=3), "Februarmøtet", "scheduled")]
    report = build_report(request, meetings, [], [], [], [])
    counts = ProgrammeCounts(3, 2, MappingProxyType({"business": 1, "public_sector": 1}))
    report = replace(report, programme=MappingProxyType({1: counts}))
    (row,) = _table(_sections(report_csv(report))["programme"])
    assert row == {
        "meeting_id": "1",
        "date": (NOW - timedelta(days=3)).date().isoformat(),
        "title": "Februarmøtet",
        "proposals": "3",
        "accepted": "2",
        "sector_business": "1",
        "sector_public_sector": "1",
    }
    _ = catalog.translator("en")
    line = programme_line(report, _)
    assert line.startswith(
        _("report.programme", proposals=3, accepted=2, meetings=1, sectors="")[:20]
    )
    assert "3" in line and "2" in line
