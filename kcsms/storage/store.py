"""
The store: every L{kcsms.interfaces.IStore} method as one interaction (a
C{_txn} generator of L{kcsms.storage.sql.Query}s), run as one database
transaction by whichever L{kcsms.storage.sql.Runner} the engine provides.

Rows become the value objects of L{kcsms.model}; times are stored as text in
L{kcsms.timestamps.formatTimestamp}'s format, so that they sort as text.
"""

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from twisted.internet.defer import Deferred
from zope.interface import implementer

from kcsms.interfaces import IStore
from kcsms.model import (
    ACTIVE_RESERVATION_STATUSES,
    COMPLETED_FIRMWARE_JOB_STATUSES,
    FIRMWARE_JOB_STATUSES,
    ApiToken,
    AuditEntry,
    BootInfo,
    CallRecord,
    ChargePoint,
    ConnectorStatus,
    DiagnosticsFile,
    FirmwareImage,
    FirmwareJob,
    FirmwareJobEvent,
    FirmwareRollout,
    IdTag,
    InstalledChargingProfile,
    InstalledLocalList,
    LoggedMessage,
    MeterValue,
    Reservation,
    SampledValue,
    StationCredentials,
    Transaction,
    UnmatchedStop,
)
from kcsms.storage.sql import Interaction, Query, Row, Runner
from kcsms.timestamps import formatTimestamp, parseTimestamp

__all__ = ["Store"]


def _formatOptional(stamp: datetime | None) -> str | None:
    return None if stamp is None else formatTimestamp(stamp)


def _parseOptional(text: str | None) -> datetime | None:
    return None if text is None else parseTimestamp(text)


def _dumpOptional(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value)


