"""The team's pure rules: organisation names, suggestions, the report's grouping, and the
card's fields within Discord's limits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.team import (
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    ROLES,
    Holding,
    card_fields,
    organisations_by_role,
    suggest_organisations,
    tidy_organisation,
)


def test_organisations_are_tidied_and_suggested_once_each() -> None:
    assert tidy_organisation("  NAV \n  Oslo ") == "NAV Oslo"
    assert len(tidy_organisation("x" * 300)) == 100
    known = ["NAV Oslo", "nav  oslo", "Oslo kommune", "Kirkens Bymisjon", "", "  "]
    assert suggest_organisations(known, "") == ["Kirkens Bymisjon", "NAV Oslo", "Oslo kommune"]
    # Those starting with the text first, then those containing it.
    assert suggest_organisations(known, "oslo") == ["Oslo kommune", "NAV Oslo"]
    assert len(suggest_organisations([f"Org {n}" for n in range(40)], "org")) == 25


def test_report_groups_roles_by_organisation() -> None:
    holdings = [
        Holding(1, 10, "working_group", "NAV Oslo"),
        Holding(1, 10, "project_lead", "nav oslo"),
        Holding(1, 11, "funding_partner", "Stiftelsen"),
        Holding(1, 12, "delivery_partner", ""),
    ]
    assert organisations_by_role(holdings) == [
        ("NAV Oslo", ("project_lead", "working_group")),
        ("Stiftelsen", ("funding_partner",)),
    ]


def _line(name: str, organisation: str) -> str:
    return f"{name}, {organisation}" if organisation else name


def test_card_lists_roles_in_the_handbooks_order() -> None:
    holdings = [
        Holding(1, 2, "funding_partner", "Stiftelsen"),
        Holding(1, 1, "project_lead", ""),
        Holding(1, 3, "funding_partner", "Banken"),
    ]
    names = {1: "Kari", 2: "Ola", 3: "Per"}.__getitem__
    fields = card_fields(holdings, names, _line, lambda n: f"+{n}")
    assert [(f.role, f.value) for f in fields] == [
        ("project_lead", "Kari"),
        ("funding_partner", "Ola, Stiftelsen\nPer, Banken"),
    ]


@settings(max_examples=60, deadline=None)
@given(
    people=st.lists(
        st.tuples(
            st.sampled_from(ROLES),
            st.text(min_size=1, max_size=120),
            st.text(max_size=120),
        ),
        max_size=300,
    )
)
def test_card_fits_discords_limits_and_counts_everyone(
    people: list[tuple[str, str, str]],
) -> None:
    holdings = [Holding(1, n, role, org) for n, (role, _, org) in enumerate(people)]
    names = {n: name for n, (_, name, _) in enumerate(people)}
    fields = card_fields(holdings, names.__getitem__, _line, lambda n: f"… and {n} more")
    assert len(fields) <= len(ROLES)
    assert sum(len(f.value) for f in fields) <= EMBED_TOTAL_LIMIT - 1000
    for field in fields:
        assert 0 < len(field.value) <= FIELD_VALUE_LIMIT
        held = sum(1 for h in holdings if h.role == field.role)
        lines = field.value.split("\n")
        more = lines[-1] if lines[-1].startswith("… and ") else None
        # Every holder is either shown or counted in "and N more" (names may hold "\n").
        if more is None:
            assert field.value.count("\n") >= held - 1
        else:
            assert int(more.split()[2]) >= 1
    shown_roles = [f.role for f in fields]
    assert shown_roles == [r for r in ROLES if r in shown_roles]
