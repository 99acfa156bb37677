"""
Operator API routes of station security and the audit log: a station's
security profile and Basic-auth password, raising the profile and rotating
the password through ChangeConfiguration (taking effect only when the
station accepts), and reading the audit log.
"""

import os
from typing import Any

from twisted.web.server import Request

from kcsms.api.resource import readJson
from kcsms.api.router import ApiError, QueryParameter, route
from kcsms.api.validation import CALL_RESPONSES, callStation, checkFields, limitArgument
from kcsms.model import SECURITY_PROFILES, AuditEntry, StationCredentials
from kcsms.protocol import MAX_CHARGEPOINT_ID_LENGTH
from kcsms.security import MAX_PASSWORD_BYTES, PasswordError, passwordBytes
from kcsms.timestamps import formatTimestamp

__all__ = ["SecurityApi"]

#: The most audit entries one request returns, and the default.
MAX_AUDIT = 10000
DEFAULT_AUDIT = 100

_SECURITY_PROFILE = {"type": "integer", "enum": list(SECURITY_PROFILES)}


def _checkId(chargePointId: str) -> None:
    if len(chargePointId) > MAX_CHARGEPOINT_ID_LENGTH:
        raise ApiError(
            400, "BadRequest", f"a chargePointId has at most {MAX_CHARGEPOINT_ID_LENGTH} characters"
        )


def _profileField(body: dict[str, Any], nullable: bool) -> int | None:
    value = body["securityProfile"]
    if (value is None and nullable) or (type(value) is int and value in SECURITY_PROFILES):
        return value  # type: ignore[no-any-return]
    raise ApiError(
        400, "BadRequest", "securityProfile must be 0, 1, 2 or 3" + (" or null" if nullable else "")
    )


