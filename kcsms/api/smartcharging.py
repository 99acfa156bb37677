"""
Operator API routes of the SmartCharging profile: install a charging profile
checked against OCPP 1.6's rules (SetChargingProfile), list the profiles a
station has installed, clear them by id or by criteria
(ClearChargingProfile), start a transaction with a profile
(RemoteStartTransaction), and show a connector's composite schedule as kcsms
computes it, as the station reports it, or both with where they differ.

A profile that breaks a rule is answered 422 with the rule in C{rule} and
nothing is sent; the calls route still sends any schema-valid payload as given.
"""

import re
from typing import Any

from twisted.web.server import Request

from kcsms.api.resource import readJson
from kcsms.api.router import ApiError, QueryParameter, route
from kcsms.api.validation import (
    CALL_RESPONSES,
    callFailure,
    checkFields,
    choiceArgument,
    isInteger,
    queryArgument,
)
from kcsms.errors import CallFailed
from kcsms.model import InstalledChargingProfile
from kcsms.schedule import (
    PURPOSES,
    RATE_UNITS,
    Composite,
    ProfileRuleError,
    differences,
    fromCompositeAnswer,
)
from kcsms.timestamps import formatTimestamp

__all__ = ["SmartChargingApi"]

#: Where a composite schedule comes from.
SOURCES = ("kcsms", "station", "both")

_INTEGER = {"type": "integer"}
_NUMBER = {"type": "number", "multipleOf": 0.1}
_TIME = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _schedule(periodLimit: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["chargingRateUnit", "chargingSchedulePeriod"],
        "properties": {
            "duration": _INTEGER,
            "startSchedule": _TIME,
            "chargingRateUnit": {"type": "string", "enum": list(RATE_UNITS)},
            "chargingSchedulePeriod": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["startPeriod", "limit"],
                    "properties": {
                        "startPeriod": _INTEGER,
                        "limit": periodLimit,
                        "numberPhases": _INTEGER,
                    },
                },
            },
            "minChargingRate": _NUMBER,
        },
    }


def _installedJson(installed: InstalledChargingProfile) -> dict[str, Any]:
    return {
        "connectorId": installed.connectorId,
        "transactionId": installed.transactionId,
        "installedAt": formatTimestamp(installed.installedAt),
        "csChargingProfiles": installed.chargingProfile,
    }


def _integerArgument(request: Request, name: str, minimum: int) -> int | None:
    """
    @return: a whole-number query argument, or L{None} when absent.
    @raise ApiError: 400 when it is not a whole number of at least C{minimum}.
    """
    text = queryArgument(request, name)
    if text is None:
        return None
    if not re.fullmatch(r"-?\d{1,18}", text) or int(text) < minimum:
        raise ApiError(400, "BadRequest", f"{name} must be a whole number, {minimum} or more")
    return int(text)


def _connectorId(body: dict[str, Any], minimum: int) -> int:
    connectorId = body["connectorId"]
    if not isInteger(connectorId) or connectorId < minimum:
        raise ApiError(400, "BadRequest", f"connectorId must be a whole number, {minimum} or more")
    return connectorId  # type: ignore[no-any-return]


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body[name]
    if not isinstance(value, dict):
        raise ApiError(400, "BadRequest", f"{name} must be an object (an OCPP ChargingProfile)")
    return value


def _ruleViolation(error: ProfileRuleError) -> ApiError:
    return ApiError(422, "RuleViolation", str(error), rule=error.rule)


def _comparison(
    ours: Composite, answer: dict[str, Any], connectorId: int, voltage: float
) -> dict[str, Any]:
    station = fromCompositeAnswer(answer, connectorId, ours.scheduleStart, ours.duration)
    found = None if station is None else differences(ours, station, voltage)
    return {
        "kcsms": ours.toJson(),
        "station": answer,
        "same": found == [],
        "differences": None
        if found is None
        else [
            {
                "startPeriod": difference.startPeriod,
                "endPeriod": difference.endPeriod,
                "kcsms": difference.limits[0],
                "station": difference.limits[1],
            }
            for difference in found
        ],
    }


