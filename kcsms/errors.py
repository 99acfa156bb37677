"""
The ways a call from the central system to a station can fail.

L{kcsms.interfaces.ICentralSystem.call} fails with exactly one of the
L{CallFailed} subclasses here, so that callers (the operator API, host
applications) can tell them apart.
"""

from typing import Any

__all__ = [
    "CallFailed",
    "UnknownChargePoint",
    "NotConnected",
    "UnknownAction",
    "ProfileDisabled",
    "PayloadInvalid",
    "CallTimeout",
    "CallErrorReceived",
    "ResponseInvalid",
]


class CallFailed(Exception):
    """
    A call to a station did not produce a valid answer.
    """


class UnknownChargePoint(CallFailed):
    """
    No charge point with that id is registered or connected.
    """


class NotConnected(CallFailed):
    """
    The charge point is known but has no open connection (or lost it before answering).
    """


class UnknownAction(CallFailed):
    """
    The action is not one the central system can send.
    """


class ProfileDisabled(CallFailed):
    """
    The action belongs to a feature profile that is not enabled.
    """


class PayloadInvalid(CallFailed):
    """
    The request payload does not match the action's schema; nothing was sent.

    @ivar errorCode: the CALLERROR code the violation would earn.
    """

    def __init__(self, message: str, errorCode: str) -> None:
        super().__init__(message)
        self.errorCode = errorCode


class CallTimeout(CallFailed):
    """
    The station did not answer within C{[ocpp] call_timeout}.
    """


class CallErrorReceived(CallFailed):
    """
    The station answered with a CALLERROR.
    """

    def __init__(self, errorCode: str, errorDescription: str, errorDetails: dict[str, Any]) -> None:
        super().__init__(f"{errorCode}: {errorDescription}")
        self.errorCode = errorCode
        self.errorDescription = errorDescription
        self.errorDetails = errorDetails


class ResponseInvalid(CallFailed):
    """
    The station's CALLRESULT does not match the action's response schema.

    @ivar payload: what the station sent.
    """

    def __init__(self, message: str, payload: dict[str, Any]) -> None:
        super().__init__(message)
        self.payload = payload
