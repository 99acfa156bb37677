"""
Plain value objects that the stores return and the profiles pass around.

Field names are OCPP's (camelCase); times are aware UTC datetimes.  Nothing
here touches a database or the reactor.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "REGISTRATION_STATUSES",
    "AUTHORIZATION_STATUSES",
    "BootInfo",
    "ChargePoint",
    "IdTag",
    "Transaction",
    "SampledValue",
    "MeterValue",
    "ConnectorStatus",
    "UnmatchedStop",
    "CallRecord",
    "LoggedMessage",
]

#: BootNotification.conf statuses, which are also a charge point's registration.
REGISTRATION_STATUSES = ("Accepted", "Pending", "Rejected")

#: IdTagInfo statuses.
AUTHORIZATION_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx")


@dataclass(frozen=True)
class BootInfo:
    """
    What a station says of itself in BootNotification.req.
    """

    chargePointVendor: str
    chargePointModel: str
    chargePointSerialNumber: str | None = None
    chargeBoxSerialNumber: str | None = None
    firmwareVersion: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meterType: str | None = None
    meterSerialNumber: str | None = None


@dataclass(frozen=True)
class ChargePoint:
    """
    A registered charge point.

    @ivar registration: C{Accepted}, C{Pending} or C{Rejected}.
    @ivar boot: what it said in its last BootNotification, or L{None}.
    @ivar lastBoot: when that BootNotification arrived.
    @ivar lastSeen: when it last sent a Heartbeat or BootNotification.
    """

    chargePointId: str
    registration: str
    boot: BootInfo | None = None
    lastBoot: datetime | None = None
    lastSeen: datetime | None = None


@dataclass(frozen=True)
class IdTag:
    """
    An identifier (RFID card, app account...) and what the central system
    knows of it: its OCPP IdTagInfo.
    """

    idTag: str
    status: str
    expiryDate: datetime | None = None
    parentIdTag: str | None = None


@dataclass(frozen=True)
class Transaction:
    """
    A transaction as StartTransaction and StopTransaction reported it.

    @ivar idTagStatus: the IdTagInfo status answered to StartTransaction.
    """

    transactionId: int
    chargePointId: str
    connectorId: int
    idTag: str
    meterStart: int
    startTimestamp: datetime
    idTagStatus: str
    reservationId: int | None = None
    meterStop: int | None = None
    stopTimestamp: datetime | None = None
    stopReason: str | None = None
    stopIdTag: str | None = None

    @property
    def active(self) -> bool:
        """
        Whether no StopTransaction has arrived for it yet.
        """
        return self.stopTimestamp is None


@dataclass(frozen=True)
class SampledValue:
    """
    One OCPP SampledValue; absent optional fields are L{None} (their OCPP
    defaults apply).
    """

    value: str
    context: str | None = None
    format: str | None = None
    measurand: str | None = None
    phase: str | None = None
    location: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class MeterValue:
    """
    One OCPP MeterValue: a timestamp and the values sampled at it.
    """

    timestamp: datetime
    sampledValue: tuple[SampledValue, ...]


@dataclass(frozen=True)
class UnmatchedStop:
    """
    A StopTransaction.req for a transaction id its station has no
    transaction with.

    @ivar meterValues: every meter value the station sent with this
        transaction id (this stop's transactionData and any MeterValues.req),
        in the order received.
    """

    chargePointId: str
    transactionId: int
    meterStop: int
    timestamp: datetime
    idTag: str | None = None
    reason: str | None = None
    meterValues: tuple[MeterValue, ...] = ()


@dataclass(frozen=True)
class ConnectorStatus:
    """
    One StatusNotification.req, as received.

    @ivar timestamp: the station's own time for it, if it sent one.
    @ivar receivedAt: when the central system received it.
    """

    chargePointId: str
    connectorId: int
    status: str
    errorCode: str
    receivedAt: datetime
    info: str | None = None
    timestamp: datetime | None = None
    vendorId: str | None = None
    vendorErrorCode: str | None = None


@dataclass(frozen=True)
class CallRecord:
    """
    A call the central system made to a station, and how it ended.

    @ivar outcome: C{Answered}, C{CallError}, C{Timeout} or C{NotConnected}.
    @ivar response: the station's CALLRESULT payload when answered.
    @ivar error: C{{"errorCode", "errorDescription", "errorDetails"}} for a
        CALLERROR.
    """

    chargePointId: str
    uniqueId: str
    action: str
    request: dict[str, Any]
    requestedAt: datetime
    outcome: str
    answeredAt: datetime | None = None
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class LoggedMessage:
    """
    One OCPP-J frame as it crossed the wire.

    @ivar direction: C{in} (from the station) or C{out} (to it).
    @ivar message: the frame's text, exactly as sent or received.
    """

    chargePointId: str
    timestamp: datetime
    direction: str
    message: str
