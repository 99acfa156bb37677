"""
The store: every L{kcsms.interfaces.IStore} method as one interaction (a
C{_txn} generator of L{kcsms.storage.sql.Query}s), run as one database
transaction by whichever L{kcsms.storage.sql.Runner} the engine provides;
the lists an operator asks for, which may be long, as reads
(L{kcsms.storage.sql.Runner.read}).

Rows become the value objects of L{kcsms.model}; times are stored as text in
L{kcsms.timestamps.formatTimestamp}'s format, so that they sort as text.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, gatherResults, succeed
from zope.interface import implementer

from kcsms.interfaces import IStore
from kcsms.model import (
    ApiToken,
    AuditEntry,
    BootInfo,
    CallRecord,
    ChargePoint,
    ConnectorStatus,
    DiagnosticsFile,
    FirmwareImage,
    FirmwareJob,
    FirmwareRollout,
    IdTag,
    InstalledChargingProfile,
    InstalledLocalList,
    LoggedMessage,
    MeterValue,
    Reservation,
    StationCredentials,
    Transaction,
    UnmatchedStop,
)
from kcsms.storage.cache import IdTagCache
from kcsms.storage.chargepoints import (
    deleteChargePoint_txn,
    deleteIdTag_txn,
    getChargePoint_txn,
    getIdTag_txn,
    listChargePoints_txn,
    listIdTags_txn,
    putIdTag_txn,
    recordBootNotification_txn,
    recordSeen_txn,
    setRegistration_txn,
)
from kcsms.storage.chargingprofiles import (
    bindChargingProfiles_txn,
    clearChargingProfiles_txn,
    installChargingProfile_txn,
    listChargingProfiles_txn,
)
from kcsms.storage.firmware import (
    _firmwareImages_txn,
    _firmwareJob_txn,
    createFirmwareJob_txn,
    createFirmwareRollout_txn,
    findUploadJob_txn,
    listDiagnosticsFiles_txn,
    listFirmwareJobs_txn,
    listFirmwareRollouts_txn,
    putFirmwareImage_txn,
    recordDiagnosticsFile_txn,
    recordFirmwareJobEvent_txn,
    reportFirmwareJobStatus_txn,
    timeOutFirmwareJobs_txn,
)
from kcsms.storage.locallists import (
    assignLocalList_txn,
    deleteLocalList_txn,
    getAssignment_txn,
    getInstalledLocalList_txn,
    getLocalList_txn,
    listLocalLists_txn,
    listMembers_txn,
    putInstalledLocalList_txn,
    putLocalList_txn,
)
from kcsms.storage.messages import (
    appendMessages_txn,
    clearPresence_txn,
    getClusterMessage_txn,
    listMessages_txn,
    listPresence_txn,
    liveNodes_txn,
    locate_txn,
    pruneClusterMessages_txn,
    pruneMessages_txn,
    putClusterMessage_txn,
    removeNode_txn,
    renewNode_txn,
    setPresence_txn,
)
from kcsms.storage.reservations import (
    createReservation_txn,
    deleteRequestedReservation_txn,
    endReservation_txn,
    getReservation_txn,
    listReservations_txn,
    recordReservation_txn,
)
from kcsms.storage.security import (
    createApiToken_txn,
    getApiToken_txn,
    getStationCredentials_txn,
    listApiTokens_txn,
    listAudit_txn,
    recordAudit_txn,
    revokeApiToken_txn,
    setPasswordHash_txn,
    setSecurityProfile_txn,
)
from kcsms.storage.sql import Runner
from kcsms.storage.transactions import (
    addMeterValues_txn,
    getConnectorStatuses_txn,
    getMeterValues_txn,
    getStatusHistory_txn,
    getTransaction_txn,
    idTagStatus,
    listCalls_txn,
    listTransactions_txn,
    listUnmatchedStops_txn,
    recordCall_txn,
    recordStatusNotification_txn,
    startAuthorizedTransaction_txn,
    startTransaction_txn,
    stopAuthorizedTransaction_txn,
    stopTransaction_txn,
)

__all__ = ["Store"]

T = TypeVar("T")

#: Stations whose last-seen times one write of L{Store.recordSeen} updates.
SEEN_PIECE = 500


@implementer(IStore)
class Store:
    """
    The L{IStore} of one database: each method runs one interaction as one
    transaction, committed before the Deferred fires; database errors fail
    the Deferred.  Id tags may be served from memory (L{IdTagCache}).

    @param runner: runs interactions against the database.
    @param idTags: the id tags kept in memory; by default none are.
    """

    def __init__(self, runner: Runner, idTags: IdTagCache | None = None) -> None:
        self._runner = runner
        self._idTags = idTags if idTags is not None else IdTagCache()

    # IChargePointStore

    def getChargePoint(self, chargePointId: str) -> Deferred[ChargePoint | None]:
        return self._runner.run(getChargePoint_txn(chargePointId))

    def listChargePoints(self) -> Deferred[list[ChargePoint]]:
        return self._runner.read(listChargePoints_txn())

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
        # Idle work, in pieces: nobody waits for it, and the times of ten
        # thousand stations took SQLite 40 ms, which it spends in the reactor thread.
        stations = list(seen.items())
        pieces = [
            self._runner.runIdle(recordSeen_txn(dict(stations[i : i + SEEN_PIECE])))
            for i in range(0, len(stations), SEEN_PIECE)
        ]
        d = gatherResults(pieces, consumeErrors=True)
        return d.addCallbacks(lambda _: None, lambda f: f.value.subFailure)

    # IIdTagStore

    def getIdTag(self, idTag: str) -> Deferred[IdTag | None]:
        known, tag = self._idTags.get(idTag)
        if known:
            return succeed(tag)
        return self._keepingIdTag(self._runner.run(getIdTag_txn(idTag)), idTag, lambda tag: tag)

    def _keepingIdTag(
        self, read: Deferred[T], idTag: str, tagOf: Callable[[T], IdTag | None]
    ) -> Deferred[T]:
        """
        @param read: an interaction that reads C{idTag} (L{tagOf} its result).
        @return: C{read}, which keeps what it read in memory.
        """
        generation = self._idTags.generation

        def keep(result: T) -> T:
            self._idTags.keep(idTag, tagOf(result), generation)
            return result

        return read.addCallback(keep)

    def forgetIdTag(self, idTag: str) -> None:
        """
        See L{IIdTagStore.forgetIdTag}.
        """
        self._idTags.forget(idTag)

    def listIdTags(self) -> Deferred[list[IdTag]]:
        return self._runner.read(listIdTags_txn())

    def putIdTag(self, idTag: IdTag) -> Deferred[bool]:
        self.forgetIdTag(idTag.idTag)
        return self._runner.run(putIdTag_txn(idTag)).addBoth(self._forgotten, idTag.idTag)

    def deleteIdTag(self, idTag: str) -> Deferred[bool]:
        self.forgetIdTag(idTag)
        return self._runner.run(deleteIdTag_txn(idTag)).addBoth(self._forgotten, idTag)

    def _forgotten(self, result: T, idTag: str) -> T:
        # Forgotten before the write (so that no read from then on is kept
        # as the answer) and after it (a read that found the old tag while
        # the write ran may have been kept).
        self.forgetIdTag(idTag)
        return result

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

    def startAuthorizedTransaction(
        self,
        chargePointId: str,
        connectorId: int,
        idTag: str,
        meterStart: int,
        timestamp: datetime,
        reservationId: int | None,
        now: datetime,
    ) -> Deferred[tuple[IdTag | None, Transaction]]:
        known, tag = self._idTags.get(idTag)
        if known:
            status = idTagStatus(tag, now)
            started = self.startTransaction(
                chargePointId, connectorId, idTag, meterStart, timestamp, reservationId, status
            )
            return started.addCallback(lambda transaction: (tag, transaction))
        return self._keepingIdTag(
            self._runner.run(
                startAuthorizedTransaction_txn(
                    chargePointId, connectorId, idTag, meterStart, timestamp, reservationId, now
                )
            ),
            idTag,
            lambda result: result[0],
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

    def stopAuthorizedTransaction(
        self,
        chargePointId: str,
        transactionId: int,
        idTag: str | None,
        meterStop: int,
        timestamp: datetime,
        reason: str | None,
        transactionData: Sequence[MeterValue],
    ) -> Deferred[tuple[Transaction | None, IdTag | None]]:
        known, tag = (True, None) if idTag is None else self._idTags.get(idTag)
        if known:
            stopped = self.stopTransaction(
                chargePointId, transactionId, idTag, meterStop, timestamp, reason, transactionData
            )
            return stopped.addCallback(lambda transaction: (transaction, tag))
        assert idTag is not None
        return self._keepingIdTag(
            self._runner.run(
                stopAuthorizedTransaction_txn(
                    chargePointId,
                    transactionId,
                    idTag,
                    meterStop,
                    timestamp,
                    reason,
                    transactionData,
                )
            ),
            idTag,
            lambda result: result[1],
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
        return self._runner.read(listTransactions_txn(chargePointId, active))

    def getMeterValues(self, transactionId: int) -> Deferred[list[MeterValue]]:
        return self._runner.read(getMeterValues_txn(transactionId))

    def listUnmatchedStops(self, chargePointId: str) -> Deferred[list[UnmatchedStop]]:
        return self._runner.read(listUnmatchedStops_txn(chargePointId))

    # IStatusStore

    def recordStatusNotification(self, status: ConnectorStatus) -> Deferred[None]:
        return self._runner.run(recordStatusNotification_txn(status))

    def getConnectorStatuses(self, chargePointId: str) -> Deferred[list[ConnectorStatus]]:
        return self._runner.run(getConnectorStatuses_txn(chargePointId))

    def getStatusHistory(
        self, chargePointId: str, connectorId: int | None = None
    ) -> Deferred[list[ConnectorStatus]]:
        return self._runner.read(getStatusHistory_txn(chargePointId, connectorId))

    # ICallStore

    def recordCall(self, call: CallRecord) -> Deferred[None]:
        return self._runner.run(recordCall_txn(call))

    def listCalls(self, chargePointId: str) -> Deferred[list[CallRecord]]:
        return self._runner.read(listCalls_txn(chargePointId))

    # IMessageLogStore

    def appendMessages(self, messages: Sequence[LoggedMessage]) -> Deferred[None]:
        return self._runner.runIdle(appendMessages_txn(messages))

    def listMessages(self, chargePointId: str, limit: int) -> Deferred[list[LoggedMessage]]:
        return self._runner.read(listMessages_txn(chargePointId, limit))

    def pruneMessages(self, before: datetime, limit: int | None = None) -> Deferred[int]:
        return self._runner.runIdle(pruneMessages_txn(before, limit))

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

    def liveNodes(self, now: datetime) -> Deferred[set[str]]:
        return self._runner.run(liveNodes_txn(now))

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
        return self._runner.read(getLocalList_txn(name))

    def listLocalLists(self) -> Deferred[list[str]]:
        return self._runner.read(listLocalLists_txn())

    def deleteLocalList(self, name: str) -> Deferred[bool]:
        return self._runner.run(deleteLocalList_txn(name))

    def assignLocalList(self, chargePointId: str, name: str) -> Deferred[None]:
        return self._runner.run(assignLocalList_txn(chargePointId, name))

    def getAssignment(self, chargePointId: str) -> Deferred[str | None]:
        return self._runner.run(getAssignment_txn(chargePointId))

    def listMembers(self, name: str) -> Deferred[list[str]]:
        return self._runner.read(listMembers_txn(name))

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
        return self._runner.read(listReservations_txn(chargePointId, active))

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
        return self._runner.read(listApiTokens_txn())

    def recordAudit(self, entry: AuditEntry) -> Deferred[None]:
        return self._runner.run(recordAudit_txn(entry))

    def listAudit(self, limit: int) -> Deferred[list[AuditEntry]]:
        return self._runner.read(listAudit_txn(limit))

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
        return self._runner.read(listFirmwareJobs_txn(chargePointId, kind, rolloutId))

    def timeOutFirmwareJobs(self, now: datetime) -> Deferred[list[FirmwareJob]]:
        return self._runner.run(timeOutFirmwareJobs_txn(now))

    def putFirmwareImage(self, image: FirmwareImage) -> Deferred[bool]:
        return self._runner.run(putFirmwareImage_txn(image))

    def getFirmwareImage(self, name: str) -> Deferred[FirmwareImage | None]:
        d = self._runner.run(_firmwareImages_txn(" WHERE name = ?", (name,)))
        return d.addCallback(lambda images: images[0] if images else None)

    def listFirmwareImages(self) -> Deferred[list[FirmwareImage]]:
        return self._runner.read(_firmwareImages_txn("", ()))

    def recordDiagnosticsFile(self, file: DiagnosticsFile) -> Deferred[None]:
        return self._runner.run(recordDiagnosticsFile_txn(file))

    def listDiagnosticsFiles(self, chargePointId: str) -> Deferred[list[DiagnosticsFile]]:
        return self._runner.read(listDiagnosticsFiles_txn(chargePointId))

    def createFirmwareRollout(
        self, request: dict[str, Any], stations: Sequence[str], pace: float, at: datetime
    ) -> Deferred[FirmwareRollout]:
        return self._runner.run(createFirmwareRollout_txn(request, stations, pace, at))

    def getFirmwareRollout(self, rolloutId: int) -> Deferred[FirmwareRollout | None]:
        d = self._runner.run(listFirmwareRollouts_txn(rolloutId))
        return d.addCallback(lambda rollouts: rollouts[0] if rollouts else None)

    def listFirmwareRollouts(self) -> Deferred[list[FirmwareRollout]]:
        return self._runner.read(listFirmwareRollouts_txn(None))

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
        return self._runner.read(listChargingProfiles_txn(chargePointId, connectorId))

    def close(self) -> Deferred[None]:
        return self._runner.close()