def _loadOptional(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


def _insertOrUpdate_txn(insert: Query, update: Query) -> Interaction[bool]:
    """
    @param insert: an C{INSERT ... ON CONFLICT DO NOTHING RETURNING ...}.
    @param update: what to do instead when the row exists.
    @return: whether the row was inserted.
    """
    if (yield insert):
        return True
    yield update
    return False


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
        lastBoot=_parseOptional(lastBoot),
        lastSeen=_parseOptional(lastSeen),
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
        yield from _insertOrUpdate_txn(
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
            f" VALUES ({_placeholders(len(_BOOT_FIELDS) + 4)})"
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
    return IdTag(idTag, status, _parseOptional(expiryDate), parentIdTag)


def getIdTag_txn(idTag: str) -> Interaction[IdTag | None]:
    rows = yield Query(
        f"SELECT {_ID_TAG_COLUMNS} FROM id_tags WHERE id_tag_key = ?", (idTag.lower(),)
    )
    return _idTag(rows[0]) if rows else None


def listIdTags_txn() -> Interaction[list[IdTag]]:
    rows = yield Query(f"SELECT {_ID_TAG_COLUMNS} FROM id_tags ORDER BY id_tag_key")
    return [_idTag(row) for row in rows]


def putIdTag_txn(tag: IdTag) -> Interaction[bool]:
    info = (tag.status, _formatOptional(tag.expiryDate), tag.parentIdTag)
    key = tag.idTag.lower()
    return (
        yield from _insertOrUpdate_txn(
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


# Transactions and meter values

_TRANSACTION_COLUMNS = (
    "transaction_id, charge_point_id, connector_id, id_tag, meter_start, start_timestamp,"
    " id_tag_status, reservation_id, meter_stop, stop_timestamp, stop_reason, stop_id_tag"
)
#: What tells a retried StartTransaction; the transactions table's unique key.
_START_KEY = "charge_point_id, connector_id, id_tag, meter_start, start_timestamp"


def _transaction(row: Row) -> Transaction:
    (
        transactionId,
        chargePointId,
        connectorId,
        idTag,
        meterStart,
        startTimestamp,
        idTagStatus,
        reservationId,
        meterStop,
        stopTimestamp,
        stopReason,
        stopIdTag,
    ) = row
    return Transaction(
        transactionId=transactionId,
        chargePointId=chargePointId,
        connectorId=connectorId,
        idTag=idTag,
        meterStart=meterStart,
        startTimestamp=parseTimestamp(startTimestamp),
        idTagStatus=idTagStatus,
        reservationId=reservationId,
        meterStop=meterStop,
        stopTimestamp=_parseOptional(stopTimestamp),
        stopReason=stopReason,
        stopIdTag=stopIdTag,
    )


#: SampledValue attributes, which are also their columns.
_SAMPLED_VALUE_FIELDS = ("value", "context", "format", "measurand", "phase", "location", "unit")
#: A meter value row as L{_meterValues} reads it.
_METER_VALUE_COLUMNS = ", ".join(["timestamp", "sample_index", *_SAMPLED_VALUE_FIELDS])


def _meterValues(rows: Sequence[Sequence[Any]]) -> tuple[MeterValue, ...]:
    """
    @param rows: L{_METER_VALUE_COLUMNS} rows in the order received; a row
        with sample index 0 starts a new MeterValue.
    """
    grouped: list[tuple[str, list[SampledValue]]] = []
    for timestamp, sampleIndex, *sampled in rows:
        if sampleIndex == 0 or not grouped:
            grouped.append((timestamp, []))
        grouped[-1][1].append(
            SampledValue(**dict(zip(_SAMPLED_VALUE_FIELDS, sampled, strict=True)))
        )
    return tuple(MeterValue(parseTimestamp(stamp), tuple(values)) for stamp, values in grouped)


def addMeterValues_txn(
    chargePointId: str,
    connectorId: int | None,
    transactionId: int | None,
    meterValues: Sequence[MeterValue],
) -> Interaction[None]:
    rows = [
        (
            chargePointId,
            connectorId,
            transactionId,
            formatTimestamp(meterValue.timestamp),
            index,
            *(getattr(sampled, attribute) for attribute in _SAMPLED_VALUE_FIELDS),
        )
        for meterValue in meterValues
        for index, sampled in enumerate(meterValue.sampledValue)
    ]
    if rows:
        yield Query(
            "INSERT INTO meter_values (charge_point_id, connector_id, transaction_id,"
            f" {_METER_VALUE_COLUMNS}) VALUES ({_placeholders(len(rows[0]))})",
            rows,
            many=True,
        )


def startTransaction_txn(
    chargePointId: str,
    connectorId: int,
    idTag: str,
    meterStart: int,
    timestamp: datetime,
    reservationId: int | None,
    idTagStatus: str,
) -> Interaction[Transaction]:
    key = (chargePointId, connectorId, idTag, meterStart, formatTimestamp(timestamp))
    rows = yield Query(
        f"INSERT INTO transactions ({_START_KEY}, reservation_id, id_tag_status)"
        f" VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT ({_START_KEY}) DO NOTHING"
        f" RETURNING {_TRANSACTION_COLUMNS}",
        (*key, reservationId, idTagStatus),
    )
    if not rows:
        rows = yield Query(
            f"SELECT {_TRANSACTION_COLUMNS} FROM transactions WHERE charge_point_id = ?"
            " AND connector_id = ? AND id_tag = ? AND meter_start = ? AND start_timestamp = ?",
            key,
        )
    return _transaction(rows[0])


def stopTransaction_txn(
    chargePointId: str,
    transactionId: int,
    idTag: str | None,
    meterStop: int,
    timestamp: datetime,
    reason: str | None,
    transactionData: Sequence[MeterValue],
) -> Interaction[Transaction | None]:
    """
    Stop the station's transaction; a retry overwrites the stop but adds its
    transactionData only once.  A stop for a transaction id the station has
    no transaction with is kept as an unmatched stop, once.
    """
    stopped = formatTimestamp(timestamp)
    rows = yield Query(
        "SELECT connector_id, stop_timestamp FROM transactions"
        " WHERE transaction_id = ? AND charge_point_id = ?",
        (transactionId, chargePointId),
    )
    if not rows:
        inserted = yield Query(
            "INSERT INTO unmatched_stops (charge_point_id, transaction_id, id_tag, meter_stop,"
            " stop_timestamp, stop_reason) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (charge_point_id, transaction_id, stop_timestamp) DO NOTHING"
            " RETURNING id",
            (chargePointId, transactionId, idTag, meterStop, stopped, reason),
        )
        if inserted:
            yield from addMeterValues_txn(chargePointId, None, transactionId, transactionData)
        return None
    [(connectorId, previousStop)] = rows
    rows = yield Query(
        "UPDATE transactions SET meter_stop = ?, stop_timestamp = ?, stop_reason = ?,"
        f" stop_id_tag = ? WHERE transaction_id = ? RETURNING {_TRANSACTION_COLUMNS}",
        (meterStop, stopped, reason, idTag, transactionId),
    )
    if previousStop is None:
        yield from addMeterValues_txn(chargePointId, connectorId, transactionId, transactionData)
    return _transaction(rows[0])


def getTransaction_txn(transactionId: int) -> Interaction[Transaction | None]:
    rows = yield Query(
        f"SELECT {_TRANSACTION_COLUMNS} FROM transactions WHERE transaction_id = ?",
        (transactionId,),
    )
    return _transaction(rows[0]) if rows else None


def _listingFilter(
    chargePointId: str | None,
    active: bool | None,
    activeCondition: str,
    activeParams: Sequence[Any] = (),
) -> tuple[str, list[Any]]:
    """
    The C{WHERE} clause, and its parameters, of a listing by station and by
    whether active.

    @param activeCondition: what makes a row active, with C{activeParams}.
    """
    conditions = []
    params: list[Any] = []
    if chargePointId is not None:
        conditions.append("charge_point_id = ?")
        params.append(chargePointId)
    if active is not None:
        conditions.append(activeCondition if active else f"NOT ({activeCondition})")
        params.extend(activeParams)
    return (f" WHERE {' AND '.join(conditions)}" if conditions else ""), params


def listTransactions_txn(
    chargePointId: str | None, active: bool | None
) -> Interaction[list[Transaction]]:
    where, params = _listingFilter(chargePointId, active, "stop_timestamp IS NULL")
    rows = yield Query(
        f"SELECT {_TRANSACTION_COLUMNS} FROM transactions{where} ORDER BY transaction_id", params
    )
    return [_transaction(row) for row in rows]


def getMeterValues_txn(transactionId: int) -> Interaction[list[MeterValue]]:
    """
    The meter values of a transaction: those its own station sent with its id.
    """
    rows = yield Query(
        f"SELECT {_METER_VALUE_COLUMNS} FROM meter_values WHERE transaction_id = ?"
        " AND charge_point_id = (SELECT charge_point_id FROM transactions"
        " WHERE transaction_id = ?) ORDER BY id",
        (transactionId, transactionId),
    )
    return list(_meterValues(rows))


def listUnmatchedStops_txn(chargePointId: str) -> Interaction[list[UnmatchedStop]]:
    stops = yield Query(
        "SELECT transaction_id, meter_stop, stop_timestamp, id_tag, stop_reason"
        " FROM unmatched_stops WHERE charge_point_id = ? ORDER BY id",
        (chargePointId,),
    )
    rows = yield Query(
        f"SELECT transaction_id, {_METER_VALUE_COLUMNS} FROM meter_values"
        " WHERE charge_point_id = ? AND transaction_id IN"
        " (SELECT transaction_id FROM unmatched_stops WHERE charge_point_id = ?) ORDER BY id",
        (chargePointId, chargePointId),
    )
    byTransaction: defaultdict[int, list[Sequence[Any]]] = defaultdict(list)
    for transactionId, *meterValue in rows:
        byTransaction[transactionId].append(meterValue)
    return [
        UnmatchedStop(
            chargePointId=chargePointId,
            transactionId=transactionId,
            meterStop=meterStop,
            timestamp=parseTimestamp(timestamp),
            idTag=idTag,
            reason=reason,
            meterValues=_meterValues(byTransaction[transactionId]),
        )
        for transactionId, meterStop, timestamp, idTag, reason in stops
    ]


# Connector statuses

_STATUS_COLUMNS = (
    "charge_point_id, connector_id, status, error_code, info, timestamp, vendor_id,"
    " vendor_error_code, received_at"
)


def _connectorStatus(row: Row) -> ConnectorStatus:
    (
        chargePointId,
        connectorId,
        status,
        errorCode,
        info,
        timestamp,
        vendorId,
        vendorErrorCode,
        receivedAt,
    ) = row
    return ConnectorStatus(
        chargePointId=chargePointId,
        connectorId=connectorId,
        status=status,
        errorCode=errorCode,
        receivedAt=parseTimestamp(receivedAt),
        info=info,
        timestamp=_parseOptional(timestamp),
        vendorId=vendorId,
        vendorErrorCode=vendorErrorCode,
    )


def recordStatusNotification_txn(status: ConnectorStatus) -> Interaction[None]:
    """
    Add the status to the history; make it the latest unless the latest held
    has a later station timestamp.
    """
    values = (
        status.chargePointId,
        status.connectorId,
        status.status,
        status.errorCode,
        status.info,
        _formatOptional(status.timestamp),
        status.vendorId,
        status.vendorErrorCode,
        formatTimestamp(status.receivedAt),
    )
    yield Query(
        f"INSERT INTO status_history ({_STATUS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values
    )
    yield Query(
        f"INSERT INTO connector_statuses ({_STATUS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (charge_point_id, connector_id) DO UPDATE SET status = excluded.status,"
        " error_code = excluded.error_code, info = excluded.info,"
        " timestamp = excluded.timestamp, vendor_id = excluded.vendor_id,"
        " vendor_error_code = excluded.vendor_error_code, received_at = excluded.received_at"
        " WHERE connector_statuses.timestamp IS NULL OR excluded.timestamp IS NULL"
        " OR excluded.timestamp >= connector_statuses.timestamp",
        values,
    )


def getConnectorStatuses_txn(chargePointId: str) -> Interaction[list[ConnectorStatus]]:
    rows = yield Query(
        f"SELECT {_STATUS_COLUMNS} FROM connector_statuses WHERE charge_point_id = ?"
        " ORDER BY connector_id",
        (chargePointId,),
    )
    return [_connectorStatus(row) for row in rows]


def getStatusHistory_txn(
    chargePointId: str, connectorId: int | None
) -> Interaction[list[ConnectorStatus]]:
    if connectorId is None:
        query = Query(
            f"SELECT {_STATUS_COLUMNS} FROM status_history WHERE charge_point_id = ? ORDER BY id",
            (chargePointId,),
        )
    else:
        query = Query(
            f"SELECT {_STATUS_COLUMNS} FROM status_history WHERE charge_point_id = ?"
            " AND connector_id = ? ORDER BY id",
            (chargePointId, connectorId),
        )
    rows = yield query
    return [_connectorStatus(row) for row in rows]


# Calls

_CALL_COLUMNS = (
    "charge_point_id, unique_id, action, request, requested_at, outcome, answered_at,"
    " response, error"
)


def _callRecord(row: Row) -> CallRecord:
    (
        chargePointId,
        uniqueId,
        action,
        request,
        requestedAt,
        outcome,
        answeredAt,
        response,
        error,
    ) = row
    return CallRecord(
        chargePointId=chargePointId,
        uniqueId=uniqueId,
        action=action,
        request=json.loads(request),
        requestedAt=parseTimestamp(requestedAt),
        outcome=outcome,
        answeredAt=_parseOptional(answeredAt),
        response=_loadOptional(response),
        error=_loadOptional(error),
    )


def recordCall_txn(call: CallRecord) -> Interaction[None]:
    yield Query(
        f"INSERT INTO calls ({_CALL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            call.chargePointId,
            call.uniqueId,
            call.action,
            json.dumps(call.request),
            formatTimestamp(call.requestedAt),
            call.outcome,
            _formatOptional(call.answeredAt),
            _dumpOptional(call.response),
            _dumpOptional(call.error),
        ),
    )


def listCalls_txn(chargePointId: str) -> Interaction[list[CallRecord]]:
    rows = yield Query(
        f"SELECT {_CALL_COLUMNS} FROM calls WHERE charge_point_id = ? ORDER BY requested_at, id",
        (chargePointId,),
    )
    return [_callRecord(row) for row in rows]


# Message log


def appendMessages_txn(messages: Sequence[LoggedMessage]) -> Interaction[None]:
    if messages:
        yield Query(
            "INSERT INTO message_log (charge_point_id, timestamp, direction, message)"
            " VALUES (?, ?, ?, ?)",
            [
                (m.chargePointId, formatTimestamp(m.timestamp), m.direction, m.message)
                for m in messages
            ],
            many=True,
        )


def listMessages_txn(chargePointId: str, limit: int) -> Interaction[list[LoggedMessage]]:
    rows = yield Query(
        "SELECT charge_point_id, timestamp, direction, message FROM message_log"
        " WHERE charge_point_id = ? ORDER BY id DESC LIMIT ?",
        (chargePointId, limit),
    )
    return [
        LoggedMessage(chargePointId, parseTimestamp(stamp), direction, message)
        for chargePointId, stamp, direction, message in reversed(rows)
    ]


def pruneMessages_txn(before: datetime) -> Interaction[int]:
    rows = yield Query(
        "DELETE FROM message_log WHERE timestamp < ? RETURNING id", (formatTimestamp(before),)
    )
    return len(rows)


# Cluster


def renewNode_txn(nodeId: str, leaseUntil: datetime) -> Interaction[None]:
    yield Query(
        "INSERT INTO nodes (node_id, lease_until) VALUES (?, ?)"
        " ON CONFLICT (node_id) DO UPDATE SET lease_until = excluded.lease_until",
        (nodeId, formatTimestamp(leaseUntil)),
    )


def removeNode_txn(nodeId: str) -> Interaction[None]:
    yield Query("DELETE FROM presence WHERE node_id = ?", (nodeId,))
    yield Query("DELETE FROM nodes WHERE node_id = ?", (nodeId,))


def setPresence_txn(chargePointId: str, nodeId: str, at: datetime) -> Interaction[str | None]:
    rows = yield Query("SELECT node_id FROM presence WHERE charge_point_id = ?", (chargePointId,))
    yield Query(
        "INSERT INTO presence (charge_point_id, node_id, connected_at) VALUES (?, ?, ?)"
        " ON CONFLICT (charge_point_id) DO UPDATE"
        " SET node_id = excluded.node_id, connected_at = excluded.connected_at",
        (chargePointId, nodeId, formatTimestamp(at)),
    )
    return rows[0][0] if rows else None


def clearPresence_txn(chargePointId: str, nodeId: str) -> Interaction[None]:
    yield Query(
        "DELETE FROM presence WHERE charge_point_id = ? AND node_id = ?", (chargePointId, nodeId)
    )


_LIVE_PRESENCE = (
    "SELECT p.charge_point_id, p.node_id FROM presence p"
    " JOIN nodes n ON n.node_id = p.node_id WHERE n.lease_until > ?"
)


def locate_txn(chargePointId: str, now: datetime) -> Interaction[str | None]:
    rows = yield Query(
        _LIVE_PRESENCE + " AND p.charge_point_id = ?", (formatTimestamp(now), chargePointId)
    )
    return rows[0][1] if rows else None


def listPresence_txn(now: datetime) -> Interaction[dict[str, str]]:
    rows = yield Query(_LIVE_PRESENCE, (formatTimestamp(now),))
    return dict(rows)


def putClusterMessage_txn(body: str, at: datetime) -> Interaction[int]:
    rows = yield Query(
        "INSERT INTO cluster_messages (body, created_at) VALUES (?, ?) RETURNING id",
        (body, formatTimestamp(at)),
    )
    return rows[0][0]  # type: ignore[no-any-return]


def getClusterMessage_txn(messageId: int) -> Interaction[str | None]:
    rows = yield Query("SELECT body FROM cluster_messages WHERE id = ?", (messageId,))
    return rows[0][0] if rows else None


def pruneClusterMessages_txn(before: datetime) -> Interaction[None]:
    yield Query("DELETE FROM cluster_messages WHERE created_at < ?", (formatTimestamp(before),))


# Local authorization lists


def putLocalList_txn(name: str, entries: dict[str, Any], at: datetime) -> Interaction[bool]:
    values = (json.dumps(entries), formatTimestamp(at), name)
    return (
        yield from _insertOrUpdate_txn(
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
        _parseOptional(lastSync),
    )


def putInstalledLocalList_txn(installed: InstalledLocalList) -> Interaction[None]:
    columns = _INSTALLED_COLUMNS.split(", ")
    yield Query(
        f"INSERT INTO installed_local_lists ({_INSTALLED_COLUMNS})"
        f" VALUES ({_placeholders(len(columns))}) ON CONFLICT (charge_point_id) DO UPDATE SET "
        + ", ".join(f"{column} = excluded.{column}" for column in columns[1:]),
        (
            installed.chargePointId,
            int(installed.known),
            installed.listVersion,
            json.dumps(installed.entries),
            installed.reportedVersion,
            installed.maxLength,
            installed.lastResult,
            _formatOptional(installed.lastSync),
        ),
    )


# Reservations

_RESERVATION_COLUMNS = (
    "reservation_id, charge_point_id, connector_id, id_tag, parent_id_tag, expiry_date,"
    " status, updated_at, transaction_id"
)
_ACTIVE_RESERVATION = f"status IN ({_placeholders(len(ACTIVE_RESERVATION_STATUSES))})"


def _reservation(row: Row) -> Reservation:
    (
        reservationId,
        chargePointId,
        connectorId,
        idTag,
        parentIdTag,
        expiryDate,
        status,
        updatedAt,
        transactionId,
    ) = row
    return Reservation(
        reservationId=reservationId,
        chargePointId=chargePointId,
        connectorId=connectorId,
        idTag=idTag,
        expiryDate=parseTimestamp(expiryDate),
        status=status,
        updatedAt=parseTimestamp(updatedAt),
        parentIdTag=parentIdTag,
        transactionId=transactionId,
    )


def createReservation_txn(
    chargePointId: str,
    connectorId: int,
    idTag: str,
    parentIdTag: str | None,
    expiryDate: datetime,
    at: datetime,
) -> Interaction[Reservation]:
    """
    Insert under the next free id: the id sequence may run into ids that
    operators gave their own ReserveNows, which are skipped.
    """
    rows: list[Row] = []
    while not rows:
        rows = yield Query(
            "INSERT INTO reservations (charge_point_id, connector_id, id_tag, parent_id_tag,"
            " expiry_date, status, updated_at) VALUES (?, ?, ?, ?, ?, 'Requested', ?)"
            f" ON CONFLICT (reservation_id) DO NOTHING RETURNING {_RESERVATION_COLUMNS}",
            (
                chargePointId,
                connectorId,
                idTag,
                parentIdTag,
                formatTimestamp(expiryDate),
                formatTimestamp(at),
            ),
        )
    return _reservation(rows[0])


def recordReservation_txn(reservation: Reservation) -> Interaction[Reservation | None]:
    rows = yield Query(
        f"INSERT INTO reservations ({_RESERVATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"
        " ON CONFLICT (reservation_id) DO UPDATE SET charge_point_id = excluded.charge_point_id,"
        " connector_id = excluded.connector_id, id_tag = excluded.id_tag,"
        " parent_id_tag = excluded.parent_id_tag, expiry_date = excluded.expiry_date,"
        " status = excluded.status, updated_at = excluded.updated_at, transaction_id = NULL"
        " WHERE reservations.status = 'Requested'"
        " OR reservations.charge_point_id <> excluded.charge_point_id"
        " OR reservations.connector_id <> excluded.connector_id"
        " OR reservations.id_tag <> excluded.id_tag"
        " OR COALESCE(reservations.parent_id_tag, '') <> COALESCE(excluded.parent_id_tag, '')"
        " OR reservations.expiry_date <> excluded.expiry_date"
        f" RETURNING {_RESERVATION_COLUMNS}",
        (
            reservation.reservationId,
            reservation.chargePointId,
            reservation.connectorId,
            reservation.idTag,
            reservation.parentIdTag,
            formatTimestamp(reservation.expiryDate),
            reservation.status,
            formatTimestamp(reservation.updatedAt),
        ),
    )
    return _reservation(rows[0]) if rows else None


def endReservation_txn(
    reservationId: int,
    status: str,
    at: datetime,
    chargePointId: str | None,
    transactionId: int | None,
) -> Interaction[Reservation | None]:
    station = "" if chargePointId is None else " AND charge_point_id = ?"
    rows = yield Query(
        "UPDATE reservations SET status = ?, updated_at = ?, transaction_id = ?"
        f" WHERE reservation_id = ? AND {_ACTIVE_RESERVATION}{station}"
        f" RETURNING {_RESERVATION_COLUMNS}",
        (
            status,
            formatTimestamp(at),
            transactionId,
            reservationId,
            *ACTIVE_RESERVATION_STATUSES,
            *(() if chargePointId is None else (chargePointId,)),
        ),
    )
    return _reservation(rows[0]) if rows else None


def deleteRequestedReservation_txn(reservationId: int) -> Interaction[bool]:
    rows = yield Query(
        "DELETE FROM reservations WHERE reservation_id = ? AND status = 'Requested'"
        " RETURNING reservation_id",
        (reservationId,),
    )
    return bool(rows)


def getReservation_txn(reservationId: int) -> Interaction[Reservation | None]:
    rows = yield Query(
        f"SELECT {_RESERVATION_COLUMNS} FROM reservations WHERE reservation_id = ?",
        (reservationId,),
    )
    return _reservation(rows[0]) if rows else None


def listReservations_txn(
    chargePointId: str | None, active: bool | None
) -> Interaction[list[Reservation]]:
    where, params = _listingFilter(
        chargePointId, active, _ACTIVE_RESERVATION, ACTIVE_RESERVATION_STATUSES
    )
    rows = yield Query(
        f"SELECT {_RESERVATION_COLUMNS} FROM reservations{where} ORDER BY reservation_id", params
    )
    return [_reservation(row) for row in rows]


# Security


def getStationCredentials_txn(chargePointId: str) -> Interaction[StationCredentials]:
    rows = yield Query(
        "SELECT security_profile, password_hash FROM station_credentials WHERE charge_point_id = ?",
        (chargePointId,),
    )
    return (
        StationCredentials(chargePointId, *rows[0]) if rows else StationCredentials(chargePointId)
    )


def _setCredential_txn(chargePointId: str, column: str, value: Any) -> Interaction[None]:
    yield Query(
        f"INSERT INTO station_credentials (charge_point_id, {column}) VALUES (?, ?)"
        f" ON CONFLICT (charge_point_id) DO UPDATE SET {column} = excluded.{column}",
        (chargePointId, value),
    )


def setSecurityProfile_txn(chargePointId: str, securityProfile: int | None) -> Interaction[None]:
    yield from _setCredential_txn(chargePointId, "security_profile", securityProfile)


def setPasswordHash_txn(chargePointId: str, passwordHash: str) -> Interaction[None]:
    yield from _setCredential_txn(chargePointId, "password_hash", passwordHash)


_API_TOKEN_COLUMNS = "name, role, created_at, revoked_at"


def _apiToken(row: Row) -> ApiToken:
    name, role, createdAt, revokedAt = row
    return ApiToken(name, role, parseTimestamp(createdAt), _parseOptional(revokedAt))


def createApiToken_txn(name: str, tokenHash: str, role: str, at: datetime) -> Interaction[bool]:
    rows = yield Query(
        "INSERT INTO api_tokens (name, token_hash, role, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO NOTHING RETURNING name",
        (name, tokenHash, role, formatTimestamp(at)),
    )
    return bool(rows)


def getApiToken_txn(tokenHash: str) -> Interaction[ApiToken | None]:
    rows = yield Query(
        f"SELECT {_API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?", (tokenHash,)
    )
    return _apiToken(rows[0]) if rows else None


def revokeApiToken_txn(name: str, at: datetime) -> Interaction[bool]:
    rows = yield Query(
        "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL RETURNING name",
        (formatTimestamp(at), name),
    )
    return bool(rows)


def listApiTokens_txn() -> Interaction[list[ApiToken]]:
    rows = yield Query(f"SELECT {_API_TOKEN_COLUMNS} FROM api_tokens ORDER BY name")
    return [_apiToken(row) for row in rows]


def recordAudit_txn(entry: AuditEntry) -> Interaction[None]:
    yield Query(
        "INSERT INTO audit_log (timestamp, who, method, path, status) VALUES (?, ?, ?, ?, ?)",
        (formatTimestamp(entry.timestamp), entry.who, entry.method, entry.path, entry.status),
    )


def listAudit_txn(limit: int) -> Interaction[list[AuditEntry]]:
    rows = yield Query(
        "SELECT timestamp, who, method, path, status FROM audit_log ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [
        AuditEntry(parseTimestamp(timestamp), who, method, path, status)
        for timestamp, who, method, path, status in reversed(rows)
    ]


# Firmware management

_FIRMWARE_JOB_COLUMNS = (
    "job_id, charge_point_id, kind, status, created_at, updated_at, request, file_name,"
    " deadline, rollout_id"
)


def _firmwareJobs_txn(where: str, params: Sequence[Any]) -> Interaction[list[FirmwareJob]]:
    """
    @param where: the condition on C{firmware_jobs} (columns qualified with C{j.}).
    @return: the jobs it selects, by job id, each with its history.
    """
    rows = yield Query(
        f"SELECT {_FIRMWARE_JOB_COLUMNS} FROM firmware_jobs j WHERE {where} ORDER BY job_id",
        params,
    )
    events = yield Query(
        "SELECT job_id, event, at, detail FROM firmware_job_events WHERE job_id IN"
        f" (SELECT job_id FROM firmware_jobs j WHERE {where}) ORDER BY id",
        params,
    )
    history: defaultdict[int, list[FirmwareJobEvent]] = defaultdict(list)
    for jobId, event, eventAt, detail in events:
        history[jobId].append(FirmwareJobEvent(event, parseTimestamp(eventAt), detail))
    return [
        FirmwareJob(
            jobId=jobId,
            chargePointId=chargePointId,
            kind=kind,
            status=status,
            createdAt=parseTimestamp(createdAt),
            updatedAt=parseTimestamp(updatedAt),
            request=_loadOptional(request),
            fileName=fileName,
            deadline=_parseOptional(deadline),
            rolloutId=rolloutId,
            history=tuple(history[jobId]),
        )
        for (
            jobId,
            chargePointId,
            kind,
            status,
            createdAt,
            updatedAt,
            request,
            fileName,
            deadline,
            rolloutId,
        ) in rows
    ]


def _firmwareJob_txn(jobId: int) -> Interaction[FirmwareJob | None]:
    jobs = yield from _firmwareJobs_txn("j.job_id = ?", (jobId,))
    return jobs[0] if jobs else None


def createFirmwareJob_txn(
    chargePointId: str,
    kind: str,
    request: dict[str, Any] | None,
    status: str,
    at: datetime,
    deadline: datetime | None,
    uploadToken: str | None,
    rolloutId: int | None,
) -> Interaction[FirmwareJob]:
    stamp = formatTimestamp(at)
    rows = yield Query(
        "INSERT INTO firmware_jobs (charge_point_id, kind, status, request, upload_token,"
        " rollout_id, created_at, updated_at, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING job_id",
        (
            chargePointId,
            kind,
            status,
            _dumpOptional(request),
            uploadToken,
            rolloutId,
            stamp,
            stamp,
            _formatOptional(deadline),
        ),
    )
    jobId = rows[0][0]
    yield Query(
        "INSERT INTO firmware_job_events (job_id, event, at) VALUES (?, ?, ?)",
        (jobId, status, stamp),
    )
    job = yield from _firmwareJob_txn(jobId)
    assert job is not None
    return job


def recordFirmwareJobEvent_txn(
    jobId: int,
    event: str,
    at: datetime,
    deadline: datetime | None,
    detail: str | None,
    fileName: str | None,
) -> Interaction[FirmwareJob | None]:
    """
    Add an event to a job's history; a status event also becomes its status.
    """
    rows = yield Query("SELECT kind FROM firmware_jobs WHERE job_id = ?", (jobId,))
    if not rows:
        return None
    stamp = formatTimestamp(at)
    yield Query(
        "INSERT INTO firmware_job_events (job_id, event, at, detail) VALUES (?, ?, ?, ?)",
        (jobId, event, stamp, detail),
    )
    isStatus = event in FIRMWARE_JOB_STATUSES[rows[0][0]]
    yield Query(
        "UPDATE firmware_jobs SET status = CASE WHEN ? = 1 THEN ? ELSE status END,"
        " updated_at = ?, deadline = ?, file_name = COALESCE(?, file_name) WHERE job_id = ?",
        (int(isStatus), event, stamp, _formatOptional(deadline), fileName, jobId),
    )
    return (yield from _firmwareJob_txn(jobId))


def reportFirmwareJobStatus_txn(
    chargePointId: str, kind: str, status: str, at: datetime, deadline: datetime | None
) -> Interaction[FirmwareJob]:
    """
    The station's latest job of C{kind} takes the status, unless it has
    completed; then (or with no job) the station started one of its own.
    """
    rows = yield Query(
        "SELECT job_id, status FROM firmware_jobs WHERE charge_point_id = ? AND kind = ?"
        " ORDER BY job_id DESC LIMIT 1",
        (chargePointId, kind),
    )
    if rows and rows[0][1] not in COMPLETED_FIRMWARE_JOB_STATUSES:
        job = yield from recordFirmwareJobEvent_txn(rows[0][0], status, at, deadline, None, None)
        assert job is not None
        return job
    return (
        yield from createFirmwareJob_txn(
            chargePointId, kind, None, status, at, deadline, None, None
        )
    )


def listFirmwareJobs_txn(
    chargePointId: str | None, kind: str | None, rolloutId: int | None
) -> Interaction[list[FirmwareJob]]:
    conditions = ["1 = 1"]
    params: list[Any] = []
    for column, value in (
        ("charge_point_id", chargePointId),
        ("kind", kind),
        ("rollout_id", rolloutId),
    ):
        if value is not None:
            conditions.append(f"j.{column} = ?")
            params.append(value)
    return (yield from _firmwareJobs_txn(" AND ".join(conditions), params))


def findUploadJob_txn(uploadToken: str) -> Interaction[FirmwareJob | None]:
    jobs = yield from _firmwareJobs_txn("j.upload_token = ?", (uploadToken,))
    return jobs[0] if jobs else None


def timeOutFirmwareJobs_txn(now: datetime) -> Interaction[list[FirmwareJob]]:
    stamp = formatTimestamp(now)
    rows = yield Query(
        "UPDATE firmware_jobs SET status = 'TimedOut', updated_at = ?, deadline = NULL"
        " WHERE deadline IS NOT NULL AND deadline <= ? RETURNING job_id",
        (stamp, stamp),
    )
    if not rows:
        return []
    yield Query(
        "INSERT INTO firmware_job_events (job_id, event, at) VALUES (?, 'TimedOut', ?)",
        [(jobId, stamp) for (jobId,) in rows],
        many=True,
    )
    ids = [jobId for (jobId,) in rows]
    return (yield from _firmwareJobs_txn(f"j.job_id IN ({_placeholders(len(ids))})", ids))


def putFirmwareImage_txn(image: FirmwareImage) -> Interaction[bool]:
    values = (image.size, image.sha256, formatTimestamp(image.uploadedAt), image.name)
    return (
        yield from _insertOrUpdate_txn(
            Query(
                "INSERT INTO firmware_images (size, sha256, uploaded_at, name) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING RETURNING name",
                values,
            ),
            Query(
                "UPDATE firmware_images SET size = ?, sha256 = ?, uploaded_at = ? WHERE name = ?",
                values,
            ),
        )
    )


def _firmwareImages_txn(where: str, params: Sequence[Any]) -> Interaction[list[FirmwareImage]]:
    rows = yield Query(
        f"SELECT name, size, sha256, uploaded_at FROM firmware_images{where} ORDER BY name", params
    )
    return [
        FirmwareImage(name, size, sha256, parseTimestamp(uploadedAt))
        for name, size, sha256, uploadedAt in rows
    ]


def recordDiagnosticsFile_txn(file: DiagnosticsFile) -> Interaction[None]:
    yield Query(
        "INSERT INTO diagnostics_files (charge_point_id, file_name, size, sha256, uploaded_at,"
        " job_id) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (charge_point_id, file_name) DO UPDATE"
        " SET size = excluded.size, sha256 = excluded.sha256,"
        " uploaded_at = excluded.uploaded_at, job_id = excluded.job_id",
        (
            file.chargePointId,
            file.fileName,
            file.size,
            file.sha256,
            formatTimestamp(file.uploadedAt),
            file.jobId,
        ),
    )


def listDiagnosticsFiles_txn(chargePointId: str) -> Interaction[list[DiagnosticsFile]]:
    rows = yield Query(
        "SELECT charge_point_id, file_name, size, sha256, uploaded_at, job_id"
        " FROM diagnostics_files WHERE charge_point_id = ? ORDER BY uploaded_at, file_name",
        (chargePointId,),
    )
    return [
        DiagnosticsFile(chargePointId, fileName, size, sha256, parseTimestamp(uploadedAt), jobId)
        for chargePointId, fileName, size, sha256, uploadedAt, jobId in rows
    ]


_ROLLOUT_COLUMNS = "rollout_id, request, stations, pace, created_at"


def _rollout(row: Row) -> FirmwareRollout:
    rolloutId, request, stations, pace, createdAt = row
    return FirmwareRollout(
        rolloutId, json.loads(request), tuple(json.loads(stations)), pace, parseTimestamp(createdAt)
    )


def createFirmwareRollout_txn(
    request: dict[str, Any], stations: Sequence[str], pace: float, at: datetime
) -> Interaction[FirmwareRollout]:
    rows = yield Query(
        "INSERT INTO firmware_rollouts (request, stations, pace, created_at) VALUES (?, ?, ?, ?)"
        f" RETURNING {_ROLLOUT_COLUMNS}",
        (json.dumps(request), json.dumps(list(stations)), pace, formatTimestamp(at)),
    )
    return _rollout(rows[0])


def listFirmwareRollouts_txn(rolloutId: int | None) -> Interaction[list[FirmwareRollout]]:
    where, params = ("", ()) if rolloutId is None else (" WHERE rollout_id = ?", (rolloutId,))
    rows = yield Query(
        f"SELECT {_ROLLOUT_COLUMNS} FROM firmware_rollouts{where} ORDER BY rollout_id", params
    )
    return [_rollout(row) for row in rows]


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
        f"INSERT INTO charging_profiles ({_CHARGING_PROFILE_COLUMNS}) VALUES ({_placeholders(8)})",
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


@implementer(IStore)
class Store:
    """
    The L{IStore} of one database: each method runs one interaction as one
    transaction, committed before the Deferred fires; database errors fail
    the Deferred.

    @param runner: runs interactions against the database.
    """

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    # IChargePointStore

    def getChargePoint(self, chargePointId: str) -> Deferred[ChargePoint | None]:
        return self._runner.run(getChargePoint_txn(chargePointId))

    def listChargePoints(self) -> Deferred[list[ChargePoint]]:
        return self._runner.run(listChargePoints_txn())

    def setRegistration(self, chargePointId: str, registration: str) -> Deferred[bool]:
        return self._runner.run(setRegistration_txn(chargePointId, registration))

    def deleteChargePoint(self, chargePointId: str) -> Deferred[bool]:
        return self._runner.run(deleteChargePoint_txn(chargePointId))

    def recordBootNotification(
        self, chargePointId: str, boot: BootInfo, at: datetime, registrationIfNew: str | None
    ) -> Deferred[ChargePoint | None]:
        return self._runner.run(
            recordBootNotification_txn(chargePointId, boot, at, registrationIfNew)
        )

    def recordSeen(self, seen: Mapping[str, datetime]) -> Deferred[None]:
        return self._runner.run(recordSeen_txn(seen))

    # IIdTagStore

    def getIdTag(self, idTag: str) -> Deferred[IdTag | None]:
        return self._runner.run(getIdTag_txn(idTag))

    def listIdTags(self) -> Deferred[list[IdTag]]:
        return self._runner.run(listIdTags_txn())

    def putIdTag(self, idTag: IdTag) -> Deferred[bool]:
        return self._runner.run(putIdTag_txn(idTag))

    def deleteIdTag(self, idTag: str) -> Deferred[bool]:
        return self._runner.run(deleteIdTag_txn(idTag))

    # ITransactionStore

    def startTransaction(
        self,
        chargePointId: str,
        connectorId: int,
        idTag: str,
        meterStart: int,
        timestamp: datetime,
        reservationId: int | None,
        idTagStatus: str,
    ) -> Deferred[Transaction]:
        return self._runner.run(
            startTransaction_txn(
                chargePointId, connectorId, idTag, meterStart, timestamp, reservationId, idTagStatus
            )
        )

    def stopTransaction(
        self,
        chargePointId: str,
        transactionId: int,
        idTag: str | None,
        meterStop: int,
        timestamp: datetime,
        reason: str | None,
        transactionData: Sequence[MeterValue],
    ) -> Deferred[Transaction | None]:
        return self._runner.run(
            stopTransaction_txn(
                chargePointId, transactionId, idTag, meterStop, timestamp, reason, transactionData
            )
        )

    def addMeterValues(
        self,
        chargePointId: str,
        connectorId: int,
        transactionId: int | None,
        meterValues: Sequence[MeterValue],
    ) -> Deferred[None]:
        return self._runner.run(
            addMeterValues_txn(chargePointId, connectorId, transactionId, meterValues)
        )

    def getTransaction(self, transactionId: int) -> Deferred[Transaction | None]:
        return self._runner.run(getTransaction_txn(transactionId))

    def listTransactions(
        self, chargePointId: str | None = None, active: bool | None = None
    ) -> Deferred[list[Transaction]]:
        return self._runner.run(listTransactions_txn(chargePointId, active))

    def getMeterValues(self, transactionId: int) -> Deferred[list[MeterValue]]:
        return self._runner.run(getMeterValues_txn(transactionId))

    def listUnmatchedStops(self, chargePointId: str) -> Deferred[list[UnmatchedStop]]:
        return self._runner.run(listUnmatchedStops_txn(chargePointId))

    # IStatusStore

    def recordStatusNotification(self, status: ConnectorStatus) -> Deferred[None]:
        return self._runner.run(recordStatusNotification_txn(status))

    def getConnectorStatuses(self, chargePointId: str) -> Deferred[list[ConnectorStatus]]:
        return self._runner.run(getConnectorStatuses_txn(chargePointId))

    def getStatusHistory(
        self, chargePointId: str, connectorId: int | None = None
    ) -> Deferred[list[ConnectorStatus]]:
        return self._runner.run(getStatusHistory_txn(chargePointId, connectorId))

    # ICallStore

    def recordCall(self, call: CallRecord) -> Deferred[None]:
        return self._runner.run(recordCall_txn(call))

    def listCalls(self, chargePointId: str) -> Deferred[list[CallRecord]]:
        return self._runner.run(listCalls_txn(chargePointId))

    # IMessageLogStore

    def appendMessages(self, messages: Sequence[LoggedMessage]) -> Deferred[None]:
        return self._runner.run(appendMessages_txn(messages))

    def listMessages(self, chargePointId: str, limit: int) -> Deferred[list[LoggedMessage]]:
        return self._runner.run(listMessages_txn(chargePointId, limit))

    def pruneMessages(self, before: datetime) -> Deferred[int]:
        return self._runner.run(pruneMessages_txn(before))

    # IClusterStore

    def renewNode(self, nodeId: str, leaseUntil: datetime) -> Deferred[None]:
        return self._runner.run(renewNode_txn(nodeId, leaseUntil))

    def removeNode(self, nodeId: str) -> Deferred[None]:
        return self._runner.run(removeNode_txn(nodeId))

    def setPresence(self, chargePointId: str, nodeId: str, at: datetime) -> Deferred[str | None]:
        return self._runner.run(setPresence_txn(chargePointId, nodeId, at))

    def clearPresence(self, chargePointId: str, nodeId: str) -> Deferred[None]:
        return self._runner.run(clearPresence_txn(chargePointId, nodeId))

    def locate(self, chargePointId: str, now: datetime) -> Deferred[str | None]:
        return self._runner.run(locate_txn(chargePointId, now))

    def listPresence(self, now: datetime) -> Deferred[dict[str, str]]:
        return self._runner.run(listPresence_txn(now))

    def putClusterMessage(self, body: str, at: datetime) -> Deferred[int]:
        return self._runner.run(putClusterMessage_txn(body, at))

    def getClusterMessage(self, messageId: int) -> Deferred[str | None]:
        return self._runner.run(getClusterMessage_txn(messageId))

    def pruneClusterMessages(self, before: datetime) -> Deferred[None]:
        return self._runner.run(pruneClusterMessages_txn(before))

    # ILocalListStore

    def putLocalList(self, name: str, entries: dict[str, Any], at: datetime) -> Deferred[bool]:
        return self._runner.run(putLocalList_txn(name, entries, at))

    def getLocalList(self, name: str) -> Deferred[dict[str, Any] | None]:
        return self._runner.run(getLocalList_txn(name))

    def listLocalLists(self) -> Deferred[list[str]]:
        return self._runner.run(listLocalLists_txn())

    def deleteLocalList(self, name: str) -> Deferred[bool]:
        return self._runner.run(deleteLocalList_txn(name))

    def assignLocalList(self, chargePointId: str, name: str) -> Deferred[None]:
        return self._runner.run(assignLocalList_txn(chargePointId, name))

    def getAssignment(self, chargePointId: str) -> Deferred[str | None]:
        return self._runner.run(getAssignment_txn(chargePointId))

    def listMembers(self, name: str) -> Deferred[list[str]]:
        return self._runner.run(listMembers_txn(name))

    def getInstalledLocalList(self, chargePointId: str) -> Deferred[InstalledLocalList]:
        return self._runner.run(getInstalledLocalList_txn(chargePointId))

    def putInstalledLocalList(self, installed: InstalledLocalList) -> Deferred[None]:
        return self._runner.run(putInstalledLocalList_txn(installed))

    # IReservationStore

    def createReservation(
        self,
        chargePointId: str,
        connectorId: int,
        idTag: str,
        parentIdTag: str | None,
        expiryDate: datetime,
        at: datetime,
    ) -> Deferred[Reservation]:
        return self._runner.run(
            createReservation_txn(chargePointId, connectorId, idTag, parentIdTag, expiryDate, at)
        )

    def recordReservation(self, reservation: Reservation) -> Deferred[Reservation | None]:
        return self._runner.run(recordReservation_txn(reservation))

    def endReservation(
        self,
        reservationId: int,
        status: str,
        at: datetime,
        chargePointId: str | None = None,
        transactionId: int | None = None,
    ) -> Deferred[Reservation | None]:
        return self._runner.run(
            endReservation_txn(reservationId, status, at, chargePointId, transactionId)
        )

    def deleteRequestedReservation(self, reservationId: int) -> Deferred[bool]:
        return self._runner.run(deleteRequestedReservation_txn(reservationId))

    def getReservation(self, reservationId: int) -> Deferred[Reservation | None]:
        return self._runner.run(getReservation_txn(reservationId))

    def listReservations(
        self, chargePointId: str | None = None, active: bool | None = None
    ) -> Deferred[list[Reservation]]:
        return self._runner.run(listReservations_txn(chargePointId, active))

    # ISecurityStore

    def getStationCredentials(self, chargePointId: str) -> Deferred[StationCredentials]:
        return self._runner.run(getStationCredentials_txn(chargePointId))

    def setSecurityProfile(self, chargePointId: str, securityProfile: int | None) -> Deferred[None]:
        return self._runner.run(setSecurityProfile_txn(chargePointId, securityProfile))

    def setPasswordHash(self, chargePointId: str, passwordHash: str) -> Deferred[None]:
        return self._runner.run(setPasswordHash_txn(chargePointId, passwordHash))

    def createApiToken(self, name: str, tokenHash: str, role: str, at: datetime) -> Deferred[bool]:
        return self._runner.run(createApiToken_txn(name, tokenHash, role, at))

    def getApiToken(self, tokenHash: str) -> Deferred[ApiToken | None]:
        return self._runner.run(getApiToken_txn(tokenHash))

    def revokeApiToken(self, name: str, at: datetime) -> Deferred[bool]:
        return self._runner.run(revokeApiToken_txn(name, at))

    def listApiTokens(self) -> Deferred[list[ApiToken]]:
        return self._runner.run(listApiTokens_txn())

    def recordAudit(self, entry: AuditEntry) -> Deferred[None]:
        return self._runner.run(recordAudit_txn(entry))

    def listAudit(self, limit: int) -> Deferred[list[AuditEntry]]:
        return self._runner.run(listAudit_txn(limit))

    # IFirmwareStore

    def createFirmwareJob(
        self,
        chargePointId: str,
        kind: str,
        request: dict[str, Any] | None,
        at: datetime,
        deadline: datetime,
        uploadToken: str | None = None,
        rolloutId: int | None = None,
    ) -> Deferred[FirmwareJob]:
        return self._runner.run(
            createFirmwareJob_txn(
                chargePointId, kind, request, "Requested", at, deadline, uploadToken, rolloutId
            )
        )

    def recordFirmwareJobEvent(
        self,
        jobId: int,
        event: str,
        at: datetime,
        deadline: datetime | None,
        detail: str | None = None,
        fileName: str | None = None,
    ) -> Deferred[FirmwareJob | None]:
        return self._runner.run(
            recordFirmwareJobEvent_txn(jobId, event, at, deadline, detail, fileName)
        )

    def reportFirmwareJobStatus(
        self, chargePointId: str, kind: str, status: str, at: datetime, deadline: datetime | None
    ) -> Deferred[FirmwareJob]:
        return self._runner.run(
            reportFirmwareJobStatus_txn(chargePointId, kind, status, at, deadline)
        )

    def getFirmwareJob(self, jobId: int) -> Deferred[FirmwareJob | None]:
        return self._runner.run(_firmwareJob_txn(jobId))

    def findUploadJob(self, uploadToken: str) -> Deferred[FirmwareJob | None]:
        return self._runner.run(findUploadJob_txn(uploadToken))

    def listFirmwareJobs(
        self,
        chargePointId: str | None = None,
        kind: str | None = None,
        rolloutId: int | None = None,
    ) -> Deferred[list[FirmwareJob]]:
        return self._runner.run(listFirmwareJobs_txn(chargePointId, kind, rolloutId))

    def timeOutFirmwareJobs(self, now: datetime) -> Deferred[list[FirmwareJob]]:
        return self._runner.run(timeOutFirmwareJobs_txn(now))

    def putFirmwareImage(self, image: FirmwareImage) -> Deferred[bool]:
        return self._runner.run(putFirmwareImage_txn(image))

    def getFirmwareImage(self, name: str) -> Deferred[FirmwareImage | None]:
        d = self._runner.run(_firmwareImages_txn(" WHERE name = ?", (name,)))
        return d.addCallback(lambda images: images[0] if images else None)

    def listFirmwareImages(self) -> Deferred[list[FirmwareImage]]:
        return self._runner.run(_firmwareImages_txn("", ()))

    def recordDiagnosticsFile(self, file: DiagnosticsFile) -> Deferred[None]:
        return self._runner.run(recordDiagnosticsFile_txn(file))

    def listDiagnosticsFiles(self, chargePointId: str) -> Deferred[list[DiagnosticsFile]]:
        return self._runner.run(listDiagnosticsFiles_txn(chargePointId))

    def createFirmwareRollout(
        self, request: dict[str, Any], stations: Sequence[str], pace: float, at: datetime
    ) -> Deferred[FirmwareRollout]:
        return self._runner.run(createFirmwareRollout_txn(request, stations, pace, at))

    def getFirmwareRollout(self, rolloutId: int) -> Deferred[FirmwareRollout | None]:
        d = self._runner.run(listFirmwareRollouts_txn(rolloutId))
        return d.addCallback(lambda rollouts: rollouts[0] if rollouts else None)

    def listFirmwareRollouts(self) -> Deferred[list[FirmwareRollout]]:
        return self._runner.run(listFirmwareRollouts_txn(None))

    # IChargingProfileStore

    def installChargingProfile(
        self, installed: InstalledChargingProfile
    ) -> Deferred[list[InstalledChargingProfile]]:
        return self._runner.run(installChargingProfile_txn(installed))

    def clearChargingProfiles(
        self,
        chargePointId: str,
        chargingProfileId: int | None = None,
        connectorId: int | None = None,
        purpose: str | None = None,
        stackLevel: int | None = None,
        transactionId: int | None = None,
    ) -> Deferred[list[InstalledChargingProfile]]:
        return self._runner.run(
            clearChargingProfiles_txn(
                chargePointId, chargingProfileId, connectorId, purpose, stackLevel, transactionId
            )
        )

    def bindChargingProfiles(
        self, chargePointId: str, connectorId: int, transactionId: int
    ) -> Deferred[list[InstalledChargingProfile]]:
        return self._runner.run(bindChargingProfiles_txn(chargePointId, connectorId, transactionId))

    def listChargingProfiles(
        self, chargePointId: str, connectorId: int | None = None
    ) -> Deferred[list[InstalledChargingProfile]]:
        return self._runner.run(listChargingProfiles_txn(chargePointId, connectorId))

    def close(self) -> Deferred[None]:
        return self._runner.close()
