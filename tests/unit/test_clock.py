"""The clocks: OffsetClock (the `clock_start` setting for bot processes in tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import OffsetClock
from bot.settings import load_settings

START = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)


def test_offset_clock_starts_there_and_runs_forward() -> None:
    clock = OffsetClock(START)
    first = clock.now()
    assert START <= first < START + timedelta(seconds=5)
    assert clock.now() >= first and clock.now().tzinfo is not None
    with pytest.raises(ValueError):
        OffsetClock(datetime(2027, 2, 1))  # noqa: DTZ001 (naive on purpose: refused)


def test_clock_start_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().clock_start is None
    monkeypatch.setenv("CLOCK_START", "2027-02-01T09:00:00+01:00")
    assert load_settings().clock_start == START
