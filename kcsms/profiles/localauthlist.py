"""
The LocalAuthListManagement feature profile: kcsms owns the desired local
authorization list of every station and brings each station to it.

A station follows a named list (shared by many stations, or one of its
own); what it has installed is recorded from every accepted SendLocalList,
including those sent raw through the calls route.  A synchronisation sends
the plan of L{kcsms.locallist.planSync}: a Differential of the changes, or
a Full when nothing is known of the station's list, after a
VersionMismatch, or when a Full is smaller, split to the station's
SendLocalListMaxLength.  The installed state changes only on Accepted.
"""

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from twisted.application.service import IService
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import deferLater
from twisted.logger import Logger
from zope.interface import implementer

from kcsms.config import ConfigError
from kcsms.errors import CallErrorReceived, CallFailed
from kcsms.events import CallAnswered
from kcsms.interfaces import ICentralSystem, IFeatureProfile
from kcsms.locallist import Update, applyUpdate, nextVersion, planSync
from kcsms.model import InstalledLocalList
from kcsms.profiles import ObservingProfile

__all__ = ["LocalAuthListProfile", "NoDesiredList"]

#: SendLocalListMaxLength assumed for a station whose configuration is not known.
DEFAULT_MAX_LENGTH = 100
#: Seconds between two stations when a whole fleet is synchronised.
DEFAULT_SYNC_INTERVAL = 1.0

_OPTIONS = {
    "send_local_list_max_length": (int, DEFAULT_MAX_LENGTH),
    "sync_interval": (float, DEFAULT_SYNC_INTERVAL),
}


class NoDesiredList(Exception):
    """
    The station follows no local list, so there is nothing to synchronise.
    """


def _options(options: Mapping[str, str]) -> dict[str, Any]:
    section = "profile:LocalAuthListManagement"
    parsed = {}
    for key, text in options.items():
        if key not in _OPTIONS:
            raise ConfigError(section, key, f"unknown key (known: {', '.join(sorted(_OPTIONS))})")
        kind, _ = _OPTIONS[key]
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise ConfigError(section, key, f"must be a positive number (got {text!r})")
        parsed[key] = value
    return {key: parsed.get(key, default) for key, (_, default) in _OPTIONS.items()}


def _updateFrom(request: dict[str, Any]) -> Update:
    return Update(
        request["updateType"],
        request["listVersion"],
        tuple(
            (entry["idTag"], entry.get("idTagInfo"))
            for entry in request.get("localAuthorizationList", ())
        ),
    )


