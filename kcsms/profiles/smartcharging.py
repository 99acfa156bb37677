"""
The SmartCharging feature profile: charging profiles checked against OCPP
1.6's rules before they are sent, a mirror of what each station has
installed, and composite schedules computed from that mirror.

The mirror changes only on a station's C{Accepted}: a SetChargingProfile
installs (replacing the profile with the same id, and the one with the same
purpose and stackLevel on the same connector), a ClearChargingProfile clears
exactly what the station clears, and a RemoteStartTransaction's
chargingProfile awaits its transaction, which it joins when the transaction
starts.  A transaction's TxProfiles go when it stops.  Calls sent through
the calls route update the mirror too, from L{kcsms.events.CallAnswered}.
"""

from collections.abc import Mapping
from typing import Any

from twisted.application.service import IService
from zope.interface import implementer

from kcsms.events import CallAnswered, TransactionStarted, TransactionStopped
from kcsms.interfaces import ICentralSystem, IFeatureProfile
from kcsms.model import InstalledChargingProfile, Transaction
from kcsms.profiles import ObservingProfile, refuseOptions
from kcsms.schedule import Composite, PlacedProfile, checkProfile, compositeSchedule

__all__ = ["SmartChargingProfile"]


@implementer(IFeatureProfile, IService)
class SmartChargingProfile(ObservingProfile):
    """
    The SmartCharging profile of one central system.
    """

    name = "SmartCharging"
    vendorIds: tuple[str, ...] = ()

    def __init__(self, options: Mapping[str, str], centralSystem: ICentralSystem) -> None:
        from kcsms.api.smartcharging import SmartChargingApi

        refuseOptions(self.name, options)
        super().__init__(centralSystem)
        self.api = SmartChargingApi(self)
        #: The requests of the calls this profile makes and mirrors itself.
        self._own: list[dict[str, Any]] = []

    # What the operator asks

    async def runningTransaction(self, chargePointId: str, connectorId: int) -> Transaction | None:
        """
        @return: the transaction running on the connector, if any.
        """
        running = [
            transaction
            for transaction in await self._store.listTransactions(chargePointId, active=True)
            if transaction.connectorId == connectorId
        ]
        return running[-1] if running else None

    async def setChargingProfile(
        self, chargePointId: str, connectorId: int, profile: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """
        Check a profile, fill in a TxProfile's transactionId when it is
        omitted, send SetChargingProfile and mirror an accepted one.

        @return: the station's answer and the profile sent.
        @raise kcsms.schedule.ProfileRuleError: when it breaks a rule (nothing is sent).
        @raise kcsms.errors.CallFailed: when the call fails.
        """
        running = await self.runningTransaction(chargePointId, connectorId)
        checkProfile(connectorId, profile, running.transactionId if running else None)
        if running is not None and profile.get("chargingProfilePurpose") == "TxProfile":
            profile = {**profile, "transactionId": running.transactionId}
        request = {"connectorId": connectorId, "csChargingProfiles": profile}
        answer, _ = await self._callAndMirror(chargePointId, "SetChargingProfile", request)
        return answer["status"], profile

    async def clearChargingProfile(
        self, chargePointId: str, request: dict[str, Any]
    ) -> tuple[str, list[InstalledChargingProfile]]:
        """
        Send ClearChargingProfile and mirror an accepted one.

        @return: the station's answer and the profiles the mirror lost.
        @raise kcsms.errors.CallFailed: when the call fails.
        """
        answer, cleared = await self._callAndMirror(chargePointId, "ClearChargingProfile", request)
        return answer["status"], cleared

    async def remoteStart(self, chargePointId: str, request: dict[str, Any]) -> str:
        """
        Send a RemoteStartTransaction whose chargingProfile (if any) was
        checked, and mirror that profile when the station accepts.

        @return: the station's answer.
        @raise kcsms.schedule.ProfileRuleError: when the profile breaks a rule.
        @raise kcsms.errors.CallFailed: when the call fails.
        """
        if "chargingProfile" in request:
            checkProfile(
                request.get("connectorId", 0), request["chargingProfile"], remoteStart=True
            )
        answer, _ = await self._callAndMirror(chargePointId, "RemoteStartTransaction", request)
        return answer["status"]  # type: ignore[no-any-return]

    async def composite(
        self, chargePointId: str, connectorId: int, duration: int, chargingRateUnit: str
    ) -> Composite:
        """
        The composite schedule of a connector from now, from the mirror.
        """
        installed = await self._store.listChargingProfiles(chargePointId)
        running = await self.runningTransaction(chargePointId, connectorId) if connectorId else None
        return compositeSchedule(
            [
                PlacedProfile(profile.connectorId, profile.chargingProfile, profile.transactionId)
                for profile in installed
            ],
            connectorId,
            self.centralSystem.now(),
            duration,
            chargingRateUnit,
            self.centralSystem.config.smartcharging.voltage,
            None if running is None else (running.transactionId, running.startTimestamp),
        )

    # The mirror

    async def _callAndMirror(
        self, chargePointId: str, action: str, request: dict[str, Any]
    ) -> tuple[dict[str, Any], Any]:
        """
        Call a station and mirror its answer before returning (the
        L{CallAnswered} of this call is then left alone).

        @return: the answer, and what mirroring it returned.
        """
        self._own.append(request)
        try:
            answer = await self.centralSystem.call(chargePointId, action, request)
        finally:
            self._own = [own for own in self._own if own is not request]
        return answer, await getattr(self, f"_answered_{action}")(chargePointId, request, answer)

    def _observe(self, event: Any) -> None:
        if isinstance(event, CallAnswered):
            learn = getattr(self, f"_answered_{event.action}", None)
            if learn is not None and not any(event.request is own for own in self._own):
                self._inBackground(
                    learn(event.chargePointId, event.request, event.response),
                    f"Mirroring {event.action}",
                )
        elif isinstance(event, TransactionStarted):
            transaction = event.transaction
            self._inBackground(
                self._store.bindChargingProfiles(
                    transaction.chargePointId, transaction.connectorId, transaction.transactionId
                ),
                "Giving a RemoteStartTransaction's profile its transaction",
            )
        elif isinstance(event, TransactionStopped):
            self._inBackground(
                self._store.clearChargingProfiles(
                    event.chargePointId, purpose="TxProfile", transactionId=event.transactionId
                ),
                "Dropping a stopped transaction's TxProfiles",
            )

    async def _install(
        self,
        chargePointId: str,
        connectorId: int,
        profile: dict[str, Any],
        transactionId: int | None,
    ) -> None:
        await self._store.installChargingProfile(
            InstalledChargingProfile(
                chargePointId, connectorId, profile, self.centralSystem.now(), transactionId
            )
        )
        self.log.info(
            "{chargePointId} installed charging profile {chargingProfileId} on connector "
            "{connectorId}",
            chargePointId=chargePointId,
            chargingProfileId=profile["chargingProfileId"],
            connectorId=connectorId,
        )

    async def _answered_SetChargingProfile(
        self, chargePointId: str, request: dict[str, Any], answer: dict[str, Any]
    ) -> None:
        if answer["status"] != "Accepted":
            return
        profile, connectorId = request["csChargingProfiles"], request["connectorId"]
        transactionId = None
        if profile["chargingProfilePurpose"] == "TxProfile":
            transactionId = profile.get("transactionId")
            if transactionId is None:
                running = await self.runningTransaction(chargePointId, connectorId)
                transactionId = None if running is None else running.transactionId
        await self._install(chargePointId, connectorId, profile, transactionId)

    async def _answered_ClearChargingProfile(
        self, chargePointId: str, request: dict[str, Any], answer: dict[str, Any]
    ) -> list[InstalledChargingProfile]:
        if answer["status"] != "Accepted":
            return []
        return await self._store.clearChargingProfiles(  # type: ignore[no-any-return]
            chargePointId,
            request.get("id"),
            request.get("connectorId"),
            request.get("chargingProfilePurpose"),
            request.get("stackLevel"),
        )

    async def _answered_RemoteStartTransaction(
        self, chargePointId: str, request: dict[str, Any], answer: dict[str, Any]
    ) -> None:
        profile = request.get("chargingProfile")
        if (
            answer["status"] == "Accepted"
            and profile is not None
            and profile["chargingProfilePurpose"] == "TxProfile"
        ):
            await self._install(chargePointId, request.get("connectorId", 0), profile, None)
