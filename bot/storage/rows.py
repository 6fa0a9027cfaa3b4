"""What every repository shares: the database it is given, reading rows into dataclasses
(`read_one`, `read_all`, `from_row`), and the placeholders of an `IN (…)` list.

Single-statement writes are `Database.execute` (rows changed), `execute_one` (won or
not) and `insert` (the new id); several statements go in one `Database.transaction()`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Sequence
from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from bot.db import Database

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")
R = TypeVar("R")


class Repository:
    """A repository: SQL over the one `Database` it is given."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def read_one(
        self, read: Callable[[sqlite3.Row], R], sql: str, params: Sequence[Any] = ()
    ) -> R | None:
        """The first row of the query read by `read`, or None when there is none."""
        row = await self.db.fetchone(sql, params)
        return None if row is None else read(row)

    async def read_all(
        self, read: Callable[[sqlite3.Row], R], sql: str, params: Sequence[Any] = ()
    ) -> list[R]:
        """Every row of the query, each read by `read`."""
        return [read(row) for row in await self.db.fetchall(sql, params)]


def marks(values: Collection[object]) -> str:
    """One `?` per value, for `IN (…)`: the values themselves go in as parameters."""
    return ", ".join("?" * len(values))


@cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(field.name for field in fields(cls))


def from_row(cls: type[T], row: sqlite3.Row, **converted: object) -> T:
    """`cls` with every field read from the column of the same name, except the fields
    passed here already converted (times, flags, JSON lists)."""
    values = {name: row[name] for name in _field_names(cls) if name not in converted}
    return cls(**values, **converted)