@implementer(IFeatureProfile, IService)
class LocalAuthListProfile(ObservingProfile):
    """
    The LocalAuthListManagement profile of one central system.

    Options (C{[profile:LocalAuthListManagement]}):
    C{send_local_list_max_length} (entries per message for a station whose
    own limit is not known, default 100) and C{sync_interval} (seconds
    between stations when a named list changes, default 1).
    """

    name = "LocalAuthListManagement"
    vendorIds: tuple[str, ...] = ()
    log = Logger()

    def __init__(self, options: Mapping[str, str], centralSystem: ICentralSystem) -> None:
        from kcsms.api.locallists import LocalListApi

        settings = _options(options)
        self.maxLength: int = settings["send_local_list_max_length"]
        self.syncInterval: float = settings["sync_interval"]
        super().__init__(centralSystem)
        self.api = LocalListApi(self)
        self._syncing: set[str] = set()

    # Learning from the calls that went out

    def _observe(self, event: Any) -> None:
        if isinstance(event, CallAnswered):
            learn = getattr(self, f"_answered_{event.action}", None)
            if learn is not None:
                self._inBackground(learn(event), f"Recording {event.action}")

    async def _changeInstalled(self, chargePointId: str, **changes: Any) -> None:
        installed = await self._store.getInstalledLocalList(chargePointId)
        await self._store.putInstalledLocalList(replace(installed, **changes))

    async def _answered_GetLocalListVersion(self, event: CallAnswered) -> None:
        await self._changeInstalled(
            event.chargePointId, reportedVersion=event.response["listVersion"]
        )

    async def _answered_GetConfiguration(self, event: CallAnswered) -> None:
        for key in event.response.get("configurationKey", ()):
            if key["key"] == "SendLocalListMaxLength" and key.get("value", "").isdigit():
                await self._changeInstalled(
                    event.chargePointId, maxLength=int(key["value"]) or None
                )

    async def _answered_SendLocalList(self, event: CallAnswered) -> None:
        if event.chargePointId not in self._syncing:
            installed = await self._store.getInstalledLocalList(event.chargePointId)
            await self._store.putInstalledLocalList(
                self._afterAnswer(installed, _updateFrom(event.request), event.response["status"])
            )

    def _afterAnswer(
        self, installed: InstalledLocalList, update: Update, status: str
    ) -> InstalledLocalList:
        now = self.centralSystem.now()
        if status != "Accepted":
            return replace(installed, lastResult=status, lastSync=now)
        known = installed.known or update.updateType == "Full"
        return replace(
            installed,
            known=known,
            listVersion=update.listVersion,
            entries=applyUpdate(installed.entries, update) if known else {},
            lastResult=status,
            lastSync=now,
        )

    # Synchronising

    async def desired(self, chargePointId: str) -> tuple[str | None, dict[str, Any] | None]:
        """
        @return: the name and entries of the list the station follows
            (L{None}s when it follows none).
        """
        name = await self._store.getAssignment(chargePointId)
        if name is None:
            return None, None
        return name, await self._store.getLocalList(name)

    async def sync(self, chargePointId: str) -> dict[str, Any]:
        """
        Bring the station's installed list to its desired one.

        @return: C{{"result": UpdateStatus or "UpToDate", "updates": [...]}}.
        @raise NoDesiredList: when the station follows no list.
        @raise kcsms.errors.CallFailed: when a SendLocalList fails (recorded).
        """
        _, desired = await self.desired(chargePointId)
        if desired is None:
            raise NoDesiredList(f"{chargePointId} follows no local list")
        installed = await self._store.getInstalledLocalList(chargePointId)
        plan = planSync(
            installed.entries if installed.known else None,
            desired,
            nextVersion(installed.listVersion, installed.reportedVersion),
            installed.maxLength or self.maxLength,
            forceFull=installed.lastResult == "VersionMismatch",
        )
        sent: list[dict[str, Any]] = []
        result = "UpToDate"
        self._syncing.add(chargePointId)
        try:
            for update in plan:
                try:
                    answer = await self.centralSystem.call(
                        chargePointId, "SendLocalList", update.toRequest()
                    )
                except CallFailed as e:
                    failure = e.errorCode if isinstance(e, CallErrorReceived) else type(e).__name__
                    await self._changeInstalled(
                        chargePointId, lastResult=failure, lastSync=self.centralSystem.now()
                    )
                    raise
                result = answer["status"]
                sent.append(
                    {
                        "updateType": update.updateType,
                        "listVersion": update.listVersion,
                        "entries": len(update.entries),
                        "status": result,
                    }
                )
                installed = self._afterAnswer(installed, update, result)
                await self._store.putInstalledLocalList(installed)
                if result != "Accepted":
                    break
        finally:
            self._syncing.discard(chargePointId)
        self.log.info(
            "Local list of {chargePointId}: {result} after {count} update(s)",
            chargePointId=chargePointId,
            result=result,
            count=len(sent),
        )
        return {"result": result, "updates": sent}

    def syncMembers(self, name: str) -> Deferred[None]:
        """
        Synchronise every connected station that follows a list, one after
        another, C{sync_interval} seconds apart.
        """
        return ensureDeferred(self._syncMembers(name))

    async def _syncMembers(self, name: str) -> None:
        for chargePointId in await self._store.listMembers(name):
            if not await self.centralSystem.isConnected(chargePointId):
                continue
            try:
                await self.sync(chargePointId)
            except Exception as e:
                self.log.warn(
                    "Synchronising the local list of {chargePointId} failed: {problem}",
                    chargePointId=chargePointId,
                    problem=e,
                )
            await deferLater(self.centralSystem.clock, self.syncInterval, lambda: None)
