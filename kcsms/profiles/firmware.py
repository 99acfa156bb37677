"""
The FirmwareManagement feature profile: firmware updates and diagnostics
uploads as stored jobs, and the files kcsms hosts for them.

Each UpdateFirmware or GetDiagnostics is a L{kcsms.model.FirmwareJob}: it is
recorded as C{Requested} before the call goes out (also when it goes out raw
through the calls route, from the C{CallAnswered} event), then follows the
station's FirmwareStatusNotifications or DiagnosticsStatusNotifications; a
BootNotification during an update joins its history.  A job with no progress
for C{job_timeout} seconds (counted for an update from its retrieveDate, when
later) becomes C{TimedOut}.  Firmware images and diagnostics files live in a
L{kcsms.files.FileArea}, served over HTTP and FTP when C{[files]} says so.
A rollout sends one UpdateFirmware to many stations, C{pace} seconds apart.
"""

import secrets
import socket
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from twisted.application.service import IService
from twisted.internet.defer import CancelledError, Deferred, ensureDeferred
from twisted.internet.task import LoopingCall, deferLater
from twisted.logger import Logger
from zope.interface import implementer

from kcsms.config import ConfigError
from kcsms.errors import CallFailed
from kcsms.events import BootNotificationReceived, CallAnswered, FirmwareJobChanged
from kcsms.files import FTP_USER, FileArea, FileHostResource, Spool, makeFileSite, makeFtpFactory
from kcsms.interfaces import ICentralSystem, IChargePointSession, IFeatureProfile
from kcsms.model import COMPLETED_FIRMWARE_JOB_STATUSES, DiagnosticsFile, FirmwareJob
from kcsms.profiles import ObservingProfile
from kcsms.service import StartupError
from kcsms.timestamps import parseTimestamp

__all__ = ["FirmwareProfile"]

#: Seconds a job may go without progress, by default.
DEFAULT_JOB_TIMEOUT = 3600.0
#: The most seconds between two looks for jobs that timed out.
SWEEP_INTERVAL = 60.0


def _jobTimeout(options: Mapping[str, str]) -> float:
    section = "profile:FirmwareManagement"
    unknown = sorted(set(options) - {"job_timeout"})
    if unknown:
        raise ConfigError(section, unknown[0], "unknown key (known: job_timeout)")
    text = options.get("job_timeout", str(DEFAULT_JOB_TIMEOUT))
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ConfigError(
            section, "job_timeout", f"must be a positive number of seconds (got {text!r})"
        )
    return value


def _baseUrl(scheme: str, port: Any) -> str:
    """
    @return: C{scheme://host:port} of a listening port: its interface, or
        this host's name when it listens on every interface.
    """
    address = port.getHost()
    host = address.host
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    elif ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{address.port}"


@implementer(IFeatureProfile, IService)
class FirmwareProfile(ObservingProfile):
    """
    The FirmwareManagement profile of one central system.

    Options (C{[profile:FirmwareManagement]}): C{job_timeout}, seconds a job
    may go without progress (default 3600).

    @ivar firmwareUrl: the base URL of the firmware images
        (C{.../firmware/}), or L{None} without C{[files] endpoint}.
    @ivar uploadUrls: base URLs of diagnostics uploads by scheme (C{ftp},
        C{http}), for those enabled.
    """

    name = "FirmwareManagement"
    vendorIds: tuple[str, ...] = ()
    log = Logger()

    def __init__(self, options: Mapping[str, str], centralSystem: ICentralSystem) -> None:
        from kcsms.api.firmware import FirmwareApi

        super().__init__(centralSystem)
        self.jobTimeout = _jobTimeout(options)
        self.files = centralSystem.config.files
        self.area = FileArea(self.files.directory, self.files.maxFileSize)
        self.api = FirmwareApi(self)
        self.firmwareUrl: str | None = None
        self.uploadUrls: dict[str, str] = {}
        self._sweeper = LoopingCall(self._sweep)
        self._sweeper.clock = centralSystem.clock
        self._rollouts: set[Deferred[None]] = set()

    def _now(self) -> datetime:
        return self.centralSystem.now()

    # Service

    def startService(self) -> None:
        """
        Listen on C{[files]}'s endpoints, then watch for calls, boots and timeouts.

        @raise StartupError: when the directory or an endpoint cannot be used.
        """
        super().startService()
        if self.files.endpoints or self.files.ftpEndpoints:
            try:
                self.area.prepare()
            except OSError as e:
                raise StartupError(
                    f"[files] directory: cannot use {self.area.root.path}: {e.strerror or e}"
                ) from None
        if self.files.endpoints:
            site = makeFileSite(
                self.area,
                FileHostResource(self.area, self._store.findUploadJob, self._keepDiagnostics),
            )
            ports = self.centralSystem.listen("files", self.files.endpoints, site)
            base = self.files.publicUrl or _baseUrl("http", ports[0])
            self.firmwareUrl = f"{base}/firmware/"
            self.uploadUrls["http"] = f"{base}/diagnostics/"
        if self.files.ftpEndpoints:
            factory = makeFtpFactory(self.area, self._store.findUploadJob, self._keepDiagnostics)
            ports = self.centralSystem.listen(
                "files", self.files.ftpEndpoints, factory, "ftp_endpoint"
            )
            self.uploadUrls["ftp"] = self.files.ftpPublicUrl or _baseUrl("ftp", ports[0])
        self._sweeper.start(min(self.jobTimeout, SWEEP_INTERVAL), now=False)

    def stopService(self) -> None:
        super().stopService()
        if self._sweeper.running:
            self._sweeper.stop()
        for rollout in list(self._rollouts):
            rollout.cancel()

    # Locations

    def firmwareLocation(self, name: str) -> str | None:
        """
        @return: where stations download the hosted image C{name}, or L{None}
            when kcsms serves no files over HTTP.
        """
        return None if self.firmwareUrl is None else self.firmwareUrl + quote(name, safe="")

    def uploadLocation(self, token: str) -> str | None:
        """
        @return: where a station uploads diagnostics with C{token}: over FTP
            when enabled, else over HTTP, else L{None}.
        """
        if "ftp" in self.uploadUrls:
            host = self.uploadUrls["ftp"].removeprefix("ftp://")
            return f"ftp://{FTP_USER}:{token}@{host}/"
        if "http" in self.uploadUrls:
            return f"{self.uploadUrls['http']}{token}/"
        return None

    # Jobs

    def _deadline(self, request: dict[str, Any] | None, status: str) -> datetime | None:
        """
        @param request: the job's request, until the station reports.
        @return: when a job in C{status} times out: L{None} once it has
            completed; for an update not retrieved yet, counted from its
            retrieveDate.
        """
        if status in COMPLETED_FIRMWARE_JOB_STATUSES:
            return None
        start = self._now()
        if request is not None and "retrieveDate" in request:
            start = max(start, parseTimestamp(request["retrieveDate"]))
        return start + timedelta(seconds=self.jobTimeout)

    def _changed(self, job: FirmwareJob | None) -> None:
        if job is not None:
            self.log.info(
                "{kind} job {jobId} of {chargePointId}: {status}",
                kind=job.kind,
                jobId=job.jobId,
                chargePointId=job.chargePointId,
                status=job.status,
            )
            self.centralSystem.publish(FirmwareJobChanged(job))

    async def _create(
        self,
        chargePointId: str,
        kind: str,
        request: dict[str, Any],
        uploadToken: str | None = None,
        rolloutId: int | None = None,
    ) -> FirmwareJob:
        job = await self._store.createFirmwareJob(
            chargePointId,
            kind,
            request,
            self._now(),
            self._deadline(request, "Requested"),
            uploadToken,
            rolloutId,
        )
        self._changed(job)
        return job  # type: ignore[no-any-return]

    async def _answered(self, job: FirmwareJob, response: dict[str, Any]) -> FirmwareJob:
        fileName = response.get("fileName")
        job = await self._store.recordFirmwareJobEvent(
            job.jobId,
            "Answered",
            self._now(),
            self._deadline(job.request, "Answered"),
            detail=fileName,
            fileName=fileName,
        )
        self._changed(job)
        return job

    async def _send(self, job: FirmwareJob, request: dict[str, Any]) -> FirmwareJob:
        """
        Send a job's call and record the answer.

        @raise CallFailed: when the call fails (the job is C{Failed}).
        """
        try:
            response = await self.centralSystem.call(job.chargePointId, job.kind, request)
        except CallFailed as e:
            self._changed(
                await self._store.recordFirmwareJobEvent(
                    job.jobId, "Failed", self._now(), None, detail=f"{type(e).__name__}: {e}"
                )
            )
            raise
        return await self._answered(job, response)

    async def updateFirmware(
        self, chargePointId: str, request: dict[str, Any], rolloutId: int | None = None
    ) -> FirmwareJob:
        """
        Send UpdateFirmware (a schema-valid payload) and record it as a job.

        @return: the job once the station has answered.
        @raise CallFailed: when the call fails; the job is recorded C{Failed}.
        """
        job = await self._create(chargePointId, "UpdateFirmware", request, rolloutId=rolloutId)
        return await self._send(job, request)

    def newUploadToken(self) -> str:
        """
        @return: a new credential for a diagnostics upload address.
        """
        return secrets.token_hex(16)

    async def getDiagnostics(
        self, chargePointId: str, request: dict[str, Any], uploadToken: str | None = None
    ) -> FirmwareJob:
        """
        Send GetDiagnostics (a schema-valid payload) and record it as a job.

        @param uploadToken: the token of the L{uploadLocation} in C{request},
            when the station uploads to kcsms.
        @return: the job once the station has answered.
        @raise CallFailed: when the call fails; the job is recorded C{Failed}.
        """
        job = await self._create(chargePointId, "GetDiagnostics", request, uploadToken=uploadToken)
        return await self._send(job, request)

    async def _report(self, chargePointId: str, kind: str, status: str) -> None:
        if status == "Idle":
            self.log.info(
                "{chargePointId} reports {kind} Idle", chargePointId=chargePointId, kind=kind
            )
            return
        self._changed(
            await self._store.reportFirmwareJobStatus(
                chargePointId, kind, status, self._now(), self._deadline(None, status)
            )
        )

    async def ocpp_FirmwareStatusNotification(
        self, session: IChargePointSession, request: dict[str, Any]
    ) -> dict[str, Any]:
        await self._report(session.chargePointId, "UpdateFirmware", request["status"])
        return {}

    async def ocpp_DiagnosticsStatusNotification(
        self, session: IChargePointSession, request: dict[str, Any]
    ) -> dict[str, Any]:
        await self._report(session.chargePointId, "GetDiagnostics", request["status"])
        return {}

    async def _keepDiagnostics(self, job: FirmwareJob, fileName: str, spool: Spool) -> None:
        """
        Keep a diagnostics file a station uploaded for C{job}.
        """
        spool.keep(self.area.diagnosticsPath(job.chargePointId, fileName))
        await self._store.recordDiagnosticsFile(
            DiagnosticsFile(
                job.chargePointId, fileName, spool.size, spool.sha256, self._now(), job.jobId
            )
        )
        self.log.info(
            "{chargePointId} uploaded {fileName} ({size} bytes)",
            chargePointId=job.chargePointId,
            fileName=fileName,
            size=spool.size,
        )

    # Watching

    def _observe(self, event: Any) -> None:
        if isinstance(event, CallAnswered) and event.action in ("UpdateFirmware", "GetDiagnostics"):
            work = self._recordRawCall(event)
        elif isinstance(event, BootNotificationReceived):
            work = self._recordBoot(event)
        else:
            return
        self._inBackground(work, f"Recording {type(event).__name__}")

    async def _latest(self, chargePointId: str, kind: str) -> FirmwareJob | None:
        jobs = await self._store.listFirmwareJobs(chargePointId, kind)
        return jobs[-1] if jobs else None

    async def _recordRawCall(self, event: CallAnswered) -> None:
        """
        Record a call that went out through the calls route as a job.  Only
        the node holding the station records it; a call this profile sent is
        already recorded (its job has that request and no answer yet).
        """
        if self.centralSystem.session(event.chargePointId) is None:
            return
        latest = await self._latest(event.chargePointId, event.action)
        if (
            latest is not None
            and latest.request == event.request
            and all(entry.event != "Answered" for entry in latest.history)
        ):
            return
        job = await self._create(event.chargePointId, event.action, event.request)
        await self._answered(job, event.response)

    async def _recordBoot(self, event: BootNotificationReceived) -> None:
        latest = await self._latest(event.chargePointId, "UpdateFirmware")
        if latest is not None and latest.deadline is not None:
            boot = event.chargePoint.boot if event.chargePoint is not None else None
            self._changed(
                await self._store.recordFirmwareJobEvent(
                    latest.jobId,
                    "BootNotification",
                    self._now(),
                    self._deadline(None, "BootNotification"),
                    detail=boot.firmwareVersion if boot is not None else None,
                )
            )

    async def _sweep(self) -> None:
        for job in await self._store.timeOutFirmwareJobs(self._now()):
            self.log.warn(
                "{kind} job {jobId} of {chargePointId} timed out",
                kind=job.kind,
                jobId=job.jobId,
                chargePointId=job.chargePointId,
            )
            self.centralSystem.publish(FirmwareJobChanged(job))

    # Rollouts

    async def startRollout(self, stations: list[str], request: dict[str, Any], pace: float) -> Any:
        """
        Record a rollout and start sending its UpdateFirmware to each
        station, C{pace} seconds apart (a call that fails is recorded on the
        station's job and the rollout goes on).

        @return: the L{kcsms.model.FirmwareRollout}.
        """
        rollout = await self._store.createFirmwareRollout(request, stations, pace, self._now())
        d = ensureDeferred(self._roll(rollout.rolloutId, stations, request, pace))
        self._rollouts.add(d)
        d.addErrback(lambda f: f.trap(CancelledError))
        d.addErrback(
            lambda f: self.log.failure("Rollout {rolloutId}", f, rolloutId=rollout.rolloutId)
        )
        d.addBoth(lambda _: self._rollouts.discard(d))
        return rollout

    async def _roll(
        self, rolloutId: int, stations: list[str], request: dict[str, Any], pace: float
    ) -> None:
        for index, chargePointId in enumerate(stations):
            if index:
                await deferLater(self.centralSystem.clock, pace, lambda: None)
            try:
                await self.updateFirmware(chargePointId, dict(request), rolloutId)
            except CallFailed:
                pass  # recorded on its job
        self.log.info("Rollout {rolloutId} sent to every station", rolloutId=rolloutId)
