"""
The Reservation feature profile: reservations as stored objects with a
lifecycle of their own.

kcsms allocates each reservation's id, sends ReserveNow and records the
station's answer; an accepted reservation ends as C{Used} when a
StartTransaction carries its id, C{Cancelled} when a CancelReservation is
accepted, and C{Expired} at its expiry date, noticed by a timer that is set
again when kcsms restarts (nothing is sent: the station expires it on its
own).  ReserveNow and CancelReservation sent through the calls route are
recorded the same way, from L{kcsms.events.CallAnswered}.  Every change is
published as a L{kcsms.events.ReservationChanged}.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from twisted.application.service import IService
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from zope.interface import implementer

from kcsms.errors import CallFailed
from kcsms.events import CallAnswered, ReservationChanged, TransactionStarted
from kcsms.interfaces import ICentralSystem, IFeatureProfile
from kcsms.model import Reservation
from kcsms.profiles import ObservingProfile, refuseOptions
from kcsms.timestamps import formatTimestamp, parseTimestamp

__all__ = ["ReservationProfile"]


@implementer(IFeatureProfile, IService)
class ReservationProfile(ObservingProfile):
    """
    The Reservation profile of one central system.
    """

    name = "Reservation"
    vendorIds: tuple[str, ...] = ()
    log = Logger()

    def __init__(self, options: Mapping[str, str], centralSystem: ICentralSystem) -> None:
        from kcsms.api.reservations import ReservationApi

        refuseOptions(self.name, options)
        super().__init__(centralSystem)
        self.api = ReservationApi(self)
        #: The expiry timers of the active reservations, by reservation id.
        self._expiries: dict[int, IDelayedCall] = {}

    def startService(self) -> None:
        super().startService()
        self._inBackground(self._scheduleActive(), "Loading the active reservations")

    def stopService(self) -> None:
        super().stopService()
        for timer in self._expiries.values():
            timer.cancel()
        self._expiries.clear()

    # What the operator asks

    async def reserve(
        self,
        chargePointId: str,
        connectorId: int,
        idTag: str,
        parentIdTag: str | None,
        expiryDate: datetime,
    ) -> Reservation:
        """
        Make a reservation: allocate its id, send ReserveNow and record the
        station's answer.

        @return: the reservation, whose status is the station's answer.
        @raise CallFailed: when ReserveNow fails; then nothing is kept.
        """
        reservation = await self._store.createReservation(
            chargePointId, connectorId, idTag, parentIdTag, expiryDate, self.centralSystem.now()
        )
        request = {
            "connectorId": connectorId,
            "expiryDate": formatTimestamp(expiryDate),
            "idTag": idTag,
            "reservationId": reservation.reservationId,
        }
        if parentIdTag is not None:
            request["parentIdTag"] = parentIdTag
        try:
            answer = await self.centralSystem.call(chargePointId, "ReserveNow", request)
        except CallFailed:
            await self._store.deleteRequestedReservation(reservation.reservationId)
            raise
        await self._answered_ReserveNow(chargePointId, request, answer)
        return await self._store.getReservation(reservation.reservationId)  # type: ignore[no-any-return]

    async def cancel(self, reservation: Reservation) -> tuple[str, Reservation]:
        """
        Send CancelReservation; an accepted one ends the reservation as C{Cancelled}.

        @return: the station's answer and the reservation after it.
        @raise CallFailed: when CancelReservation fails.
        """
        request = {"reservationId": reservation.reservationId}
        answer = await self.centralSystem.call(
            reservation.chargePointId, "CancelReservation", request
        )
        await self._answered_CancelReservation(reservation.chargePointId, request, answer)
        return answer["status"], await self._store.getReservation(reservation.reservationId)

    # What happens elsewhere

    def _observe(self, event: Any) -> None:
        if isinstance(event, ReservationChanged):
            self._schedule(event.reservation)
        elif isinstance(event, TransactionStarted):
            transaction = event.transaction
            if transaction.reservationId is not None:
                self._inBackground(
                    self._end(
                        transaction.reservationId,
                        "Used",
                        chargePointId=transaction.chargePointId,
                        transactionId=transaction.transactionId,
                    ),
                    "Recording a used reservation",
                )
        elif isinstance(event, CallAnswered):
            learn = getattr(self, f"_answered_{event.action}", None)
            if learn is not None:
                self._inBackground(
                    learn(event.chargePointId, event.request, event.response),
                    f"Recording {event.action}",
                )

    async def _answered_ReserveNow(
        self, chargePointId: str, request: dict[str, Any], answer: dict[str, Any]
    ) -> None:
        recorded = await self._store.recordReservation(
            Reservation(
                reservationId=request["reservationId"],
                chargePointId=chargePointId,
                connectorId=request["connectorId"],
                idTag=request["idTag"],
                expiryDate=parseTimestamp(request["expiryDate"]),
                status=answer["status"],
                updatedAt=self.centralSystem.now(),
                parentIdTag=request.get("parentIdTag"),
            )
        )
        if recorded is not None:
            self._changed(recorded)

    async def _answered_CancelReservation(
        self, chargePointId: str, request: dict[str, Any], answer: dict[str, Any]
    ) -> None:
        if answer["status"] == "Accepted":
            await self._end(request["reservationId"], "Cancelled", chargePointId=chargePointId)

    async def _end(self, reservationId: int, status: str, **conditions: Any) -> None:
        ended = await self._store.endReservation(
            reservationId, status, self.centralSystem.now(), **conditions
        )
        if ended is not None:
            self._changed(ended)

    def _changed(self, reservation: Reservation) -> None:
        self.log.info(
            "Reservation {reservationId} on {chargePointId} connector {connectorId}: {status}",
            reservationId=reservation.reservationId,
            chargePointId=reservation.chargePointId,
            connectorId=reservation.connectorId,
            status=reservation.status,
        )
        self.centralSystem.publish(ReservationChanged(reservation))

    # Expiry

    async def _scheduleActive(self) -> None:
        for reservation in await self._store.listReservations(active=True):
            self._schedule(reservation)

    def _schedule(self, reservation: Reservation) -> None:
        """
        Set the expiry timer of an active reservation, or clear it for another.
        """
        if not self.running:
            return
        timer = self._expiries.pop(reservation.reservationId, None)
        if timer is not None:
            timer.cancel()
        if reservation.active:
            delay = (reservation.expiryDate - self.centralSystem.now()).total_seconds()
            self._expiries[reservation.reservationId] = self.centralSystem.clock.callLater(
                max(delay, 0), self._expire, reservation.reservationId
            )

    def _expire(self, reservationId: int) -> None:
        del self._expiries[reservationId]
        self._inBackground(self._end(reservationId, "Expired"), "Expiring a reservation")
