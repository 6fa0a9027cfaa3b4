from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.zones import suggest_timezones, validate_timezone
from bot.errors import BadInput


@pytest.mark.parametrize("name", ["Oslo", "UTC+25", "UTC+1", "", "Europe/Osl", "../etc/passwd"])
def test_invalid_zones_are_refused(name: str) -> None:
    with pytest.raises(BadInput) as info:
        validate_timezone(name)
    assert info.value.key == "setup.error.bad_timezone"


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("Europe/Oslo", "Europe/Oslo"), ("europe/stockholm", "Europe/Stockholm"), ("UTC", "UTC")],
)
def test_valid_zones_are_canonical(name: str, canonical: str) -> None:
    assert validate_timezone(name) == canonical


@given(st.text(max_size=20))
def test_suggestions_are_valid_and_capped(text: str) -> None:
    found = suggest_timezones(text)
    assert len(found) <= 25
    for zone in found:
        assert validate_timezone(zone) == zone


def test_nordic_zones_first() -> None:
    assert suggest_timezones("")[0] == "Europe/Oslo"
    assert suggest_timezones("stock") == ["Europe/Stockholm"]