class SecurityApi:
    """
    The routes; they act through C{centralSystem}, the
    L{kcsms.service.CentralSystemService}.
    """

    schemas = {
        "StationSecurity": {
            "type": "object",
            "required": ["securityProfile", "siteDefault", "passwordSet"],
            "properties": {
                "securityProfile": _SECURITY_PROFILE,
                "siteDefault": {
                    "type": "boolean",
                    "description": "the profile is [ocpp] security_profile's",
                },
                "passwordSet": {"type": "boolean"},
            },
        },
        "SecurityProfileSetting": {
            "type": "object",
            "required": ["securityProfile"],
            "properties": {
                "securityProfile": {
                    **_SECURITY_PROFILE,
                    "nullable": True,
                    "description": "null: follow the site default",
                }
            },
        },
        "SecurityProfileUpgrade": {
            "type": "object",
            "required": ["securityProfile"],
            "properties": {"securityProfile": {"type": "integer", "enum": [1, 2, 3]}},
        },
        "Password": {
            "type": "object",
            "required": ["password"],
            "properties": {
                "password": {
                    "type": "string",
                    "description": "16 to 20 characters, or 32 to 40 hexadecimal digits",
                }
            },
        },
        "ConfigurationChange": {
            "type": "object",
            "required": ["status", "changed"],
            "properties": {
                "status": {
                    "type": "string",
                    "description": "the station's ChangeConfiguration status",
                },
                "changed": {"type": "boolean", "description": "kcsms switched to the new value"},
            },
        },
        "AuditEntry": {
            "type": "object",
            "required": ["timestamp", "who", "method", "path", "status"],
            "properties": {
                "timestamp": {"type": "string", "format": "date-time"},
                "who": {"type": "string", "description": "the token's name"},
                "method": {"type": "string"},
                "path": {"type": "string"},
                "status": {"type": "integer"},
            },
        },
        "AuditLog": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
    }

    def __init__(self, centralSystem: Any) -> None:
        self.centralSystem = centralSystem

    @property
    def _security(self) -> Any:
        return self.centralSystem.stationSecurity

    async def _securityJson(self, chargePointId: str) -> dict[str, Any]:
        credentials: StationCredentials = await self.centralSystem.store.getStationCredentials(
            chargePointId
        )
        return {
            "securityProfile": self._security.profileOf(credentials),
            "siteDefault": credentials.securityProfile is None,
            "passwordSet": credentials.passwordHash is not None,
        }

    async def _changeConfiguration(self, chargePointId: str, key: str, value: str) -> str:
        answer = await callStation(
            self.centralSystem, chargePointId, "ChangeConfiguration", {"key": key, "value": value}
        )
        return answer["status"]  # type: ignore[no-any-return]

    @route(
        "GET",
        "/chargepoints/{chargePointId}/security",
        "A station's security profile and whether it has a password.",
        {200: ("its security", "StationSecurity")},
    )
    async def getSecurity(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        return 200, await self._securityJson(chargePointId)

    @route(
        "PUT",
        "/chargepoints/{chargePointId}/security",
        "Set the security profile kcsms requires of a station, without telling the station "
        "(for stations configured otherwise, or to go back after a failed upgrade).",
        {200: ("its security now", "StationSecurity"), 400: ("bad body or id", "Error")},
        requestBody="SecurityProfileSetting",
        role="admin",
    )
    async def putSecurity(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        _checkId(chargePointId)
        body = readJson(request)
        checkFields(body, {"securityProfile"}, {"securityProfile"})
        profile = _profileField(body, nullable=True)
        await self.centralSystem.store.setSecurityProfile(chargePointId, profile)
        return 200, await self._securityJson(chargePointId)

    @route(
        "POST",
        "/chargepoints/{chargePointId}/security/upgrade",
        "Raise a station's security profile: sends ChangeConfiguration(SecurityProfile); "
        "when the station accepts, connections at a lower profile are refused from then on.",
        {
            200: ("the station's answer", "ConfigurationChange"),
            400: ("bad body, or not higher than the current profile", "Error"),
            409: ("the station is not connected, or a prerequisite is missing", "Error"),
            **{status: answer for status, answer in CALL_RESPONSES.items() if status != 409},
        },
        requestBody="SecurityProfileUpgrade",
        role="admin",
    )
    async def upgradeSecurity(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        body = readJson(request)
        checkFields(body, {"securityProfile"}, {"securityProfile"})
        profile = _profileField(body, nullable=False)
        assert profile is not None
        credentials = await self.centralSystem.store.getStationCredentials(chargePointId)
        current = self._security.profileOf(credentials)
        if profile <= current:
            raise ApiError(
                400,
                "BadRequest",
                f"{chargePointId} is at security profile {current}; a profile can only be raised",
            )
        self._checkPrerequisites(profile, credentials)
        status = await self._changeConfiguration(chargePointId, "SecurityProfile", str(profile))
        if status == "Accepted":
            await self.centralSystem.store.setSecurityProfile(chargePointId, profile)
        return 200, {"status": status, "changed": status == "Accepted"}

    def _checkPrerequisites(self, profile: int, credentials: StationCredentials) -> None:
        config = self.centralSystem.config
        missing = None
        if profile in (1, 2) and credentials.passwordHash is None:
            missing = "set the station's password first"
        elif profile >= 2 and not (
            config.ocpp.tlsEndpoints
            or any(endpoint.startswith("ssl:") for endpoint in config.ocpp.endpoints)
        ):
            missing = "kcsms has no TLS endpoint ([ocpp] tls_endpoint)"
        elif profile == 3 and config.tls.clientCa is None:
            missing = "kcsms verifies no client certificates ([tls] client_ca)"
        if missing is not None:
            raise ApiError(409, "PrerequisiteMissing", f"security profile {profile}: {missing}")

    @route(
        "PUT",
        "/chargepoints/{chargePointId}/password",
        "Set the password (AuthorizationKey) a station uses for HTTP Basic authentication; "
        "only a salted hash is kept.",
        {204: ("set", None), 400: ("bad body, password or id", "Error")},
        requestBody="Password",
        role="admin",
    )
    async def putPassword(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        _checkId(chargePointId)
        body = readJson(request)
        checkFields(body, {"password"}, {"password"})
        if not isinstance(body["password"], str):
            raise ApiError(400, "BadRequest", "password must be a string")
        try:
            secret = passwordBytes(body["password"])
        except PasswordError as e:
            raise ApiError(400, "BadRequest", str(e)) from None
        await self._security.setPassword(chargePointId, secret)
        return 204, None

    @route(
        "POST",
        "/chargepoints/{chargePointId}/rotate-password",
        "Give a station a new random password: sends ChangeConfiguration(AuthorizationKey) "
        "with 20 random bytes in hex; when the station accepts, only the new one is accepted.",
        {200: ("the station's answer", "ConfigurationChange"), **CALL_RESPONSES},
        role="admin",
    )
    async def rotatePassword(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        secret = os.urandom(MAX_PASSWORD_BYTES)
        status = await self._changeConfiguration(chargePointId, "AuthorizationKey", secret.hex())
        if status == "Accepted":
            await self._security.setPassword(chargePointId, secret)
        return 200, {"status": status, "changed": status == "Accepted"}

    @route(
        "GET",
        "/audit",
        "The audit log: every authenticated API request other than GET, newest last.",
        {200: ("the entries", "AuditLog"), 400: ("bad limit", "Error")},
        query=(
            QueryParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_AUDIT, "default": DEFAULT_AUDIT},
                "how many of the latest entries",
            ),
        ),
        role="admin",
    )
    async def getAudit(self, request: Request) -> tuple[int, Any]:
        limit = limitArgument(request, MAX_AUDIT, DEFAULT_AUDIT)
        entries: list[AuditEntry] = await self.centralSystem.store.listAudit(limit)
        return 200, [
            {
                "timestamp": formatTimestamp(entry.timestamp),
                "who": entry.who,
                "method": entry.method,
                "path": entry.path,
                "status": entry.status,
            }
            for entry in entries
        ]