class SmartChargingApi:
    """
    The routes; C{profile} is the L{kcsms.profiles.smartcharging.SmartChargingProfile}.
    """

    schemas = {
        "ChargingProfile": {
            "type": "object",
            "description": "an OCPP 1.6 ChargingProfile",
            "required": [
                "chargingProfileId",
                "stackLevel",
                "chargingProfilePurpose",
                "chargingProfileKind",
                "chargingSchedule",
            ],
            "properties": {
                "chargingProfileId": _INTEGER,
                "transactionId": _INTEGER,
                "stackLevel": {**_INTEGER, "minimum": 0},
                "chargingProfilePurpose": {"type": "string", "enum": list(PURPOSES)},
                "chargingProfileKind": {
                    "type": "string",
                    "enum": ["Absolute", "Recurring", "Relative"],
                },
                "recurrencyKind": {"type": "string", "enum": ["Daily", "Weekly"]},
                "validFrom": _TIME,
                "validTo": _TIME,
                "chargingSchedule": _schedule(_NUMBER),
            },
        },
        "ChargingProfileRequest": {
            "type": "object",
            "required": ["connectorId", "csChargingProfiles"],
            "description": "SetChargingProfile.req; a TxProfile without transactionId gets "
            "the connector's running transaction",
            "properties": {
                "connectorId": {**_INTEGER, "minimum": 0},
                "csChargingProfiles": _ref("ChargingProfile"),
            },
        },
        "ChargingProfileAnswer": {
            "type": "object",
            "required": ["status", "connectorId", "csChargingProfiles"],
            "properties": {
                "status": {"type": "string", "enum": ["Accepted", "Rejected", "NotSupported"]},
                "connectorId": _INTEGER,
                "csChargingProfiles": _ref("ChargingProfile"),
            },
        },
        "InstalledChargingProfile": {
            "type": "object",
            "required": ["connectorId", "transactionId", "installedAt", "csChargingProfiles"],
            "properties": {
                "connectorId": {
                    **_INTEGER,
                    "description": "0 also for a RemoteStartTransaction's TxProfile "
                    "that named no connector, until its transaction starts",
                },
                "transactionId": {
                    **_INTEGER,
                    "nullable": True,
                    "description": "a TxProfile's transaction (null while it awaits it)",
                },
                "installedAt": _TIME,
                "csChargingProfiles": _ref("ChargingProfile"),
            },
        },
        "InstalledChargingProfileList": {
            "type": "array",
            "items": _ref("InstalledChargingProfile"),
        },
        "ClearAnswer": {
            "type": "object",
            "required": ["status", "cleared"],
            "properties": {
                "status": {"type": "string", "enum": ["Accepted", "Unknown"]},
                "cleared": {
                    "description": "the installed profiles the station cleared",
                    **_ref("InstalledChargingProfileList"),
                },
            },
        },
        "RemoteStartRequest": {
            "type": "object",
            "required": ["idTag"],
            "properties": {
                "idTag": {"type": "string", "maxLength": 20},
                "connectorId": {**_INTEGER, "minimum": 1},
                "chargingProfile": _ref("ChargingProfile"),
            },
        },
        "RemoteStartAnswer": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string", "enum": ["Accepted", "Rejected"]}},
        },
        "CompositeSchedule": {
            "type": "object",
            "description": "GetCompositeSchedule.conf; in kcsms's own a limit is null where "
            "no profile limits",
            "required": ["status"],
            "properties": {
                "status": {"type": "string", "enum": ["Accepted", "Rejected"]},
                "connectorId": _INTEGER,
                "scheduleStart": _TIME,
                "chargingSchedule": _schedule({"type": "number", "nullable": True}),
            },
        },
        "CompositeComparison": {
            "type": "object",
            "required": ["kcsms", "station", "same", "differences"],
            "properties": {
                "kcsms": _ref("CompositeSchedule"),
                "station": _ref("CompositeSchedule"),
                "same": {"type": "boolean"},
                "differences": {
                    "type": "array",
                    "nullable": True,
                    "description": "where the limits differ, in seconds after kcsms's "
                    "scheduleStart and in its unit (null when the station gave no schedule)",
                    "items": {
                        "type": "object",
                        "properties": {
                            "startPeriod": _INTEGER,
                            "endPeriod": _INTEGER,
                            "kcsms": {"type": "number", "nullable": True},
                            "station": {"type": "number", "nullable": True},
                        },
                    },
                },
            },
        },
        "CompositeAnswer": {
            "oneOf": [_ref("CompositeSchedule"), _ref("CompositeComparison")],
        },
    }

    def __init__(self, profile: Any) -> None:
        self.profile = profile

    @property
    def _centralSystem(self) -> Any:
        return self.profile.centralSystem

    async def _known(self, chargePointId: str) -> None:
        """
        @raise ApiError: 404 for a station neither registered nor connected.
        """
        if await self._centralSystem.store.getChargePoint(
            chargePointId
        ) is None and not await self._centralSystem.isConnected(chargePointId):
            raise ApiError(404, "NotFound", f"no charge point {chargePointId!r}")

    @route(
        "POST",
        "/chargepoints/{chargePointId}/chargingprofiles",
        "Install a charging profile: checks it against OCPP 1.6's rules, fills in a "
        "TxProfile's transactionId, sends SetChargingProfile and mirrors it when Accepted.",
        {
            200: ("the station's answer and the profile sent", "ChargingProfileAnswer"),
            400: ("bad body, or the request breaks SetChargingProfile's schema", "Error"),
            422: ("the profile breaks an OCPP 1.6 rule, named in rule", "Error"),
            **CALL_RESPONSES,
        },
        requestBody="ChargingProfileRequest",
    )
    async def postChargingProfile(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        body = readJson(request)
        checkFields(
            body, {"connectorId", "csChargingProfiles"}, {"connectorId", "csChargingProfiles"}
        )
        connectorId = _connectorId(body, 0)
        profile = _object(body, "csChargingProfiles")
        try:
            status, sent = await self.profile.setChargingProfile(
                chargePointId, connectorId, profile
            )
        except ProfileRuleError as e:
            raise _ruleViolation(e) from None
        except CallFailed as e:
            raise callFailure(e, chargePointId, "SetChargingProfile") from None
        return 200, {"status": status, "connectorId": connectorId, "csChargingProfiles": sent}

    @route(
        "GET",
        "/chargepoints/{chargePointId}/chargingprofiles",
        "The charging profiles the station has installed, as kcsms mirrors them.",
        {
            200: ("by connector, purpose, stackLevel and id", "InstalledChargingProfileList"),
            400: ("bad connectorId", "Error"),
            404: ("no such charge point", "Error"),
        },
        query=(QueryParameter("connectorId", {**_INTEGER, "minimum": 0}, "only this connector's"),),
    )
    async def listChargingProfiles(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        connectorId = _integerArgument(request, "connectorId", 0)
        await self._known(chargePointId)
        installed = await self._centralSystem.store.listChargingProfiles(chargePointId, connectorId)
        return 200, [_installedJson(profile) for profile in installed]

    async def _clear(self, chargePointId: str, payload: dict[str, Any]) -> tuple[int, Any]:
        try:
            status, cleared = await self.profile.clearChargingProfile(chargePointId, payload)
        except CallFailed as e:
            raise callFailure(e, chargePointId, "ClearChargingProfile") from None
        return 200, {"status": status, "cleared": [_installedJson(p) for p in cleared]}

    @route(
        "DELETE",
        "/chargepoints/{chargePointId}/chargingprofiles/{chargingProfileId}",
        "Clear one charging profile by id: sends ClearChargingProfile with only its id.",
        {
            200: ("the station's answer and what it cleared", "ClearAnswer"),
            400: ("not a chargingProfileId", "Error"),
            **CALL_RESPONSES,
        },
    )
    async def deleteChargingProfile(
        self, request: Request, chargePointId: str, chargingProfileId: str
    ) -> tuple[int, Any]:
        if not re.fullmatch(r"-?\d{1,18}", chargingProfileId):
            raise ApiError(400, "BadRequest", "a chargingProfileId is a whole number")
        return await self._clear(chargePointId, {"id": int(chargingProfileId)})

    @route(
        "DELETE",
        "/chargepoints/{chargePointId}/chargingprofiles",
        "Clear charging profiles by criteria: sends ClearChargingProfile with those given "
        "(every one must match); with none, the station clears them all.",
        {
            200: ("the station's answer and what it cleared", "ClearAnswer"),
            400: ("bad criterion", "Error"),
            **CALL_RESPONSES,
        },
        query=(
            QueryParameter("connectorId", {**_INTEGER, "minimum": 0}, "0: the station's own"),
            QueryParameter("purpose", {"type": "string", "enum": list(PURPOSES)}, "the purpose"),
            QueryParameter("stackLevel", {**_INTEGER, "minimum": 0}, "the stack level"),
        ),
    )
    async def clearChargingProfiles(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        criteria = {
            "connectorId": _integerArgument(request, "connectorId", 0),
            "chargingProfilePurpose": choiceArgument(request, "purpose", PURPOSES),
            "stackLevel": _integerArgument(request, "stackLevel", 0),
        }
        payload = {name: value for name, value in criteria.items() if value is not None}
        return await self._clear(chargePointId, payload)

    @route(
        "POST",
        "/chargepoints/{chargePointId}/remotestart",
        "Start a transaction remotely (RemoteStartTransaction), with a chargingProfile "
        "checked against OCPP 1.6's rules (a TxProfile without transactionId); an "
        "accepted one is mirrored and joins the transaction when it starts.",
        {
            200: ("the station's answer", "RemoteStartAnswer"),
            400: ("bad body, or the request breaks RemoteStartTransaction's schema", "Error"),
            422: ("the profile breaks an OCPP 1.6 rule, named in rule", "Error"),
            **CALL_RESPONSES,
        },
        requestBody="RemoteStartRequest",
    )
    async def postRemoteStart(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        body = readJson(request)
        checkFields(body, {"idTag", "connectorId", "chargingProfile"}, {"idTag"})
        if "connectorId" in body:
            _connectorId(body, 1)
        if "chargingProfile" in body:
            _object(body, "chargingProfile")
        try:
            status = await self.profile.remoteStart(chargePointId, body)
        except ProfileRuleError as e:
            raise _ruleViolation(e) from None
        except CallFailed as e:
            raise callFailure(e, chargePointId, "RemoteStartTransaction") from None
        return 200, {"status": status}

    @route(
        "GET",
        "/chargepoints/{chargePointId}/compositeschedule",
        "A connector's composite schedule from now (connector 0: the station-wide limit), "
        "in GetCompositeSchedule.conf's shape: computed by kcsms from the profiles it "
        "mirrors, asked of the station (GetCompositeSchedule), or both with where they differ.",
        {
            200: ("the composite, or both and their differences", "CompositeAnswer"),
            400: ("bad query", "Error"),
            **CALL_RESPONSES,
        },
        query=(
            QueryParameter("connectorId", {**_INTEGER, "minimum": 0}, "the connector (required)"),
            QueryParameter("duration", {**_INTEGER, "minimum": 1}, "seconds (required)"),
            QueryParameter(
                "chargingRateUnit",
                {"type": "string", "enum": list(RATE_UNITS)},
                "the unit; by default the station's choice, and A for kcsms's own",
            ),
            QueryParameter(
                "source",
                {"type": "string", "enum": list(SOURCES), "default": "kcsms"},
                "kcsms computes it, the station reports it, or both",
            ),
        ),
    )
    async def getCompositeSchedule(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        connectorId = _integerArgument(request, "connectorId", 0)
        duration = _integerArgument(request, "duration", 1)
        if connectorId is None or duration is None:
            raise ApiError(400, "BadRequest", "connectorId and duration are required")
        unit = choiceArgument(request, "chargingRateUnit", RATE_UNITS)
        source = choiceArgument(request, "source", SOURCES) or "kcsms"
        answer: dict[str, Any] = {}
        if source != "kcsms":
            payload: dict[str, Any] = {"connectorId": connectorId, "duration": duration}
            if unit is not None:
                payload["chargingRateUnit"] = unit
            try:
                answer = await self._centralSystem.call(
                    chargePointId, "GetCompositeSchedule", payload
                )
            except CallFailed as e:
                raise callFailure(e, chargePointId, "GetCompositeSchedule") from None
            if source == "station":
                return 200, answer
        await self._known(chargePointId)
        reported = answer.get("chargingSchedule", {}).get("chargingRateUnit")
        ours = await self.profile.composite(
            chargePointId, connectorId, duration, unit or reported or "A"
        )
        if source == "kcsms":
            return 200, ours.toJson()
        voltage = self._centralSystem.config.smartcharging.voltage
        return 200, _comparison(ours, answer, connectorId, voltage)
