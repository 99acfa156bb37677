"""
Local authorization lists: the interactions (C{_txn} generators) of L{kcsms.storage.store.Store}.
"""

import json
from datetime import datetime
from typing import Any

from kcsms.model import (
    InstalledLocalList,
)
from kcsms.storage.common import formatOptional, insertOrUpdate_txn, parseOptional, placeholders
from kcsms.storage.sql import Interaction, Query
from kcsms.timestamps import formatTimestamp

# Local authorization lists


def putLocalList_txn(name: str, entries: dict[str, Any], at: datetime) -> Interaction[bool]:
    values = (json.dumps(entries), formatTimestamp(at), name)
    return (
        yield from insertOrUpdate_txn(
            Query(
                "INSERT INTO local_lists (entries, updated_at, name) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING RETURNING name",
                values,
            ),
            Query("UPDATE local_lists SET entries = ?, updated_at = ? WHERE name = ?", values),
        )
    )


def getLocalList_txn(name: str) -> Interaction[dict[str, Any] | None]:
    rows = yield Query("SELECT entries FROM local_lists WHERE name = ?", (name,))
    return json.loads(rows[0][0]) if rows else None


def listLocalLists_txn() -> Interaction[list[str]]:
    rows = yield Query("SELECT name FROM local_lists ORDER BY name")
    return [name for (name,) in rows]


def deleteLocalList_txn(name: str) -> Interaction[bool]:
    yield Query("DELETE FROM local_list_assignments WHERE list_name = ?", (name,))
    rows = yield Query("DELETE FROM local_lists WHERE name = ? RETURNING name", (name,))
    return bool(rows)


def assignLocalList_txn(chargePointId: str, name: str) -> Interaction[None]:
    yield Query(
        "INSERT INTO local_list_assignments (charge_point_id, list_name) VALUES (?, ?)"
        " ON CONFLICT (charge_point_id) DO UPDATE SET list_name = excluded.list_name",
        (chargePointId, name),
    )


def getAssignment_txn(chargePointId: str) -> Interaction[str | None]:
    rows = yield Query(
        "SELECT list_name FROM local_list_assignments WHERE charge_point_id = ?",
        (chargePointId,),
    )
    return rows[0][0] if rows else None


def listMembers_txn(name: str) -> Interaction[list[str]]:
    rows = yield Query(
        "SELECT charge_point_id FROM local_list_assignments WHERE list_name = ?"
        " ORDER BY charge_point_id",
        (name,),
    )
    return [chargePointId for (chargePointId,) in rows]


_INSTALLED_COLUMNS = (
    "charge_point_id, known, list_version, entries, reported_version, max_length,"
    " last_result, last_sync"
)


def getInstalledLocalList_txn(chargePointId: str) -> Interaction[InstalledLocalList]:
    rows = yield Query(
        f"SELECT {_INSTALLED_COLUMNS} FROM installed_local_lists WHERE charge_point_id = ?",
        (chargePointId,),
    )
    if not rows:
        return InstalledLocalList(chargePointId)
    _, known, version, entries, reported, maxLength, result, lastSync = rows[0]
    return InstalledLocalList(
        chargePointId,
        bool(known),
        version,
        json.loads(entries),
        reported,
        maxLength,
        result,
        parseOptional(lastSync),
    )


def putInstalledLocalList_txn(installed: InstalledLocalList) -> Interaction[None]:
    columns = _INSTALLED_COLUMNS.split(", ")
    yield Query(
        f"INSERT INTO installed_local_lists ({_INSTALLED_COLUMNS})"
        f" VALUES ({placeholders(len(columns))}) ON CONFLICT (charge_point_id) DO UPDATE SET "
        + ", ".join(f"{column} = excluded.{column}" for column in columns[1:]),
        (
            installed.chargePointId,
            int(installed.known),
            installed.listVersion,
            json.dumps(installed.entries),
            installed.reportedVersion,
            installed.maxLength,
            installed.lastResult,
            formatOptional(installed.lastSync),
        ),
    )
