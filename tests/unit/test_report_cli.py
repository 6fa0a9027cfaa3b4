"""`python -m bot report` on a seeded database file: the CSV parses, the PNG exists."""

from __future__ import annotations

import csv
import io
import struct
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.db import Database
from tests.storage.report_seed import G, seed


@pytest.fixture
async def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "seeded.db"
    db = await Database.open(path)
    try:
        await seed(db)
    finally:
        await db.close()
    monkeypatch.setenv("DATABASE_PATH", str(path))
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    return path


def test_report_cli_writes_csv_and_png(seeded: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "report",
            "--guild",
            str(G),
            "--from",
            "2026-01-01",
            "--to",
            "2026-11-30",
            "--out",
            str(out),
        ]
    )
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
    code = main(
        [
            "report",
            "--guild",
            str(G),
            "--from",
            "2026-05-01",
            "--to",
            "2026-04-01",
            "--out",
            str(out),
        ]
    )
    assert code == 2
    assert not out.exists()
