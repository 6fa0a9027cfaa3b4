"""The one home for time: the stored form, reading it back, and the two DST policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.moments import (
    NonexistentLocalTime,
    from_stored,
    is_valid_local,
    local_to_utc,
    stored,
    to_local,
)

OSLO = ZoneInfo("Europe/Oslo")
ROOT = Path(__file__).resolve().parents[2]

aware = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 (hypothesis bounds are naive)
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    allow_imaginary=False,
    timezones=st.sampled_from(
        [UTC, OSLO, ZoneInfo("America/New_York"), timezone(timedelta(hours=5, minutes=30))]
    ),
)


@given(aware)
def test_stored_reads_back_as_the_same_moment_in_utc(moment: datetime) -> None:
    back = from_stored(stored(moment))
    # (compared in UTC: Python's == across zones is always False for a time in a fold)
    assert back == moment.astimezone(UTC)
    assert back.utcoffset() == timedelta(0)
    assert stored(moment).endswith("+00:00")


@given(aware, aware)
def test_text_order_is_time_order(a: datetime, b: datetime) -> None:
    """SQL compares stored times as text; with or without a fraction that must agree."""
    ua, ub = a.astimezone(UTC), b.astimezone(UTC)
    assert (stored(a) < stored(b)) == (ua < ub)
    assert (stored(a) == stored(b)) == (ua == ub)


def test_a_naive_moment_is_refused_and_naive_text_is_read_as_utc() -> None:
    with pytest.raises(ValueError):
        stored(datetime(2026, 12, 3, 8, 30))  # noqa: DTZ001 (the point of the test)
    assert from_stored("2026-12-03T08:30:00") == datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        to_local(datetime(2026, 12, 3, 8, 30), OSLO)  # noqa: DTZ001


def test_the_spring_gap_is_refused_for_typed_times_and_moved_forward_for_generated_ones() -> None:
    gap = datetime(2026, 3, 29, 2, 30)  # noqa: DTZ001 (naive: local wall time)
    assert not is_valid_local(gap, OSLO)
    with pytest.raises(NonexistentLocalTime):
        local_to_utc(gap, OSLO, gap="refuse")
    # 03:00 summer time is 01:00 UTC: the end of the gap.
    assert local_to_utc(gap, OSLO, gap="forward") == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("policy", ["refuse", "forward"])
def test_the_autumn_fold_is_the_first_occurrence_under_both_policies(policy: str) -> None:
    fold = datetime(2026, 10, 25, 2, 30)  # noqa: DTZ001 (naive: local wall time)
    got = local_to_utc(fold, OSLO, gap=policy)  # type: ignore[arg-type]
    assert got == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # still summer time (+02:00)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    )
)
def test_a_wall_time_that_exists_is_kept_under_both_policies(naive: datetime) -> None:
    naive = naive.replace(fold=0)
    if not is_valid_local(naive, OSLO):
        return
    for policy in ("refuse", "forward"):
        got = local_to_utc(naive, OSLO, gap=policy)  # type: ignore[arg-type]
        assert to_local(got, OSLO).replace(tzinfo=None) == naive


def test_no_module_converts_stored_times_on_its_own() -> None:
    """`bot/storage` and the domain read and write moments only through `moments`."""
    offenders = []
    for path in [*ROOT.glob("bot/storage/*.py"), *ROOT.glob("bot/domain/*.py")]:
        if path.name == "moments.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("datetime.fromisoformat(", "now.isoformat(", ".astimezone(UTC).isoformat("):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []
