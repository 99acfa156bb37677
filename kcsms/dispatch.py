"""
Station CALLs to responders: which enabled profile answers each action, and
how failures become CALLERRORs.

The L{Dispatcher} is composed from the enabled profiles.  An action no
profile knows is C{NotImplemented}; an action of a known but disabled profile
is C{NotSupported}; a station that is Rejected (or not registered while
unknown stations are rejected) gets C{SecurityError} for anything but
BootNotification.  Requests and our answers are both checked against the
OCPP 1.6 schemas.
"""

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from kcsms.interfaces import IChargePointSession, IFeatureProfile
from kcsms.ocppj import Call, CallError, CallResult, OcppError
from kcsms.schemas import hasSchema, validateRequest, validateResponse

__all__ = ["Dispatcher", "Answer", "callErrorFor", "ERRORS"]

Responder = Callable[[IChargePointSession, dict[str, Any]], Any]

#: What answers a CALL.
Answer = CallResult | CallError

#: Exception type -> CALLERROR code, for failures that are not an OcppError
#: (which carries its own code).  Anything else is an InternalError.
ERRORS: dict[type[BaseException], str] = {
    NotImplementedError: "NotSupported",
}

log = Logger()


def callErrorFor(uniqueId: str, action: str, failure: Failure) -> CallError:
    """
    The CALLERROR that answers a CALL that failed with C{failure}.
    """
    error = failure.value
    if isinstance(error, OcppError):
        return CallError(uniqueId, error.errorCode, error.description, error.details)
    for kind, code in ERRORS.items():
        if isinstance(error, kind):
            return CallError(uniqueId, code, str(error))
    log.failure("{action} failed", failure, action=action)
    return CallError(uniqueId, "InternalError", f"{action} could not be processed")


class Dispatcher:
    """
    Answers a station's CALLs with the enabled profiles' C{ocpp_<Action>} responders.

    @param profiles: the enabled L{IFeatureProfile}s.
    @param stationActions: every station action known to any plugin or to
        OCPP 1.6, enabled or not; the rest are C{NotImplemented}.
    @param stationActionsOf: profile name -> the station actions it answers.
    @param rejectUnregistered: whether stations that are not registered get
        C{SecurityError} (C{[ocpp] unknown_chargepoints = reject}).
    """

    def __init__(
        self,
        profiles: Iterable[IFeatureProfile],
        stationActions: Iterable[str],
        stationActionsOf: dict[str, tuple[str, ...]],
        rejectUnregistered: bool,
    ) -> None:
        self._known = frozenset(stationActions)
        self._responders: dict[str, Responder] = {}
        self._vendors: dict[str, Responder] = {}
        self._rejectUnregistered = rejectUnregistered
        for profile in profiles:
            for action in stationActionsOf.get(profile.name, ()):
                self._responders[action] = getattr(profile, f"ocpp_{action}")
            for vendorId in profile.vendorIds:
                self._vendors[vendorId] = profile.ocpp_DataTransfer  # type: ignore[attr-defined]

    def answer(self, session: IChargePointSession, call: Call) -> Answer | Deferred[Answer]:
        """
        Answer one CALL: at once when its responder answers at once (as a
        Heartbeat's does), else by a Deferred.

        @return: the CALLRESULT, or the CALLERROR for a request or answer
            that breaks its schema, an L{OcppError} the responder raised or
            any other failure (an InternalError); or a Deferred of one.
        """
        try:
            result = self._responderFor(session, call.action, call.payload)
            if not isinstance(result, Deferred):
                return self._checkAnswer(result, call)
        except Exception:
            return callErrorFor(call.uniqueId, call.action, Failure())
        return result.addCallback(self._checkAnswer, call).addErrback(self._failed, call)

    def _failed(self, failure: Failure, call: Call) -> CallError:
        return callErrorFor(call.uniqueId, call.action, failure)

    def _responderFor(
        self, session: IChargePointSession, action: str, payload: dict[str, Any]
    ) -> Any:
        responder = self._responders.get(action)
        if responder is None:
            if action in self._known:
                raise OcppError(
                    "NotSupported", f"{action} is not supported: its feature profile is not enabled"
                )
            raise OcppError("NotImplemented", f"unknown action {action!r}")
        if action != "BootNotification" and (
            session.registration == "Rejected"
            or (session.registration is None and self._rejectUnregistered)
        ):
            raise OcppError("SecurityError", f"{action} refused: the charge point is not accepted")
        if hasSchema(action):
            validateRequest(action, payload)
        if action == "DataTransfer":
            responder = self._vendors.get(payload["vendorId"], responder)
        result = responder(session, payload)
        if isinstance(result, Coroutine):
            return Deferred.fromCoroutine(result)
        return result

    def _checkAnswer(self, payload: dict[str, Any], call: Call) -> Answer:
        if hasSchema(call.action):
            try:
                validateResponse(call.action, payload)
            except OcppError as e:
                log.error(
                    "Our {action} answer breaks its schema: {problem}",
                    action=call.action,
                    problem=e.description,
                )
                return CallError(
                    call.uniqueId, "InternalError", f"{call.action} could not be answered"
                )
        return CallResult(call.uniqueId, payload)
