"""The database layer on real SQLite files: migrations, refusals, transactions, backup."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.db import Database, latest_version, load_migrations
from bot.errors import DatabaseFileError
from bot.storage.guilds import GuildSettings, GuildSettingsRepository


async def test_new_database_is_migrated_with_wal_and_foreign_keys(db: Database) -> None:
    assert await db.version() == latest_version()
    assert (await db.fetchval("PRAGMA journal_mode")).lower() == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


async def test_reopening_applies_nothing(db_path: Path) -> None:
    first = await Database.open(db_path)
    await first.close()
    second = await Database.open(db_path)
    try:
        assert await second.migrate() == []
    finally:
        await second.close()


async def test_database_newer_than_code_is_refused_and_untouched(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA user_version = 999")
    before = db_path.read_bytes()
    with pytest.raises(DatabaseFileError, match="schema version 999"):
        await Database.open(db_path)
    assert db_path.read_bytes() == before


async def test_file_that_is_not_sqlite_is_refused_and_untouched(db_path: Path) -> None:
    db_path.write_bytes(b"PK\x03\x04 a zip file, say")
    with pytest.raises(DatabaseFileError, match="not an SQLite database"):
        await Database.open(db_path)
    assert db_path.read_bytes() == b"PK\x03\x04 a zip file, say"


async def test_damaged_sqlite_file_is_refused(db_path: Path) -> None:
    database = await Database.open(db_path)
    await database.close()
    data = bytearray(db_path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # header intact, schema page garbage
    db_path.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    with pytest.raises(DatabaseFileError):
        await Database.open(db_path)


async def test_directory_as_database_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabaseFileError, match="directory"):
        await Database.open(tmp_path)


async def test_failed_migration_leaves_no_trace(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import db as db_module

    real = db_module.load_migrations()
    broken = [*real, db_module.Migration(len(real) + 1, "9999_broken.sql", "CREATE TABLE x(;")]
    monkeypatch.setattr(db_module, "load_migrations", lambda: broken)
    monkeypatch.setattr(db_module, "latest_version", lambda: len(broken))
    with pytest.raises(sqlite3.Error):
        await Database.open(db_path)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert tables == []


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    repo = GuildSettingsRepository(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_settings (guild_id, created_at, updated_at) VALUES (1, 'x', 'x')"
            )
            raise RuntimeError("boom")
    assert not (await repo.get(1)).stored


async def test_concurrent_transactions_do_not_interleave(db: Database) -> None:
    async def write(n: int) -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_settings (guild_id, created_at, updated_at) VALUES (?, 'a', 'a')",
                (n,),
            )
            await asyncio.sleep(0)
            await conn.execute("UPDATE guild_settings SET language = 'sv' WHERE guild_id = ?", (n,))

    await asyncio.gather(*(write(n) for n in range(1, 51)))
    assert await db.fetchval("SELECT COUNT(*) FROM guild_settings WHERE language = 'sv'") == 50


async def test_locked_database_raises_busy_and_loses_nothing(db: Database, db_path: Path) -> None:
    await db.conn.execute("PRAGMA busy_timeout = 100")
    other = sqlite3.connect(db_path, timeout=0.1, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        repo = GuildSettingsRepository(db)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await repo.save(GuildSettings(guild_id=5, language="en"), _now())
        other.execute("ROLLBACK")
    finally:
        other.close()
    saved = await GuildSettingsRepository(db).save(GuildSettings(guild_id=5, language="en"), _now())
    assert saved.stored
    assert (await GuildSettingsRepository(db).get(5)).language == "en"


async def test_guild_settings_are_per_server(db: Database) -> None:
    repo = GuildSettingsRepository(db)
    await repo.save(GuildSettings(guild_id=1, language="sv", timezone="Europe/Stockholm"), _now())
    await repo.save(GuildSettings(guild_id=2, language="en"), _now())
    one, two, three = await repo.get(1), await repo.get(2), await repo.get(3)
    assert (one.language, one.timezone) == ("sv", "Europe/Stockholm")
    assert (two.language, two.timezone) == ("en", "Europe/Oslo")
    assert not three.stored and three.language == "nb"


async def test_backup_while_writing(db: Database, tmp_path: Path) -> None:
    repo = GuildSettingsRepository(db)
    for n in range(1, 21):
        await repo.save(GuildSettings(guild_id=n), _now())
    await db.backup(tmp_path / "backup.db")
    copy = await Database.open(tmp_path / "backup.db")
    try:
        assert await copy.fetchval("SELECT COUNT(*) FROM guild_settings") == 20
    finally:
        await copy.close()


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2026, 11, 23, tzinfo=UTC)
