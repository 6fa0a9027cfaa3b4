"""Start-up: missing or malformed token, bad database files: one clear line, exit 2."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.settings import load_settings

FAKE_TOKEN = "MTAx.GfakeX.abcdefghijklmnop"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no config/moteplass.toml from the developer's checkout
    for name in ("DISCORD_TOKEN", "DATABASE_PATH", "DISCORD_API_BASE", "DISCORD_GATEWAY_URL"):
        monkeypatch.delenv(name, raising=False)


def test_missing_token_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("bad", ["abc def.ghi.jkl", "MTAx.Gfake\nX.abc", " ", "a.b"])
def test_malformed_token_exits_2_without_echoing_it(
    bad: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", bad)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN" in err
    assert "malformed" in err
    if bad.strip():
        assert bad not in err
    assert "Traceback" not in err


def test_token_is_secret_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", FAKE_TOKEN)
    settings = load_settings()
    assert FAKE_TOKEN not in repr(settings)
    assert FAKE_TOKEN not in str(settings.model_dump())
    assert settings.require_token() == FAKE_TOKEN


def test_toml_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "moteplass.toml").write_text(
        f'discord_token = "{FAKE_TOKEN}"\ndatabase_path = "elsewhere/x.db"\n'
    )
    settings = load_settings()
    assert settings.database_path == Path("elsewhere/x.db")
    assert settings.require_token() == FAKE_TOKEN


def test_environment_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "moteplass.toml").write_text('database_path = "a.db"\n')
    monkeypatch.setenv("DATABASE_PATH", "b.db")
    assert load_settings().database_path == Path("b.db")


def test_migrate_creates_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert (tmp_path / "data" / "moteplass.db").exists()
    with sqlite3.connect(tmp_path / "data" / "moteplass.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_migrate_refuses_a_file_that_is_not_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "data" / "moteplass.db"
    target.parent.mkdir()
    target.write_bytes(b"this is a text file, not a database\n")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert "not an SQLite database" in err
    assert "Traceback" not in err
    assert target.read_bytes() == b"this is a text file, not a database\n"


def test_backup_command(tmp_path: Path) -> None:
    assert main(["migrate"]) == 0
    assert main(["backup", str(tmp_path / "copy.db")]) == 0
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
