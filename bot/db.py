"""The one SQLite connection: opening, checking, migrating, transactions and backup.

Migrations are `bot/migrations/NNNN_name.sql`, applied in order in one transaction; the
schema version lives in `PRAGMA user_version`. A file that is not SQLite, or whose
version is newer than the code knows, is never touched.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import DatabaseFileError

log = logging.getLogger(__name__)

_SQLITE_MAGIC = b"SQLite format 3\x00"
# Seconds a write waits for another process's lock (a backup, the sqlite3 shell).
DEFAULT_BUSY_TIMEOUT = 5.0
_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def error_name(exc: BaseException) -> str:
    """`SQLITE_BUSY`, `SQLITE_FULL` …, or the exception class when SQLite gave no code."""
    name = getattr(exc, "sqlite_errorname", None)
    return str(name) if name else type(exc).__name__


def is_busy(exc: BaseException) -> bool:
    """Another connection (a backup, the sqlite3 shell) held the lock past busy_timeout."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def is_full(exc: BaseException) -> bool:
    """The disk (or the file's max_page_count) is full."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF == sqlite3.SQLITE_FULL
    return "full" in str(exc)


def is_transient(exc: BaseException) -> bool:
    """Busy or full: nothing was written, and the same write may work a little later."""
    return is_busy(exc) or is_full(exc)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """Every shipped migration, in order. Numbers must run 1, 2, 3 … without gaps."""
    found: list[Migration] = []
    for entry in resources.files("bot.migrations").iterdir():
        match = _MIGRATION_RE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration numbering has a gap at {migration.name}")
    return found


def latest_version() -> int:
    migrations = load_migrations()
    return migrations[-1].version if migrations else 0


def check_file(path: Path) -> None:
    """Refuse anything that exists and is not an SQLite database, before opening it."""
    if not path.exists():
        return
    if path.is_dir():
        raise DatabaseFileError(f"The database path {path} is a directory, not a file.")
    try:
        with path.open("rb") as handle:
            header = handle.read(16)
    except OSError as exc:
        raise DatabaseFileError(
            f"The database file {path} cannot be read ({exc.strerror}): check its permissions."
        ) from None
    if header and header != _SQLITE_MAGIC:
        raise DatabaseFileError(
            f"The file {path} is not an SQLite database: it was left untouched. "
            "Point DATABASE_PATH at the right file or move this one away."
        )


class Database:
    """One aiosqlite connection shared by the bot, with a lock that serialises writes.

    Reads may run at any time; every write goes through `transaction()`, which holds the
    lock for the whole BEGIN … COMMIT, so two coroutines never interleave statements in
    one transaction.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self.busy_timeout = DEFAULT_BUSY_TIMEOUT

    @classmethod
    async def open(cls, path: Path, *, migrate: bool = True) -> Database:
        path = Path(path)
        check_file(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseFileError(f"The database file {path} cannot be opened: {exc}.") from None
        db = cls(conn, path)
        conn.row_factory = aiosqlite.Row
        try:
            # Read before writing anything: a damaged file or one from newer code is left
            # exactly as it was (switching to WAL would already change its header).
            await db.set_busy_timeout(DEFAULT_BUSY_TIMEOUT)
            await db.fetchval("SELECT COUNT(*) FROM sqlite_master")
            await db.check_version()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise DatabaseFileError(
                f"The database file {path} is damaged or not an SQLite database ({exc}); "
                "it was left untouched."
            ) from None
        except BaseException:
            await conn.close()
            raise
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            if migrate:
                await db.migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        await self.conn.close()

    async def version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def check_version(self) -> int:
        current = await self.version()
        latest = latest_version()
        if current > latest:
            raise DatabaseFileError(
                f"The database {self.path} has schema version {current}, but this version of "
                f"Møteplass only knows up to {latest}: upgrade Møteplass (the file was left "
                "untouched)."
            )
        return current

    async def migrate(self) -> list[str]:
        """Apply every pending migration in one transaction. Returns the names applied."""
        async with self._lock:
            current = await self.check_version()
            pending = [m for m in load_migrations() if m.version > current]
            if not pending:
                return []
            script = "\n".join(m.sql for m in pending)
            target = pending[-1].version
            try:
                # executescript commits anything open first; the script carries its own
                # BEGIN … COMMIT so that all migrations land together or not at all.
                await self.conn.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target:d};\nCOMMIT;"
                )
            except BaseException:
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                raise
            names = [m.name for m in pending]
            log.info("database migrated to version %d (%s)", target, ", ".join(names))
            return names

    async def set_busy_timeout(self, seconds: float) -> None:
        """How long a write waits for another process's lock before failing (SQLITE_BUSY)."""
        self.busy_timeout = seconds
        await self.conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000):d}")

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE, waiting up to `busy_timeout` for another process's write lock.

        SQLite waits by itself (busy_timeout) unless this connection has a read statement
        in flight (another coroutine between execute and fetch): then it answers SQLITE_BUSY
        at once, so that case is waited out here."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(0.02)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error: a write commits whole or not.

        A COMMIT that fails (busy, disk full) is rolled back too, and a transaction SQLite
        already rolled back itself (SQLITE_FULL may) is not rolled back twice: the
        connection is always usable for the next write, and the original error is raised."""
        async with self._lock:
            await self._begin()
            try:
                yield self.conn
                await self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    try:
                        await self.conn.execute("ROLLBACK")
                    except sqlite3.Error as exc:
                        log.error("rollback failed: %s", error_name(exc))
                raise

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def exists(self, sql: str, params: Sequence[Any] = ()) -> bool:
        """True if the query returns a row."""
        return await self.fetchone(sql, params) is not None

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement in its own transaction; the number of rows it changed
        (1 for the one caller whose conditional UPDATE or `INSERT … DO NOTHING` won)."""
        async with self.transaction() as conn, conn.execute(sql, params) as cursor:
            return cursor.rowcount

    async def execute_one(self, sql: str, params: Sequence[Any] = ()) -> bool:
        """`execute`, True if it changed exactly one row: of any number of callers of the
        same conditional write (a claim, a state change), exactly one gets True."""
        return await self.execute(sql, params) == 1

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One INSERT in its own transaction; the new row's id."""
        async with self.transaction() as conn, conn.execute(sql, params) as cursor:
            row_id = cursor.lastrowid
        assert row_id is not None
        return row_id

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def healthy(self) -> bool:
        try:
            return bool(await self.fetchval("SELECT 1") == 1)
        except sqlite3.Error:
            return False

    async def backup(self, target: Path) -> None:
        """SQLite's online backup: safe while the bot is running and writing."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        dest = await aiosqlite.connect(target)
        try:
            await self.conn.backup(dest)
        finally:
            await dest.close()
