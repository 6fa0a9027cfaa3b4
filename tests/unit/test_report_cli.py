"""`python -m bot report` on a seeded database file: the CSV parses, the PNG exists."""

from __future__ import annotations

import csv
import io
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.db import Database
from bot.domain.taxonomy import load_taxonomy
from bot.i18n import Catalog
from bot.reports.csv_export import NATIONAL_COLUMNS
from tests.storage.national_seed import seed_national
from tests.storage.report_seed import G, seed


async def seeded_file(
    path: Path, seeding: Callable[[Database], Awaitable[object]], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A database file seeded by `seeding`, and the CLI's settings pointing at it."""
    db = await Database.open(path)
    try:
        await seeding(db)
    finally:
        await db.close()
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    return path


@pytest.fixture
async def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return await seeded_file(tmp_path / "seeded.db", seed, monkeypatch)


def report(out: Path, start: str, end: str) -> int:
    """`python -m bot report` for the seeded server from `start` to `end`."""
    return main(["report", "--guild", str(G), "--from", start, "--to", end, "--out", str(out)])


def test_report_cli_writes_csv_and_png(seeded: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = report(out, "2026-01-01", "2026-11-30")
    assert code == 0
    csv_file = out / "moteplass-report-2026-01-01-2026-11-30.csv"
    png_file = out / "moteplass-report-2026-01-01-2026-11-30.png"
    rows = list(csv.reader(io.StringIO(csv_file.read_bytes().decode("utf-8-sig"))))
    assert len([r for r in rows if r]) > 8
    text = csv_file.read_text(encoding="utf-8-sig")
    assert "Frokost m1" in text and "Frokost m0" not in text and "Frokost h1" not in text
    data = png_file.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 675)


def test_report_cli_refuses_a_reversed_range(seeded: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = report(out, "2026-05-01", "2026-04-01")
    assert code == 2
    assert not out.exists()


@pytest.fixture
async def national_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return await seeded_file(tmp_path / "national.db", seed_national, monkeypatch)


def test_report_all_writes_a_row_per_opted_in_server_and_a_total(
    national_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "national"
    args = ["report", "--all", "--from", "2026-01-01", "--to", "2026-11-30", "--out", str(out)]
    assert main([*args, "--lang", "sv"]) == 0
    stem = "moteplass-national-2026-01-01-2026-11-30"
    raw = (out / f"{stem}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    catalog = Catalog.load()

    def label(key: str) -> str:
        return catalog.text("sv", f"report.csv.{key}")

    header, body = rows[0], rows[1:]
    assert header[: len(NATIONAL_COLUMNS)] == [label(k) for k in NATIONAL_COLUMNS]
    table = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    assert list(table) == ["Göteborg", "Oslo", "Rogaland", label("total")]
    assert "Bergen" not in raw.decode("utf-8-sig")

    def numbers(region: str) -> list[int]:
        keys = ("meetings", "participants", "new_participants", "unique_cross_sector_contacts")
        return [int(table[region][label(k)]) for k in (*keys, "rounds", "introductions_in_range")]

    assert numbers("Oslo") == [2, 4, 3, 3, 2, 2]
    assert numbers("Rogaland") == [1, 1, 1, 1, 1, 1]
    assert numbers("Göteborg") == [1, 2, 2, 1, 1, 2]
    assert numbers(label("total")) == [4, 7, 6, 5, 4, 5]
    business = load_taxonomy().label("business", "sv")
    assert [table[r][business] for r in table] == ["1", "1", "1", "3"]
    data = (out / f"{stem}.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 675)


def test_report_all_with_no_server_opted_in_writes_the_empty_files(
    seeded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "none"
    assert main(["report", "--all", "--to", "2026-11-30", "--out", str(out)]) == 0
    (csv_file,) = out.glob("moteplass-national-*.csv")
    rows = [r for r in csv.reader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))) if r]
    assert len(rows) == 2 and rows[1][1:] == ["0"] * 7  # header and the zero total
    assert next(out.glob("moteplass-national-*.png")).stat().st_size > 0


def test_report_needs_guild_or_all(seeded: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--guild", str(G), "--all", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        main(["report", "--out", str(tmp_path)])
