"""
The store: every L{kcsms.interfaces.IStore} method as one interaction (a
C{_txn} generator of L{kcsms.storage.sql.Query}s), run as one database
transaction by whichever L{kcsms.storage.sql.Runner} the engine provides.

Rows become the value objects of L{kcsms.model}; times are stored as text in
L{kcsms.timestamps.formatTimestamp}'s format, so that they sort as text.
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from twisted.internet.defer import Deferred
from zope.interface import implementer

from kcsms.interfaces import IStore
from kcsms.model import (
    BootInfo,
    CallRecord,
    ChargePoint,
    ConnectorStatus,
    IdTag,
    LoggedMessage,
    MeterValue,
    SampledValue,
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


def recordSeen_txn(chargePointId: str, at: datetime) -> Interaction[None]:
    yield Query(
        "UPDATE charge_points SET last_seen = ? WHERE charge_point_id = ?",
        (formatTimestamp(at), chargePointId),
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


def listTransactions_txn(
    chargePointId: str | None, active: bool | None
) -> Interaction[list[Transaction]]:
    conditions = []
    params = []
    if chargePointId is not None:
        conditions.append("charge_point_id = ?")
        params.append(chargePointId)
    if active is not None:
        conditions.append("stop_timestamp IS NULL" if active else "stop_timestamp IS NOT NULL")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
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

    def recordSeen(self, chargePointId: str, at: datetime) -> Deferred[None]:
        return self._runner.run(recordSeen_txn(chargePointId, at))

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

    def close(self) -> Deferred[None]:
        return self._runner.close()
