"""
Operator API routes of the FirmwareManagement profile: firmware images
(uploaded as the raw request body, streamed to disk), firmware updates and
diagnostics requests per station with their jobs, the diagnostics files
stations uploaded, and rollouts of one update to many stations.
"""

from typing import Any

from twisted.web.server import Request

from kcsms.api.resource import FileAnswer, readJson
from kcsms.api.router import ApiError, route
from kcsms.api.validation import callFailure, checkFields
from kcsms.errors import CallFailed
from kcsms.files import checkFileName, uploadRequestFactory
from kcsms.model import DiagnosticsFile, FirmwareImage, FirmwareJob, FirmwareRollout
from kcsms.ocppj import OcppError
from kcsms.schemas import validateRequest
from kcsms.timestamps import formatTimestamp

__all__ = ["FirmwareApi"]

#: The most stations one rollout reaches.
MAX_ROLLOUT_STATIONS = 10000

_TIME = {"type": "string", "format": "date-time"}
_OPTIONAL_TIME = {**_TIME, "nullable": True}
_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}


def _time(stamp: Any) -> str | None:
    return formatTimestamp(stamp) if stamp is not None else None


def _job(job: FirmwareJob) -> dict[str, Any]:
    return {
        "jobId": job.jobId,
        "chargePointId": job.chargePointId,
        "kind": job.kind,
        "status": job.status,
        "result": job.result,
        "request": job.request,
        "fileName": job.fileName,
        "rolloutId": job.rolloutId,
        "createdAt": _time(job.createdAt),
        "updatedAt": _time(job.updatedAt),
        "deadline": _time(job.deadline),
        "history": [
            {"event": entry.event, "at": _time(entry.at), "detail": entry.detail}
            for entry in job.history
        ],
    }


def _diagnosticsFile(file: DiagnosticsFile) -> dict[str, Any]:
    return {
        "fileName": file.fileName,
        "size": file.size,
        "sha256": file.sha256,
        "uploadedAt": _time(file.uploadedAt),
        "jobId": file.jobId,
    }


def _payload(action: str, body: dict[str, Any]) -> dict[str, Any]:
    """
    @return: C{body} once it is a valid C{action} payload.
    @raise ApiError: 400 otherwise.
    """
    try:
        validateRequest(action, body)
    except OcppError as e:
        raise ApiError(400, "BadRequest", e.description) from None
    return body


def _fileName(name: str) -> str:
    try:
        return checkFileName(name)
    except ValueError as e:
        raise ApiError(400, "BadFileName", str(e)) from None


