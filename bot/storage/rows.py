"""What every repository shares: the database it is given, and a row read into a dataclass."""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, TypeVar

from bot.db import Database

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


class Repository:
    """A repository: SQL over the one `Database` it is given."""

    def __init__(self, db: Database) -> None:
        self.db = db


@cache
def _field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(field.name for field in fields(cls))


def from_row(cls: type[T], row: sqlite3.Row, **converted: object) -> T:
    """`cls` with every field read from the column of the same name, except the fields
    passed here already converted (times, flags, JSON lists)."""
    values = {name: row[name] for name in _field_names(cls) if name not in converted}
    return cls(**values, **converted)
