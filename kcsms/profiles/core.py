"""
The Core feature profile: what a station CALLs (BootNotification, Heartbeat,
Authorize, StartTransaction, StopTransaction, MeterValues,
StatusNotification, DataTransfer) and the Core calls the central system makes.

Every answer that acknowledges a transaction, a meter value or a status is
sent only after the store has committed it.  The central system's own Core
calls (ChangeAvailability, Reset...) need no responder: they go out through
L{kcsms.interfaces.ICentralSystem.call} as the operator gives them.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from twisted.application.service import IService, Service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from kcsms.events import (
    BootNotificationReceived,
    MeterValuesReceived,
    StatusChanged,
    TransactionStarted,
    TransactionStopped,
)
from kcsms.interfaces import ICentralSystem, IChargePointSession, IFeatureProfile
from kcsms.model import BootInfo, ConnectorStatus, IdTag, MeterValue, SampledValue
from kcsms.profiles import refuseOptions
from kcsms.timestamps import formatTimestamp, parseTimestamp

__all__ = ["CoreProfile", "meterValuesFrom", "SEEN_FLUSH_INTERVAL"]

#: Seconds between writes of when stations were last seen.
SEEN_FLUSH_INTERVAL = 5.0

_REGISTRATION_FOR_UNKNOWN = {"accept": "Accepted", "pending": "Pending", "reject": None}


def meterValuesFrom(meterValue: Iterable[Mapping[str, Any]]) -> list[MeterValue]:
    """
    Turn the C{meterValue} (or C{transactionData}) array of a schema-valid
    request into L{MeterValue}s.
    """
    return [
        MeterValue(
            parseTimestamp(entry["timestamp"]),
            tuple(SampledValue(**sample) for sample in entry["sampledValue"]),
        )
        for entry in meterValue
    ]


def _optionalTimestamp(text: str | None) -> Any:
    return parseTimestamp(text) if text is not None else None


@implementer(IFeatureProfile, IService)
class CoreProfile(Service):
    """
    The Core profile of one central system.

    Heartbeats acknowledge no data, so the times stations were last seen are
    kept in memory and written for every station at once, every
    L{SEEN_FLUSH_INTERVAL} seconds and at stop.
    """

    name = "Core"
    vendorIds: tuple[str, ...] = ()
    api = None
    log = Logger()

    def __init__(self, options: Mapping[str, str], centralSystem: ICentralSystem) -> None:
        refuseOptions(self.name, options)
        self.centralSystem = centralSystem
        self.ocpp = centralSystem.config.ocpp
        self._seen: dict[str, datetime] = {}
        self._seenFlush = LoopingCall(self.flushSeen)
        self._seenFlush.clock = centralSystem.clock

    def startService(self) -> None:
        super().startService()
        self._seenFlush.start(SEEN_FLUSH_INTERVAL, now=False)

    def stopService(self) -> Deferred[None]:
        super().stopService()
        if self._seenFlush.running:
            self._seenFlush.stop()
        return self.flushSeen()

    def flushSeen(self) -> Deferred[None]:
        """
        Write the last-seen times gathered since the last flush.
        """
        seen, self._seen = self._seen, {}
        if not seen:
            return succeed(None)
        d: Deferred[None] = self._store.recordSeen(seen)
        d.addErrback(lambda f: self.log.failure("Recording when stations were last seen", f))
        return d

    @property
    def _store(self) -> Any:
        return self.centralSystem.store

    def _now(self) -> str:
        return formatTimestamp(self.centralSystem.now())

    async def idTagInfo(self, idTag: str) -> dict[str, Any]:
        """
        The IdTagInfo the central system holds for C{idTag}: C{Invalid} when
        it is unknown, C{Expired} when its expiry date has passed.
        """
        return self._idTagInfo(await self._store.getIdTag(idTag))

    def _idTagInfo(self, tag: IdTag | None) -> dict[str, Any]:
        if tag is None:
            return {"status": "Invalid"}
        info: dict[str, Any] = {"status": tag.statusAt(self.centralSystem.now())}
        if tag.expiryDate is not None:
            info["expiryDate"] = formatTimestamp(tag.expiryDate)
        if tag.parentIdTag is not None:
            info["parentIdTag"] = tag.parentIdTag
        return info

    async def ocpp_BootNotification(
        self, session: IChargePointSession, request: dict[str, Any]
    ) -> dict[str, Any]:
        chargePoint = await self._store.recordBootNotification(
            session.chargePointId,
            BootInfo(**request),
            self.centralSystem.now(),
            _REGISTRATION_FOR_UNKNOWN[self.ocpp.unknownChargePoints],
        )
        session.registration = chargePoint.registration if chargePoint is not None else None
        status = session.registration or "Rejected"
        self.centralSystem.publish(
            BootNotificationReceived(session.chargePointId, status, chargePoint)
        )
        self.log.info(
            "BootNotification from {chargePointId} ({chargePointVendor} {chargePointModel}): "
            "{status}",
            chargePointId=session.chargePointId,
            chargePointVendor=request["chargePointVendor"],
            chargePointModel=request["chargePointModel"],
            status=status,
        )
        return {
            "status": status,
            "currentTime": self._now(),
            "interval": self.ocpp.heartbeatInterval,
        }

    def ocpp_Heartbeat(
        self, session: IChargePointSession, request: dict[str, Any]
    ) -> dict[str, Any]:
        now = self._seen[session.chargePointId] = self.centralSystem.now()
        return {"currentTime": formatTimestamp(now)}

    async def ocpp_Authorize(
        self, session: IChargePointSession, request: dict[str, Any]
    ) -> dict[str, Any]:
        return {"idTagInfo": await self.idTagInfo(request["idTag"])}

    async def ocpp_StartTransaction(
        self, session: IChargePointSession, request: dict[str, Any]
    ) -> dict[str, Any]:
        tag, transaction = await self._store.startAuthorizedTransaction(
            session.chargePointId,
            request["connectorId"],
            request["idTag"],
            request["meterStart"],
            parseTimestamp(request["timestamp"]),
            request.get("reservationId"),
            self.centralSystem.now(),
        )
        info = self._idTagInfo(tag)
        self.centralSystem.publish(TransactionStarted(transaction))
        self.log.info(
            "StartTransaction {transactionId} on {chargePointId} connector {connectorId} "
            "for {idTag}: {status}",
            transactionId=transaction.transactionId,
            chargePointId=session.chargePointId,
            connectorId=request["connectorId"],
            idTag=request["idTag"],
            status=info["status"],
        )
        return {"transactionId": transaction.transactionId, "idTagInfo": info}

    async def ocpp_StopTransaction(
        self, session: IChargePointSession, request: dict[str, Any]
    ) -> dict[str, Any]:
        transaction, tag = await self._store.stopAuthorizedTransaction(
            session.chargePointId,
            request["transactionId"],
            request.get("idTag"),
            request["meterStop"],
            parseTimestamp(request["timestamp"]),
            request.get("reason", "Local"),
            meterValuesFrom(request.get("transactionData", ())),
        )
        self.centralSystem.publish(
            TransactionStopped(session.chargePointId, request["transactionId"], transaction)
        )
        if transaction is None:
            self.log.warn(
                "StopTransaction from {chargePointId} for unknown transaction {transactionId}",
                chargePointId=session.chargePointId,
                transactionId=request["transactionId"],
            )
        else:
            self.log.info(
                "StopTransaction {transactionId} on {chargePointId}: {reason}",
                transactionId=transaction.transactionId,
                chargePointId=session.chargePointId,
                reason=transaction.stopReason,
            )
        if "idTag" in request:
            return {"idTagInfo": self._idTagInfo(tag)}
        return {}

    async def ocpp_MeterValues(
        self, session: IChargePointSession, request: dict[str, Any]
    ) -> dict[str, Any]:
        event = MeterValuesReceived(
            session.chargePointId,
            request["connectorId"],
            request.get("transactionId"),
            meterValuesFrom(request["meterValue"]),
        )
        await self._store.addMeterValues(
            event.chargePointId, event.connectorId, event.transactionId, event.meterValues
        )
        self.centralSystem.publish(event)
        return {}

    async def ocpp_StatusNotification(
        self, session: IChargePointSession, request: dict[str, Any]
    ) -> dict[str, Any]:
        status = ConnectorStatus(
            chargePointId=session.chargePointId,
            connectorId=request["connectorId"],
            status=request["status"],
            errorCode=request["errorCode"],
            receivedAt=self.centralSystem.now(),
            info=request.get("info"),
            timestamp=_optionalTimestamp(request.get("timestamp")),
            vendorId=request.get("vendorId"),
            vendorErrorCode=request.get("vendorErrorCode"),
        )
        await self._store.recordStatusNotification(status)
        self.centralSystem.publish(StatusChanged(status))
        return {}

    def ocpp_DataTransfer(
        self, session: IChargePointSession, request: dict[str, Any]
    ) -> dict[str, Any]:
        self.log.info(
            "DataTransfer from {chargePointId} for unknown vendorId {vendorId}",
            chargePointId=session.chargePointId,
            vendorId=request["vendorId"],
        )
        return {"status": "UnknownVendorId"}
