"""
Plain value objects that the stores return and the profiles pass around.

Field names are OCPP's (camelCase); times are aware UTC datetimes.  Nothing
here touches a database or the reactor.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

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
    "InstalledLocalList",
    "RESERVATION_STATUSES",
    "ACTIVE_RESERVATION_STATUSES",
    "Reservation",
    "SECURITY_PROFILES",
    "StationCredentials",
    "API_ROLES",
    "ApiToken",
    "AuditEntry",
    "FIRMWARE_JOB_KINDS",
    "FIRMWARE_JOB_STATUSES",
    "COMPLETED_FIRMWARE_JOB_STATUSES",
    "FirmwareJobEvent",
    "FirmwareJob",
    "FirmwareImage",
    "DiagnosticsFile",
    "FirmwareRollout",
    "InstalledChargingProfile",
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

    def statusAt(self, now: datetime) -> str:
        """
        @return: its status at C{now}: C{Expired} once an Accepted tag's
            expiry date has passed.
        """
        if self.status == "Accepted" and self.expiryDate is not None and self.expiryDate <= now:
            return "Expired"
        return self.status


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


class LoggedMessage(NamedTuple):
    """
    One OCPP-J frame as it crossed the wire.

    A named tuple, not a dataclass: the message log makes two for every
    CALL and keeps them until its batch is written, and a tuple is quicker
    to make and, holding only strings and a datetime, is left alone by the
    garbage collector.

    @ivar direction: C{in} (from the station) or C{out} (to it).
    @ivar message: the frame's text, exactly as sent or received.
    """

    chargePointId: str
    timestamp: datetime
    direction: str
    message: str


@dataclass(frozen=True)
class InstalledLocalList:
    """
    What kcsms knows of the local authorization list a station has installed.

    @ivar known: whether C{entries} is known (after an accepted Full).
    @ivar entries: C{idTag -> idTagInfo} (OCPP JSON objects).
    @ivar reportedVersion: the version the station last reported
        (GetLocalListVersion: -1 not supported, 0 empty).
    @ivar maxLength: the station's SendLocalListMaxLength, when known.
    @ivar lastResult: how the last synchronisation ended (an UpdateStatus,
        a CALLERROR code, C{Timeout}...).
    """

    chargePointId: str
    known: bool = False
    listVersion: int = 0
    entries: dict[str, Any] = field(default_factory=dict)
    reportedVersion: int | None = None
    maxLength: int | None = None
    lastResult: str | None = None
    lastSync: datetime | None = None


#: A reservation's statuses: C{Requested} while its ReserveNow awaits the
#: station's answer, then the station's ReservationStatus (C{Accepted},
#: C{Faulted}, C{Occupied}, C{Rejected}, C{Unavailable}); an accepted one
#: ends as C{Used}, C{Cancelled} or C{Expired}.
RESERVATION_STATUSES = (
    "Requested",
    "Accepted",
    "Faulted",
    "Occupied",
    "Rejected",
    "Unavailable",
    "Used",
    "Cancelled",
    "Expired",
)

#: The statuses of a reservation that may still be used.
ACTIVE_RESERVATION_STATUSES = ("Requested", "Accepted")


@dataclass(frozen=True)
class Reservation:
    """
    A reservation of a connector (or, with connector 0, of a whole station)
    for an id tag, as sent in ReserveNow.

    @ivar status: one of L{RESERVATION_STATUSES}.
    @ivar updatedAt: when the status last changed.
    @ivar transactionId: the transaction that used it, once C{Used}.
    """

    reservationId: int
    chargePointId: str
    connectorId: int
    idTag: str
    expiryDate: datetime
    status: str
    updatedAt: datetime
    parentIdTag: str | None = None
    transactionId: int | None = None

    @property
    def active(self) -> bool:
        """
        Whether it may still be used: requested or accepted, and not ended.
        """
        return self.status in ACTIVE_RESERVATION_STATUSES


#: OCPP 1.6 security profiles: 0 none, 1 Basic auth over ws, 2 Basic auth
#: over TLS, 3 TLS with a client certificate.
SECURITY_PROFILES = (0, 1, 2, 3)


@dataclass(frozen=True)
class StationCredentials:
    """
    How a station must authenticate.

    @ivar securityProfile: one of L{SECURITY_PROFILES}, or L{None} for the
        site default (C{[ocpp] security_profile}).
    @ivar passwordHash: the salted slow hash of its Basic-auth password
        (L{kcsms.security.hashPassword}), or L{None} when none is set.
    """

    chargePointId: str
    securityProfile: int | None = None
    passwordHash: str | None = None


#: Operator API roles, each allowed what the ones before it are.
API_ROLES = ("read", "operate", "admin")


@dataclass(frozen=True)
class ApiToken:
    """
    An operator API bearer token (the token itself is never kept).

    @ivar role: one of L{API_ROLES}.
    @ivar revokedAt: when it was revoked, or L{None} while it is valid.
    """

    name: str
    role: str
    createdAt: datetime
    revokedAt: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    """
    An operator API call that may have changed something.

    @ivar who: the token's name.
    @ivar status: the HTTP status it was answered with.
    """

    timestamp: datetime
    who: str
    method: str
    path: str
    status: int


#: What a firmware job does: the OCPP action that started it.
FIRMWARE_JOB_KINDS = ("UpdateFirmware", "GetDiagnostics")

#: A firmware job's statuses, by kind: C{Requested} until the station reports
#: (FirmwareStatusNotification or DiagnosticsStatusNotification), then what
#: it reports; C{TimedOut} after no progress for a while (a later report
#: revives it); C{Failed} when the call itself failed.
FIRMWARE_JOB_STATUSES = {
    "UpdateFirmware": (
        "Requested",
        "Downloading",
        "Downloaded",
        "DownloadFailed",
        "Installing",
        "Installed",
        "InstallationFailed",
        "TimedOut",
        "Failed",
    ),
    "GetDiagnostics": ("Requested", "Uploading", "Uploaded", "UploadFailed", "TimedOut", "Failed"),
}

#: The statuses that end a firmware job for good.
COMPLETED_FIRMWARE_JOB_STATUSES = (
    "Installed",
    "InstallationFailed",
    "DownloadFailed",
    "Uploaded",
    "UploadFailed",
    "Failed",
)


@dataclass(frozen=True)
class FirmwareJobEvent:
    """
    One step in a firmware job's history.

    @ivar event: a status of L{FIRMWARE_JOB_STATUSES}, C{Answered} (the
        station answered the call) or C{BootNotification} (the station booted
        during an update).
    @ivar detail: the file name a station will upload, the firmware version
        it booted with, or why the call failed.
    """

    event: str
    at: datetime
    detail: str | None = None


@dataclass(frozen=True)
class FirmwareJob:
    """
    A firmware update (UpdateFirmware) or a diagnostics upload
    (GetDiagnostics) of one station, and where it is.

    @ivar kind: one of L{FIRMWARE_JOB_KINDS}.
    @ivar request: the payload sent, or L{None} for a job the station
        reported without a request kcsms knows of.
    @ivar fileName: the diagnostics file the station said it will upload.
    @ivar deadline: when it times out unless the station reports progress
        (L{None} once it has ended).
    @ivar rolloutId: the firmware rollout it belongs to.
    """

    jobId: int
    chargePointId: str
    kind: str
    status: str
    createdAt: datetime
    updatedAt: datetime
    request: dict[str, Any] | None = None
    fileName: str | None = None
    deadline: datetime | None = None
    rolloutId: int | None = None
    history: tuple[FirmwareJobEvent, ...] = ()

    @property
    def result(self) -> str | None:
        """
        How it ended (its status once it has ended), or L{None} while it runs.
        """
        return self.status if self.deadline is None else None


@dataclass(frozen=True)
class FirmwareImage:
    """
    A firmware image kcsms hosts for stations to download.
    """

    name: str
    size: int
    sha256: str
    uploadedAt: datetime


@dataclass(frozen=True)
class DiagnosticsFile:
    """
    A diagnostics file a station uploaded to kcsms.

    @ivar jobId: the GetDiagnostics job whose upload address it came through.
    """

    chargePointId: str
    fileName: str
    size: int
    sha256: str
    uploadedAt: datetime
    jobId: int | None = None


@dataclass(frozen=True)
class FirmwareRollout:
    """
    One firmware update sent to many stations, one after another.

    @ivar request: the UpdateFirmware payload every station gets.
    @ivar pace: seconds between two stations.
    """

    rolloutId: int
    request: dict[str, Any]
    stations: tuple[str, ...]
    pace: float
    createdAt: datetime


@dataclass(frozen=True)
class InstalledChargingProfile:
    """
    A ChargingProfile a station accepted (SetChargingProfile, or the
    chargingProfile of a RemoteStartTransaction): kcsms's mirror of what the
    station has installed.

    @ivar chargingProfile: the OCPP ChargingProfile object as sent.
    @ivar transactionId: the transaction a TxProfile belongs to; L{None} for
        a TxProfile that awaits the transaction of its RemoteStartTransaction
        (on connector 0 when that named no connector), and for other purposes.
    @ivar installedAt: when the station accepted it.
    """

    chargePointId: str
    connectorId: int
    chargingProfile: dict[str, Any]
    installedAt: datetime
    transactionId: int | None = None

    @property
    def chargingProfileId(self) -> int:
        return self.chargingProfile["chargingProfileId"]  # type: ignore[no-any-return]

    @property
    def stackLevel(self) -> int:
        return self.chargingProfile["stackLevel"]  # type: ignore[no-any-return]

    @property
    def chargingProfilePurpose(self) -> str:
        return self.chargingProfile["chargingProfilePurpose"]  # type: ignore[no-any-return]
