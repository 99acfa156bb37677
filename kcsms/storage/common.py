"""
Helpers shared by the store's interactions: optional times and JSON,
placeholders, insert-or-update.
"""

import json
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
