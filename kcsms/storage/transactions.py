"""
Transactions, meter values, connector statuses and calls: the interactions (C{_txn} generators) of L{kcsms.storage.store.Store}.
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from kcsms.model import (
    CallRecord,
    ConnectorStatus,
    IdTag,
    MeterValue,
    SampledValue,
    Transaction,
    UnmatchedStop,
)
from kcsms.storage.chargepoints import getIdTag_txn
from kcsms.storage.common import (
    dumpOptional,
    formatOptional,
    insertRows_txn,
    loadOptional,
    parseOptional,
)
from kcsms.storage.sql import Interaction, Query, Row
from kcsms.timestamps import formatTimestamp, parseTimestamp

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
        stopTimestamp=parseOptional(stopTimestamp),
        stopReason=stopReason,
        stopIdTag=stopIdTag,
    )


#: SampledValue attributes, which are also their columns.
_SAMPLED_VALUE_FIELDS = ("value", "context", "format", "measurand", "phase", "location", "unit")
#: A SampledValue's attributes, in that order.
_sampledFields = attrgetter(*_SAMPLED_VALUE_FIELDS)
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
    rows = []
    for meterValue in meterValues:
        # Once per MeterValue: its samples share its timestamp.
        stamp = formatTimestamp(meterValue.timestamp)
        rows += [
            (
                chargePointId,
                connectorId,
                transactionId,
                stamp,
                index,
                *_sampledFields(sampled),
            )
            for index, sampled in enumerate(meterValue.sampledValue)
        ]
    yield from insertRows_txn(
        "INSERT INTO meter_values (charge_point_id, connector_id, transaction_id,"
        f" {_METER_VALUE_COLUMNS})",
        rows,
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


def idTagStatus(tag: IdTag | None, now: datetime) -> str:
    """
    @return: the status a transaction records for an id tag at C{now}
        (C{Invalid} when there is no such id tag).
    """
    return "Invalid" if tag is None else tag.statusAt(now)


def startAuthorizedTransaction_txn(
    chargePointId: str,
    connectorId: int,
    idTag: str,
    meterStart: int,
    timestamp: datetime,
    reservationId: int | None,
    now: datetime,
) -> Interaction[tuple[IdTag | None, Transaction]]:
    tag = yield from getIdTag_txn(idTag)
    status = idTagStatus(tag, now)
    transaction = yield from startTransaction_txn(
        chargePointId, connectorId, idTag, meterStart, timestamp, reservationId, status
    )
    return tag, transaction


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
    update = (
        "UPDATE transactions SET meter_stop = ?, stop_timestamp = ?, stop_reason = ?,"
        " stop_id_tag = ? WHERE transaction_id = ? AND charge_point_id = ?"
    )
    values = (meterStop, stopped, reason, idTag, transactionId, chargePointId)
    # The first stop, the usual case, is one statement; a retry finds the
    # transaction already stopped and overwrites the stop without its data.
    rows = yield Query(
        f"{update} AND stop_timestamp IS NULL RETURNING {_TRANSACTION_COLUMNS}", values
    )
    if rows:
        transaction = _transaction(rows[0])
        yield from addMeterValues_txn(
            chargePointId, transaction.connectorId, transactionId, transactionData
        )
        return transaction
    rows = yield Query(f"{update} RETURNING {_TRANSACTION_COLUMNS}", values)
    if rows:
        return _transaction(rows[0])
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


def stopAuthorizedTransaction_txn(
    chargePointId: str,
    transactionId: int,
    idTag: str | None,
    meterStop: int,
    timestamp: datetime,
    reason: str | None,
    transactionData: Sequence[MeterValue],
) -> Interaction[tuple[Transaction | None, IdTag | None]]:
    transaction = yield from stopTransaction_txn(
        chargePointId, transactionId, idTag, meterStop, timestamp, reason, transactionData
    )
    tag = None if idTag is None else (yield from getIdTag_txn(idTag))
    return transaction, tag


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
        timestamp=parseOptional(timestamp),
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
        formatOptional(status.timestamp),
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
        answeredAt=parseOptional(answeredAt),
        response=loadOptional(response),
        error=loadOptional(error),
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
            formatOptional(call.answeredAt),
            dumpOptional(call.response),
            dumpOptional(call.error),
        ),
    )


def listCalls_txn(chargePointId: str) -> Interaction[list[CallRecord]]:
    rows = yield Query(
        f"SELECT {_CALL_COLUMNS} FROM calls WHERE charge_point_id = ? ORDER BY requested_at, id",
        (chargePointId,),
    )
    return [_callRecord(row) for row in rows]
