"""
Operator API routes of the Reservation profile: make a reservation (which
sends ReserveNow), list and show reservations, and cancel one (which sends
CancelReservation).
"""

from datetime import datetime, timedelta
from typing import Any

from twisted.web.server import Request

from kcsms.api.resource import readJson
from kcsms.api.router import ApiError, QueryParameter, route
from kcsms.api.validation import (
    CALL_RESPONSES,
    MAX_ID_TAG_LENGTH,
    booleanArgument,
    callFailure,
    checkFields,
    isInteger,
    optionalString,
    queryArgument,
)
from kcsms.errors import CallFailed
from kcsms.model import RESERVATION_STATUSES, Reservation
from kcsms.protocol import MAX_CHARGEPOINT_ID_LENGTH
from kcsms.timestamps import formatTimestamp, parseTimestamp

__all__ = ["ReservationApi"]

_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}
_TIME = {"type": "string", "format": "date-time"}


def _reservationJson(reservation: Reservation) -> dict[str, Any]:
    return {
        "reservationId": reservation.reservationId,
        "chargePointId": reservation.chargePointId,
        "connectorId": reservation.connectorId,
        "idTag": reservation.idTag,
        "parentIdTag": reservation.parentIdTag,
        "expiryDate": formatTimestamp(reservation.expiryDate),
        "status": reservation.status,
        "transactionId": reservation.transactionId,
        "updatedAt": formatTimestamp(reservation.updatedAt),
    }


def _requiredString(body: dict[str, Any], name: str, maxLength: int) -> str:
    value = optionalString(body, name, maxLength)
    if value is None:
        raise ApiError(400, "BadRequest", f"{name} must be a string of 1 to {maxLength} characters")
    return value


def _expiryDate(body: dict[str, Any], now: datetime) -> datetime:
    """
    @return: the expiry date from C{expiryDate} or C{expiresInSeconds}, in the future.
    @raise ApiError: 400 unless exactly one of them is given and valid.
    """
    if ("expiryDate" in body) == ("expiresInSeconds" in body):
        raise ApiError(400, "BadRequest", "give either expiryDate or expiresInSeconds")
    if "expiresInSeconds" in body:
        seconds = body["expiresInSeconds"]
        if not isInteger(seconds) or seconds <= 0:
            raise ApiError(400, "BadRequest", "expiresInSeconds must be a positive whole number")
        return now + timedelta(seconds=seconds)
    try:
        expiryDate = parseTimestamp(body["expiryDate"])
    except (TypeError, ValueError):
        raise ApiError(400, "BadRequest", "expiryDate must be an ISO 8601 date-time") from None
    if expiryDate <= now:
        raise ApiError(400, "BadRequest", "expiryDate must be in the future")
    return expiryDate


