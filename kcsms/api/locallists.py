"""
Operator API routes of the LocalAuthListManagement profile: named local
lists, the list each station follows, what it has installed, and
synchronisation.
"""

from typing import Any

from twisted.web.server import Request

from kcsms.api.resource import readJson
from kcsms.api.router import ApiError, route
from kcsms.api.validation import MAX_ID_TAG_LENGTH, callFailure, checkFields, idTagInfoFields
from kcsms.errors import CallFailed
from kcsms.timestamps import formatTimestamp

__all__ = ["LocalListApi"]

MAX_NAME_LENGTH = 64

_ENTRY = {
    "type": "object",
    "required": ["idTag", "idTagInfo"],
    "properties": {
        "idTag": {"type": "string", "maxLength": MAX_ID_TAG_LENGTH},
        "idTagInfo": {"$ref": "#/components/schemas/IdTagInfo"},
    },
}


def _checkName(name: str) -> None:
    if not 0 < len(name) <= MAX_NAME_LENGTH or not all(c.isalnum() or c in "-_." for c in name):
        raise ApiError(
            400, "BadRequest", f"a list name has 1 to {MAX_NAME_LENGTH} letters, digits, - _ or ."
        )


def _idTagInfo(idTag: str, info: Any) -> dict[str, Any]:
    where = f"idTagInfo of {idTag!r}"
    if not isinstance(info, dict):
        raise ApiError(400, "BadRequest", f"{where} must be an object")
    idTagInfoFields(info, where)
    return {key: value for key, value in info.items() if value is not None}


def _entries(body: dict[str, Any]) -> dict[str, Any]:
    entries = body.get("entries")
    if not isinstance(entries, list):
        raise ApiError(400, "BadRequest", "entries must be a list of {idTag, idTagInfo}")
    result: dict[str, Any] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ApiError(400, "BadRequest", "each entry must be an object {idTag, idTagInfo}")
        checkFields(entry, {"idTag", "idTagInfo"}, {"idTag", "idTagInfo"})
        idTag = entry["idTag"]
        if not isinstance(idTag, str) or not 0 < len(idTag) <= MAX_ID_TAG_LENGTH:
            raise ApiError(
                400, "BadRequest", f"idTag must have 1 to {MAX_ID_TAG_LENGTH} characters"
            )
        if idTag in result:
            raise ApiError(400, "BadRequest", f"idTag {idTag!r} is listed twice")
        result[idTag] = _idTagInfo(idTag, entry["idTagInfo"])
    return result


def _entryList(entries: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"idTag": idTag, "idTagInfo": info} for idTag, info in sorted(entries.items())]


