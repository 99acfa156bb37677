"""
Helpers shared by the store's interactions: optional times and JSON,
placeholders, inserts of many rows, insert-or-update.
"""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kcsms.storage.sql import Interaction, Query
from kcsms.timestamps import formatTimestamp, parseTimestamp

__all__ = [
    "formatOptional",
    "parseOptional",
    "dumpOptional",
    "loadOptional",
    "placeholders",
    "insertRows_txn",
    "insertOrUpdate_txn",
]


def formatOptional(stamp: datetime | None) -> str | None:
    return None if stamp is None else formatTimestamp(stamp)


def parseOptional(text: str | None) -> datetime | None:
    return None if text is None else parseTimestamp(text)


def dumpOptional(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value)


def loadOptional(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


#: Parameters in one statement at most (SQLite before 3.32 allows 999).
MAX_PARAMETERS = 999


def insertRows_txn(insert: str, rows: Sequence[Sequence[Any]]) -> Interaction[None]:
    """
    Insert rows several to a statement (C{VALUES (...), (...)}).

    One statement for many rows, not C{executemany}: the SQLite module lets
    go of the GIL for every row it executes and has to win it back from the
    reactor thread, which under load cost more than the inserts themselves.

    @param insert: C{INSERT INTO table (columns)}, without C{VALUES}.
    @param rows: the rows, each with a value per column.
    """
    if not rows:
        return
    width = len(rows[0])
    perStatement = MAX_PARAMETERS // width
    for start in range(0, len(rows), perStatement):
        some = rows[start : start + perStatement]
        yield Query(
            f"{insert} VALUES " + ", ".join([f"({placeholders(width)})"] * len(some)),
            [value for row in some for value in row],
        )


def insertOrUpdate_txn(insert: Query, update: Query) -> Interaction[bool]:
    """
    @param insert: an C{INSERT ... ON CONFLICT DO NOTHING RETURNING ...}.
    @param update: what to do instead when the row exists.
    @return: whether the row was inserted.
    """
    if (yield insert):
        return True
    yield update
    return False
