"""
Installed charging profiles: the interactions (C{_txn} generators) of L{kcsms.storage.store.Store}.
"""

import json
from typing import Any

from kcsms.model import (
    InstalledChargingProfile,
)
from kcsms.storage.common import placeholders
from kcsms.storage.sql import Interaction, Query, Row
from kcsms.timestamps import formatTimestamp, parseTimestamp

# Charging profiles

_CHARGING_PROFILE_COLUMNS = (
    "charge_point_id, charging_profile_id, connector_id, purpose, stack_level,"
    " transaction_id, profile, installed_at"
)


def _chargingProfiles(rows: list[Row]) -> list[InstalledChargingProfile]:
    """
    @return: the rows' profiles by connector, purpose, stackLevel and id.
    """
    rows = sorted(rows, key=lambda row: (row[2], row[3], row[4], row[1]))
    return [
        InstalledChargingProfile(
            chargePointId, connectorId, json.loads(profile), parseTimestamp(installedAt), txId
        )
        for chargePointId, _, connectorId, _, _, txId, profile, installedAt in rows
    ]


def _deleteChargingProfiles_txn(
    chargePointId: str, conditions: dict[str, Any]
) -> Interaction[list[InstalledChargingProfile]]:
    """
    @param conditions: column -> value, all of which a deleted row matches.
    """
    where = "".join(f" AND {column} = ?" for column in conditions)
    rows = yield Query(
        f"DELETE FROM charging_profiles WHERE charge_point_id = ?{where}"
        f" RETURNING {_CHARGING_PROFILE_COLUMNS}",
        (chargePointId, *conditions.values()),
    )
    return _chargingProfiles(rows)


def installChargingProfile_txn(
    installed: InstalledChargingProfile,
) -> Interaction[list[InstalledChargingProfile]]:
    chargePointId = installed.chargePointId
    replaced = yield from _deleteChargingProfiles_txn(
        chargePointId, {"charging_profile_id": installed.chargingProfileId}
    )
    replaced += yield from _deleteChargingProfiles_txn(
        chargePointId,
        {
            "connector_id": installed.connectorId,
            "purpose": installed.chargingProfilePurpose,
            "stack_level": installed.stackLevel,
        },
    )
    yield Query(
        f"INSERT INTO charging_profiles ({_CHARGING_PROFILE_COLUMNS}) VALUES ({placeholders(8)})",
        (
            chargePointId,
            installed.chargingProfileId,
            installed.connectorId,
            installed.chargingProfilePurpose,
            installed.stackLevel,
            installed.transactionId,
            json.dumps(installed.chargingProfile),
            formatTimestamp(installed.installedAt),
        ),
    )
    return replaced


def clearChargingProfiles_txn(
    chargePointId: str,
    chargingProfileId: int | None,
    connectorId: int | None,
    purpose: str | None,
    stackLevel: int | None,
    transactionId: int | None,
) -> Interaction[list[InstalledChargingProfile]]:
    if chargingProfileId is not None:
        conditions: dict[str, Any] = {"charging_profile_id": chargingProfileId}
    else:
        criteria = {
            "connector_id": connectorId,
            "purpose": purpose,
            "stack_level": stackLevel,
            "transaction_id": transactionId,
        }
        conditions = {column: value for column, value in criteria.items() if value is not None}
    return (yield from _deleteChargingProfiles_txn(chargePointId, conditions))


def bindChargingProfiles_txn(
    chargePointId: str, connectorId: int, transactionId: int
) -> Interaction[list[InstalledChargingProfile]]:
    rows = yield Query(
        "UPDATE charging_profiles SET connector_id = ?, transaction_id = ?"
        " WHERE charge_point_id = ? AND purpose = 'TxProfile' AND transaction_id IS NULL"
        f" AND connector_id IN (?, 0) RETURNING {_CHARGING_PROFILE_COLUMNS}",
        (connectorId, transactionId, chargePointId, connectorId),
    )
    return _chargingProfiles(rows)


def listChargingProfiles_txn(
    chargePointId: str, connectorId: int | None
) -> Interaction[list[InstalledChargingProfile]]:
    where, params = ("", ()) if connectorId is None else (" AND connector_id = ?", (connectorId,))
    rows = yield Query(
        f"SELECT {_CHARGING_PROFILE_COLUMNS} FROM charging_profiles"
        f" WHERE charge_point_id = ?{where}",
        (chargePointId, *params),
    )
    return _chargingProfiles(rows)