class LocalListApi:
    """
    The routes; C{profile} is the L{kcsms.profiles.localauthlist.LocalAuthListProfile}.
    """

    schemas = {
        "LocalListEntry": _ENTRY,
        "LocalListBody": {
            "type": "object",
            "required": ["entries"],
            "properties": {
                "entries": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/LocalListEntry"},
                }
            },
        },
        "LocalList": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "entries": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/LocalListEntry"},
                },
                "members": {"type": "array", "items": {"type": "string"}},
            },
        },
        "LocalListNames": {"type": "array", "items": {"type": "string"}},
        "StationLocalListBody": {
            "type": "object",
            "description": 'either {"list": name} to follow a named list, or {"entries": [...]} for a list of its own',
            "properties": {
                "list": {"type": "string"},
                "entries": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/LocalListEntry"},
                },
            },
        },
        "StationLocalList": {
            "type": "object",
            "properties": {
                "desired": {"type": "object"},
                "installed": {"type": "object"},
                "reportedVersion": {"type": "integer", "nullable": True},
                "mismatch": {"type": "boolean"},
                "lastSync": {"type": "object"},
            },
        },
        "SyncResult": {
            "type": "object",
            "properties": {
                "result": {"type": "string"},
                "updates": {"type": "array", "items": {"type": "object"}},
            },
        },
    }

    def __init__(self, profile: Any) -> None:
        self.profile = profile

    @property
    def _store(self) -> Any:
        return self.profile.centralSystem.store

    @route(
        "GET",
        "/locallists",
        "The names of the local lists.",
        {200: ("the names", "LocalListNames")},
    )
    async def listLocalLists(self, request: Request) -> tuple[int, Any]:
        return 200, await self._store.listLocalLists()

    @route(
        "GET",
        "/locallists/{name}",
        "A local list and the stations that follow it.",
        {200: ("the list", "LocalList"), 404: ("no such list", "Error")},
    )
    async def getLocalList(self, request: Request, name: str) -> tuple[int, Any]:
        entries = await self._store.getLocalList(name)
        if entries is None:
            raise ApiError(404, "NotFound", f"no local list {name!r}")
        members = await self._store.listMembers(name)
        return 200, {"name": name, "entries": _entryList(entries), "members": members}

    @route(
        "PUT",
        "/locallists/{name}",
        "Create or replace a named local list; every connected station that follows it is "
        "synchronised, one after another.",
        {
            200: ("replaced", "LocalList"),
            201: ("created", "LocalList"),
            400: ("bad body or name", "Error"),
        },
        requestBody="LocalListBody",
    )
    async def putLocalList(self, request: Request, name: str) -> tuple[int, Any]:
        _checkName(name)
        body = readJson(request)
        checkFields(body, {"entries"}, {"entries"})
        entries = _entries(body)
        created = await self._store.putLocalList(name, entries, self.profile.centralSystem.now())
        members = await self._store.listMembers(name)
        self.profile.syncMembers(name)
        return (201 if created else 200), {
            "name": name,
            "entries": _entryList(entries),
            "members": members,
        }

    @route(
        "DELETE",
        "/locallists/{name}",
        "Delete a local list; its stations follow no list any more (their lists stay as installed).",
        {204: ("deleted", None), 404: ("no such list", "Error")},
    )
    async def deleteLocalList(self, request: Request, name: str) -> tuple[int, Any]:
        if not await self._store.deleteLocalList(name):
            raise ApiError(404, "NotFound", f"no local list {name!r}")
        return 204, None

    async def _view(self, chargePointId: str) -> dict[str, Any]:
        name, desired = await self.profile.desired(chargePointId)
        installed = await self._store.getInstalledLocalList(chargePointId)
        return {
            "desired": {
                "list": name,
                "entries": _entryList(desired) if desired is not None else None,
            },
            "installed": {
                "known": installed.known,
                "listVersion": installed.listVersion,
                "entries": _entryList(installed.entries) if installed.known else None,
            },
            "reportedVersion": installed.reportedVersion,
            "mismatch": installed.reportedVersion is not None
            and installed.reportedVersion != installed.listVersion,
            "lastSync": {
                "at": formatTimestamp(installed.lastSync) if installed.lastSync else None,
                "result": installed.lastResult,
            },
        }

    @route(
        "GET",
        "/chargepoints/{chargePointId}/locallist",
        "A station's desired and installed local list, version, and last synchronisation.",
        {200: ("the station's local list", "StationLocalList")},
    )
    async def getStationLocalList(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        return 200, await self._view(chargePointId)

    @route(
        "PUT",
        "/chargepoints/{chargePointId}/locallist",
        'Set the list a station should have: {"list": name} to follow a named list, or '
        '{"entries": [...]} for a list of its own.  Nothing is sent until a sync.',
        {
            200: ("the station's local list", "StationLocalList"),
            400: ("bad body", "Error"),
            404: ("no such list", "Error"),
        },
        requestBody="StationLocalListBody",
    )
    async def putStationLocalList(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        body = readJson(request)
        checkFields(body, {"list", "entries"}, set())
        if ("list" in body) == ("entries" in body):
            raise ApiError(400, "BadRequest", 'give either "list" or "entries"')
        if "list" in body:
            name = body["list"]
            if not isinstance(name, str) or await self._store.getLocalList(name) is None:
                raise ApiError(404, "NotFound", f"no local list {name!r}")
        else:
            name = f"chargepoint:{chargePointId}"
            await self._store.putLocalList(name, _entries(body), self.profile.centralSystem.now())
        await self._store.assignLocalList(chargePointId, name)
        return 200, await self._view(chargePointId)

    @route(
        "POST",
        "/chargepoints/{chargePointId}/locallist/sync",
        "Bring the station's local list to its desired one now (Differential, or Full when "
        "needed, split to SendLocalListMaxLength).",
        {
            200: (
                "how it ended: Accepted, UpToDate, Failed, NotSupported or VersionMismatch",
                "SyncResult",
            ),
            404: ("no such station", "Error"),
            409: ("the station follows no list, or is not connected", "Error"),
            502: ("the station answered with a CALLERROR", "CallError"),
            504: ("the station did not answer", "Error"),
        },
    )
    async def postSync(self, request: Request, chargePointId: str) -> tuple[int, Any]:
        from kcsms.profiles.localauthlist import NoDesiredList

        try:
            return 200, await self.profile.sync(chargePointId)
        except NoDesiredList as e:
            raise ApiError(409, "NoDesiredList", str(e)) from None
        except CallFailed as e:
            raise callFailure(e, chargePointId, "SendLocalList") from None
