"""
Charge points and id tags: the interactions (C{_txn} generators) of L{kcsms.storage.store.Store}.
"""

from collections.abc import Mapping
from datetime import datetime

from kcsms.model import (
    BootInfo,
    ChargePoint,
    IdTag,
)
from kcsms.storage.common import formatOptional, insertOrUpdate_txn, parseOptional, placeholders
from kcsms.storage.sql import Interaction, Query, Row
from kcsms.timestamps import formatTimestamp

# Charge points

#: BootInfo attributes and their columns.
_BOOT_FIELDS = (
    ("chargePointVendor", "charge_point_vendor"),
    ("chargePointModel", "charge_point_model"),
    ("chargePointSerialNumber", "charge_point_serial_number"),
    ("chargeBoxSerialNumber", "charge_box_serial_number"),
    ("firmwareVersion", "firmware_version"),
    ("iccid", "iccid"),
    ("imsi", "imsi"),
    ("meterType", "meter_type"),
    ("meterSerialNumber", "meter_serial_number"),
)
_BOOT_ATTRIBUTES = [attribute for attribute, _ in _BOOT_FIELDS]
_BOOT_COLUMNS = [column for _, column in _BOOT_FIELDS]
_CHARGE_POINT_COLUMNS = ", ".join(
    ["charge_point_id", "registration", *_BOOT_COLUMNS, "last_boot", "last_seen"]
)


def _chargePoint(row: Row) -> ChargePoint:
    chargePointId, registration, *boot, lastBoot, lastSeen = row
    return ChargePoint(
        chargePointId=chargePointId,
        registration=registration,
        boot=None
        if boot[0] is None
        else BootInfo(**dict(zip(_BOOT_ATTRIBUTES, boot, strict=True))),
        lastBoot=parseOptional(lastBoot),
        lastSeen=parseOptional(lastSeen),
    )


def getChargePoint_txn(chargePointId: str) -> Interaction[ChargePoint | None]:
    rows = yield Query(
        f"SELECT {_CHARGE_POINT_COLUMNS} FROM charge_points WHERE charge_point_id = ?",
        (chargePointId,),
    )
    return _chargePoint(rows[0]) if rows else None


def listChargePoints_txn() -> Interaction[list[ChargePoint]]:
    rows = yield Query(
        f"SELECT {_CHARGE_POINT_COLUMNS} FROM charge_points ORDER BY charge_point_id"
    )
    return [_chargePoint(row) for row in rows]


def setRegistration_txn(chargePointId: str, registration: str) -> Interaction[bool]:
    return (
        yield from insertOrUpdate_txn(
            Query(
                "INSERT INTO charge_points (charge_point_id, registration) VALUES (?, ?)"
                " ON CONFLICT (charge_point_id) DO NOTHING RETURNING charge_point_id",
                (chargePointId, registration),
            ),
            Query(
                "UPDATE charge_points SET registration = ? WHERE charge_point_id = ?",
                (registration, chargePointId),
            ),
        )
    )


def deleteChargePoint_txn(chargePointId: str) -> Interaction[bool]:
    rows = yield Query(
        "DELETE FROM charge_points WHERE charge_point_id = ? RETURNING charge_point_id",
        (chargePointId,),
    )
    return bool(rows)


_BOOT_UPDATE = ", ".join(f"{column} = ?" for column in [*_BOOT_COLUMNS, "last_boot", "last_seen"])
_BOOT_UPSERT = ", ".join(
    f"{column} = excluded.{column}" for column in [*_BOOT_COLUMNS, "last_boot", "last_seen"]
)


def recordBootNotification_txn(
    chargePointId: str, boot: BootInfo, at: datetime, registrationIfNew: str | None
) -> Interaction[ChargePoint | None]:
    values = [getattr(boot, attribute) for attribute in _BOOT_ATTRIBUTES]
    seen = formatTimestamp(at)
    if registrationIfNew is None:
        rows = yield Query(
            f"UPDATE charge_points SET {_BOOT_UPDATE} WHERE charge_point_id = ?"
            f" RETURNING {_CHARGE_POINT_COLUMNS}",
            (*values, seen, seen, chargePointId),
        )
    else:
        rows = yield Query(
            f"INSERT INTO charge_points ({_CHARGE_POINT_COLUMNS})"
            f" VALUES ({placeholders(len(_BOOT_FIELDS) + 4)})"
            f" ON CONFLICT (charge_point_id) DO UPDATE SET {_BOOT_UPSERT}"
            f" RETURNING {_CHARGE_POINT_COLUMNS}",
            (chargePointId, registrationIfNew, *values, seen, seen),
        )
    return _chargePoint(rows[0]) if rows else None


def recordSeen_txn(seen: Mapping[str, datetime]) -> Interaction[None]:
    yield Query(
        "UPDATE charge_points SET last_seen = ? WHERE charge_point_id = ?",
        [(formatTimestamp(at), chargePointId) for chargePointId, at in sorted(seen.items())],
        many=True,
    )


# Id tags: id_tag_key, the lower-cased id tag, makes them case-insensitive.

_ID_TAG_COLUMNS = "id_tag, status, expiry_date, parent_id_tag"


def _idTag(row: Row) -> IdTag:
    idTag, status, expiryDate, parentIdTag = row
    return IdTag(idTag, status, parseOptional(expiryDate), parentIdTag)


def getIdTag_txn(idTag: str) -> Interaction[IdTag | None]:
    rows = yield Query(
        f"SELECT {_ID_TAG_COLUMNS} FROM id_tags WHERE id_tag_key = ?", (idTag.lower(),)
    )
    return _idTag(rows[0]) if rows else None


def listIdTags_txn() -> Interaction[list[IdTag]]:
    rows = yield Query(f"SELECT {_ID_TAG_COLUMNS} FROM id_tags ORDER BY id_tag_key")
    return [_idTag(row) for row in rows]


def putIdTag_txn(tag: IdTag) -> Interaction[bool]:
    info = (tag.status, formatOptional(tag.expiryDate), tag.parentIdTag)
    key = tag.idTag.lower()
    return (
        yield from insertOrUpdate_txn(
            Query(
                f"INSERT INTO id_tags ({_ID_TAG_COLUMNS}, id_tag_key) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id_tag_key) DO NOTHING RETURNING id_tag",
                (tag.idTag, *info, key),
            ),
            Query(
                "UPDATE id_tags SET id_tag = ?, status = ?, expiry_date = ?, parent_id_tag = ?"
                " WHERE id_tag_key = ?",
                (tag.idTag, *info, key),
            ),
        )
    )


def deleteIdTag_txn(idTag: str) -> Interaction[bool]:
    rows = yield Query(
        "DELETE FROM id_tags WHERE id_tag_key = ? RETURNING id_tag", (idTag.lower(),)
    )
    return bool(rows)
