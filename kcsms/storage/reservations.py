"""
Reservations: the interactions (C{_txn} generators) of L{kcsms.storage.store.Store}.
"""

from datetime import datetime

from kcsms.model import (
    ACTIVE_RESERVATION_STATUSES,
    Reservation,
)
from kcsms.storage.common import placeholders
from kcsms.storage.sql import Interaction, Query, Row
from kcsms.storage.transactions import _listingFilter
from kcsms.timestamps import formatTimestamp, parseTimestamp

# Reservations

_RESERVATION_COLUMNS = (
    "reservation_id, charge_point_id, connector_id, id_tag, parent_id_tag, expiry_date,"
    " status, updated_at, transaction_id"
)
_ACTIVE_RESERVATION = f"status IN ({placeholders(len(ACTIVE_RESERVATION_STATUSES))})"


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