class FirmwareApi:
    """
    The routes; C{profile} is the L{kcsms.profiles.firmware.FirmwareProfile}.
    Its C{requestFactory} makes the API's requests spool their bodies into
    the profile's file area, refused beyond C{[files] max_file_size}.
    """

    schemas = {
        "FirmwareImage": {
            "type": "object",
            "required": ["name", "size", "sha256", "uploadedAt"],
            "properties": {
                "name": _STRING,
                "size": _INTEGER,
                "sha256": _STRING,
                "uploadedAt": _TIME,
                "location": {
                    "type": "string",
                    "nullable": True,
                    "description": "where stations download it (null without [files] endpoint)",
                },
            },
        },
        "FirmwareImageList": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/FirmwareImage"},
        },
        "FirmwareUpdateBody": {
            "type": "object",
            "description": 'give "location" (any URL) or "image" (a hosted image\'s name)',
            "properties": {
                "location": _STRING,
                "image": _STRING,
                "retrieveDate": {**_TIME, "description": "default: now"},
                "retries": _INTEGER,
                "retryInterval": _INTEGER,
            },
        },
        "DiagnosticsBody": {
            "type": "object",
            "properties": {
                "location": {**_STRING, "description": "default: an upload address of kcsms"},
                "startTime": _TIME,
                "stopTime": _TIME,
                "retries": _INTEGER,
                "retryInterval": _INTEGER,
            },
        },
        "FirmwareJob": {
            "type": "object",
            "required": ["jobId", "chargePointId", "kind", "status", "history"],
            "properties": {
                "jobId": _INTEGER,
                "chargePointId": _STRING,
                "kind": {"type": "string", "enum": ["UpdateFirmware", "GetDiagnostics"]},
                "status": _STRING,
                "result": {
                    "type": "string",
                    "nullable": True,
                    "description": "the final status once the job has ended",
                },
                "request": {"type": "object", "nullable": True},
                "fileName": {"type": "string", "nullable": True},
                "rolloutId": {"type": "integer", "nullable": True},
                "createdAt": _TIME,
                "updatedAt": _TIME,
                "deadline": _OPTIONAL_TIME,
                "history": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "event": _STRING,
                            "at": _TIME,
                            "detail": {"type": "string", "nullable": True},
                        },
                    },
                },
            },
        },
        "FirmwareJobList": {"type": "array", "items": {"$ref": "#/components/schemas/FirmwareJob"}},
        "DiagnosticsFileList": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "fileName": _STRING,
                    "size": _INTEGER,
                    "sha256": _STRING,
                    "uploadedAt": _TIME,
                    "jobId": {"type": "integer", "nullable": True},
                },
            },
        },
        "RolloutBody": {
            "allOf": [
                {"$ref": "#/components/schemas/FirmwareUpdateBody"},
                {
                    "type": "object",
                    "required": ["stations"],
                    "properties": {
                        "stations": {"type": "array", "items": _STRING},
                        "pace": {
                            "type": "number",
                            "minimum": 0,
                            "description": "seconds between two stations (default 0)",
                        },
                    },
                },
            ]
        },
        "Rollout": {
            "type": "object",
            "properties": {
                "rolloutId": _INTEGER,
                "request": {"type": "object"},
                "pace": {"type": "number"},
                "createdAt": _TIME,
                "stations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "chargePointId": _STRING,
                            "status": {
                                "type": "string",
                                "description": "Pending until its UpdateFirmware is sent",
                            },
                            "jobId": {"type": "integer", "nullable": True},
                        },
                    },
                },
            },
        },
        "RolloutList": {"type": "array", "items": {"$ref": "#/components/schemas/Rollout"}},
    }

    def __init__(self, profile: Any) -> None:
        self.profile = profile
        self.requestFactory = uploadRequestFactory(profile.area)

    @property
    def _store(self) -> Any:
        return self.profile.centralSystem.store

    def _image(self, image: FirmwareImage) -> dict[str, Any]:
        return {
            "name": image.name,
            "size": image.size,
            "sha256": image.sha256,
            "uploadedAt": _time(image.uploadedAt),
            "location": self.profile.firmwareLocation(image.name),
        }

    async def _station(self, chargePointId: str) -> None:
        """
        @raise ApiError: 404 for a station neither registered nor connected.
        """
        if await self._store.getChargePoint(chargePointId) is None:
            if not await self.profile.centralSystem.isConnected(chargePointId):
                raise ApiError(404, "NotFound", f"no charge point {chargePointId!r}")

    # Firmware images

    @route(
        "PUT",
        "/firmware/{name}",
        "Upload a firmware image: the request body is the image (any content type), "
        "streamed to disk; its sha256 is recorded.",
        {
            200: ("replaced", "FirmwareImage"),
            201: ("created", "FirmwareImage"),
            400: ("bad name or empty body", "Error"),
            413: ("larger than [files] max_file_size", "Error"),
        },
    )
    async def putFirmware(self, request: Request, name: str) -> tuple[int, Any]:
        path = self.profile.area.firmwarePath(_fileName(name))
        spool = request.spool  # type: ignore[attr-defined]
        if spool.size == 0:
            raise ApiError(400, "BadRequest", "the body (the firmware image) is empty")
        spool.keep(path)
        image = FirmwareImage(name, spool.size, spool.sha256, self.profile.centralSystem.now())
        created = await self._store.putFirmwareImage(image)
        return (201 if created else 200), self._image(image)

    @route(
        "GET",
        "/firmware",
        "The firmware images kcsms hosts.",
        {200: ("the images, by name", "FirmwareImageList")},
    )
    async def listFirmware(self, request: Request) -> tuple[int, Any]:
        return 200, [self._image(image) for image in await self._store.listFirmwareImages()]

    # Firmware updates

    async def _updateFirmwareRequest(
        self, body: dict[str, Any], extra: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """
        @return: the UpdateFirmware payload the body asks for.
        @raise ApiError: 400, 404 or 409 when it cannot be made.
        """
        checkFields(
            body, {"location", "image", "retrieveDate", "retries", "retryInterval"} | extra, set()
        )
        if ("location" in body) == ("image" in body):
            raise ApiError(400, "BadRequest", 'give either "location" or "image"')
        payload: dict[str, Any] = {
            key: body[key]
            for key in ("location", "retrieveDate", "retries", "retryInterval")
            if key in body
        }
        if "image" in body:
            name = body["image"]
            if not isinstance(name, str) or await self._store.getFirmwareImage(name) is None:
                raise ApiError(404, "NotFound", f"no firmware image {name!r}")
            payload["location"] = self.profile.firmwareLocation(name)
            if payload["location"] is None:
                raise ApiError(409, "NotHosted", "kcsms serves no files: set [files] endpoint")
        payload.setdefault("retrieveDate", formatTimestamp(self.profile.centralSystem.now()))
        return _payload("UpdateFirmware", payload)

    @route(
        "POST",
        "/chargepoints/{chargePointId}/firmware-updates",
        "Send UpdateFirmware (every field as given; retrieveDate defaults to now) and record "
        "it as a job that follows the station's FirmwareStatusNotifications.",
        {
            201: ("the job, once the station answered", "FirmwareJob"),
            400: ("bad body", "Error"),
            404: ("no such charge point or image", "Error"),
            409: ("not connected (the job is recorded Failed), or no file hosting", "Error"),
            502: ("the station answered with a CALLERROR (the job is Failed)", "CallError"),
            504: ("the station did not answer (the job is Failed)", "Error"),
        },
        requestBody="FirmwareUpdateBody",
    )
    async def postFirmwareUpdate(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        payload = await self._updateFirmwareRequest(readJson(request))
        await self._station(chargePointId)
        try:
            job = await self.profile.updateFirmware(chargePointId, payload)
        except CallFailed as e:
            raise callFailure(e, chargePointId, "UpdateFirmware") from None
        return 201, _job(job)

    async def _jobs(self, chargePointId: str, kind: str) -> tuple[int, Any]:
        await self._station(chargePointId)
        return 200, [_job(job) for job in await self._store.listFirmwareJobs(chargePointId, kind)]

    @route(
        "GET",
        "/chargepoints/{chargePointId}/firmware-updates",
        "A station's firmware update jobs with their history, oldest first.",
        {200: ("the jobs", "FirmwareJobList"), 404: ("no such charge point", "Error")},
    )
    async def listFirmwareUpdates(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        return await self._jobs(chargePointId, "UpdateFirmware")

    # Diagnostics

    @route(
        "POST",
        "/chargepoints/{chargePointId}/diagnostics",
        "Send GetDiagnostics (every field as given; without location the station uploads to "
        "kcsms, over FTP when [files] ftp_endpoint is set, else HTTP) and record it as a job.",
        {
            201: ("the job, with the file name the station reported", "FirmwareJob"),
            400: ("bad body", "Error"),
            404: ("no such charge point", "Error"),
            409: ("not connected (the job is Failed), or no location and no file hosting", "Error"),
            502: ("the station answered with a CALLERROR (the job is Failed)", "CallError"),
            504: ("the station did not answer (the job is Failed)", "Error"),
        },
        requestBody="DiagnosticsBody",
    )
    async def postDiagnostics(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        body = readJson(request)
        checkFields(body, {"location", "startTime", "stopTime", "retries", "retryInterval"}, set())
        token = None
        if "location" not in body:
            token = self.profile.newUploadToken()
            body["location"] = self.profile.uploadLocation(token)
            if body["location"] is None:
                raise ApiError(
                    409,
                    "NotHosted",
                    "give a location: kcsms takes no uploads without [files] "
                    "ftp_endpoint or endpoint",
                )
        payload = _payload("GetDiagnostics", body)
        await self._station(chargePointId)
        try:
            job = await self.profile.getDiagnostics(chargePointId, payload, token)
        except CallFailed as e:
            raise callFailure(e, chargePointId, "GetDiagnostics") from None
        return 201, _job(job)

    @route(
        "GET",
        "/chargepoints/{chargePointId}/diagnostics",
        "A station's diagnostics jobs with their history, oldest first.",
        {200: ("the jobs", "FirmwareJobList"), 404: ("no such charge point", "Error")},
    )
    async def listDiagnostics(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        return await self._jobs(chargePointId, "GetDiagnostics")

    @route(
        "GET",
        "/chargepoints/{chargePointId}/diagnostics/files",
        "The diagnostics files a station uploaded to kcsms.",
        {200: ("the files", "DiagnosticsFileList")},
    )
    async def listDiagnosticsFiles(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        files = await self._store.listDiagnosticsFiles(chargePointId)
        return 200, [_diagnosticsFile(file) for file in files]

    @route(
        "GET",
        "/chargepoints/{chargePointId}/diagnostics/files/{fileName}",
        "Download a diagnostics file a station uploaded (the file itself, not JSON).",
        {200: ("the file", None), 400: ("bad file name", "Error"), 404: ("no such file", "Error")},
    )
    async def getDiagnosticsFile(
        self, request: Request, chargePointId: str, fileName: str
    ) -> tuple[int, Any]:
        path = self.profile.area.diagnosticsPath(chargePointId, _fileName(fileName))
        if not path.isfile():
            raise ApiError(404, "NotFound", f"no diagnostics file {fileName!r} of {chargePointId}")
        return 200, FileAnswer(path.path)

    # Rollouts

    async def _rollout(self, rollout: FirmwareRollout) -> dict[str, Any]:
        jobs = {
            job.chargePointId: job
            for job in await self._store.listFirmwareJobs(rolloutId=rollout.rolloutId)
        }
        return {
            "rolloutId": rollout.rolloutId,
            "request": rollout.request,
            "pace": rollout.pace,
            "createdAt": _time(rollout.createdAt),
            "stations": [
                {
                    "chargePointId": chargePointId,
                    "status": jobs[chargePointId].status if chargePointId in jobs else "Pending",
                    "jobId": jobs[chargePointId].jobId if chargePointId in jobs else None,
                }
                for chargePointId in rollout.stations
            ],
        }

    @route(
        "POST",
        "/firmware-rollouts",
        "Send one UpdateFirmware to many stations, pace seconds apart, each as a job.",
        {202: ("started", "Rollout"), 400: ("bad body", "Error"), 404: ("no such image", "Error")},
        requestBody="RolloutBody",
    )
    async def postRollout(self, request: Request) -> tuple[int, Any]:
        body = readJson(request)
        payload = await self._updateFirmwareRequest(body, frozenset({"stations", "pace"}))
        stations = body.get("stations")
        if (
            not isinstance(stations, list)
            or not 0 < len(stations) <= MAX_ROLLOUT_STATIONS
            or not all(isinstance(station, str) and station for station in stations)
            or len(set(stations)) != len(stations)
        ):
            raise ApiError(
                400,
                "BadRequest",
                f"stations must be a list of 1 to {MAX_ROLLOUT_STATIONS} different charge point ids",
            )
        pace = body.get("pace", 0)
        if isinstance(pace, bool) or not isinstance(pace, int | float) or not 0 <= pace < 86400:
            raise ApiError(400, "BadRequest", "pace must be a number of seconds from 0 to 86400")
        rollout = await self.profile.startRollout(stations, payload, float(pace))
        return 202, await self._rollout(rollout)

    @route("GET", "/firmware-rollouts", "Every rollout.", {200: ("the rollouts", "RolloutList")})
    async def listRollouts(self, request: Request) -> tuple[int, Any]:
        return 200, [await self._rollout(r) for r in await self._store.listFirmwareRollouts()]

    @route(
        "GET",
        "/firmware-rollouts/{rolloutId}",
        "A rollout and where each of its stations is.",
        {200: ("the rollout", "Rollout"), 404: ("no such rollout", "Error")},
    )
    async def getRollout(self, request: Request, rolloutId: str) -> tuple[int, Any]:
        rollout = (
            await self._store.getFirmwareRollout(int(rolloutId)) if rolloutId.isdigit() else None
        )
        if rollout is None:
            raise ApiError(404, "NotFound", f"no rollout {rolloutId!r}")
        return 200, await self._rollout(rollout)