def _reservationId(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ApiError(400, "BadRequest", "a reservationId is an integer") from None


class ReservationApi:
    """
    The routes; C{profile} is the L{kcsms.profiles.reservation.ReservationProfile}.
    """

    schemas = {
        "Reservation": {
            "type": "object",
            "required": [
                "reservationId",
                "chargePointId",
                "connectorId",
                "idTag",
                "expiryDate",
                "status",
            ],
            "properties": {
                "reservationId": _INTEGER,
                "chargePointId": _STRING,
                "connectorId": _INTEGER,
                "idTag": _STRING,
                "parentIdTag": {**_STRING, "nullable": True},
                "expiryDate": _TIME,
                "status": {
                    "type": "string",
                    "enum": list(RESERVATION_STATUSES),
                    "description": "Requested while ReserveNow awaits the station's answer, "
                    "then the station's answer; an accepted reservation ends as Used, "
                    "Cancelled or Expired",
                },
                "transactionId": {**_INTEGER, "nullable": True},
                "updatedAt": _TIME,
            },
        },
        "ReservationList": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Reservation"},
        },
        "ReservationRequest": {
            "type": "object",
            "description": "give either expiryDate or expiresInSeconds",
            "required": ["chargePointId", "connectorId", "idTag"],
            "properties": {
                "chargePointId": _STRING,
                "connectorId": {**_INTEGER, "minimum": 0, "description": "0 for the station"},
                "idTag": {**_STRING, "maxLength": MAX_ID_TAG_LENGTH},
                "parentIdTag": {**_STRING, "maxLength": MAX_ID_TAG_LENGTH},
                "expiryDate": _TIME,
                "expiresInSeconds": {**_INTEGER, "minimum": 1},
            },
        },
        "Cancellation": {
            "type": "object",
            "required": ["status", "reservation"],
            "properties": {
                "status": {"type": "string", "enum": ["Accepted", "Rejected"]},
                "reservation": {"$ref": "#/components/schemas/Reservation"},
            },
        },
    }

    def __init__(self, profile: Any) -> None:
        self.profile = profile

    @property
    def _store(self) -> Any:
        return self.profile.centralSystem.store

    async def _known(self, reservationId: str) -> Reservation:
        reservation = await self._store.getReservation(_reservationId(reservationId))
        if reservation is None:
            raise ApiError(404, "NotFound", f"no reservation {reservationId}")
        return reservation  # type: ignore[no-any-return]

    @route(
        "POST",
        "/reservations",
        "Reserve a connector (or, with connector 0, a station) for an id tag: sends "
        "ReserveNow with a new reservationId and records the station's answer.",
        {
            201: ("the reservation, with the station's answer as its status", "Reservation"),
            400: ("bad body, or the request breaks ReserveNow's schema", "Error"),
            **CALL_RESPONSES,
        },
        requestBody="ReservationRequest",
    )
    async def postReservation(self, request: Request) -> tuple[int, Any]:
        body = readJson(request)
        checkFields(
            body,
            {
                "chargePointId",
                "connectorId",
                "idTag",
                "parentIdTag",
                "expiryDate",
                "expiresInSeconds",
            },
            {"chargePointId", "connectorId", "idTag"},
        )
        chargePointId = _requiredString(body, "chargePointId", MAX_CHARGEPOINT_ID_LENGTH)
        connectorId = body["connectorId"]
        if not isInteger(connectorId) or connectorId < 0:
            raise ApiError(400, "BadRequest", "connectorId must be a whole number, 0 or more")
        idTag = _requiredString(body, "idTag", MAX_ID_TAG_LENGTH)
        parentIdTag = optionalString(body, "parentIdTag", MAX_ID_TAG_LENGTH)
        expiryDate = _expiryDate(body, self.profile.centralSystem.now())
        try:
            reservation = await self.profile.reserve(
                chargePointId, connectorId, idTag, parentIdTag, expiryDate
            )
        except CallFailed as e:
            raise callFailure(e, chargePointId, "ReserveNow") from None
        return 201, _reservationJson(reservation)

    @route(
        "GET",
        "/reservations",
        "List reservations, by reservation id.",
        {200: ("the reservations", "ReservationList"), 400: ("bad query", "Error")},
        query=(
            QueryParameter("chargepoint", {"type": "string"}, "only this charge point's"),
            QueryParameter(
                "active",
                {"type": "boolean"},
                "only active (Requested or Accepted) ones (true) or only the others (false)",
            ),
        ),
    )
    async def listReservations(self, request: Request) -> tuple[int, Any]:
        reservations = await self._store.listReservations(
            queryArgument(request, "chargepoint"), booleanArgument(request, "active")
        )
        return 200, [_reservationJson(reservation) for reservation in reservations]

    @route(
        "GET",
        "/reservations/{reservationId}",
        "Show one reservation.",
        {
            200: ("the reservation", "Reservation"),
            400: ("not a reservation id", "Error"),
            404: ("no such reservation", "Error"),
        },
    )
    async def getReservation(self, request: Request, reservationId: str) -> tuple[int, Any]:
        return 200, _reservationJson(await self._known(reservationId))

    @route(
        "DELETE",
        "/reservations/{reservationId}",
        "Cancel a reservation: sends CancelReservation; when the station accepts, the "
        "reservation is Cancelled.",
        {
            200: ("the station's answer and the reservation after it", "Cancellation"),
            400: ("not a reservation id", "Error"),
            **CALL_RESPONSES,
            404: ("no such reservation or charge point", "Error"),
        },
    )
    async def deleteReservation(self, request: Request, reservationId: str) -> tuple[int, Any]:
        reservation = await self._known(reservationId)
        try:
            status, after = await self.profile.cancel(reservation)
        except CallFailed as e:
            raise callFailure(e, reservation.chargePointId, "CancelReservation") from None
        return 200, {"status": status, "reservation": _reservationJson(after)}
