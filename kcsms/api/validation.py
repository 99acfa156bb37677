"""
Checks of operator API input shared by every route: body fields, choices,
strings, query arguments, and calling a station with failures turned into
the API's answers.
"""

from typing import Any

from twisted.web.server import Request

from kcsms.api.router import ApiError
from kcsms.errors import (
    CallErrorReceived,
    CallFailed,
    CallTimeout,
    NotConnected,
    PayloadInvalid,
    ProfileDisabled,
    ResponseInvalid,
    UnknownAction,
    UnknownChargePoint,
)

__all__ = ["checkFields", "optionalString", "choice", "queryArgument", "callStation"]

#: How each way a call fails is answered.
_CALL_FAILURES: dict[type[CallFailed], tuple[int, str]] = {
    UnknownChargePoint: (404, "UnknownChargePoint"),
    UnknownAction: (404, "UnknownAction"),
    ProfileDisabled: (403, "ProfileDisabled"),
    PayloadInvalid: (400, "PayloadInvalid"),
    NotConnected: (409, "NotConnected"),
    CallTimeout: (504, "CallTimeout"),
    ResponseInvalid: (502, "ResponseInvalid"),
}


def checkFields(body: dict[str, Any], allowed: set[str], required: set[str]) -> None:
    """
    @raise ApiError: 400 for a field not in C{allowed} or a missing C{required} one.
    """
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, "BadRequest", f"unknown field {unknown[0]!r}")
    missing = sorted(required - set(body))
    if missing:
        raise ApiError(400, "BadRequest", f"missing field {missing[0]!r}")


def optionalString(body: dict[str, Any], name: str, maxLength: int) -> str | None:
    """
    @return: the field, a string of 1 to C{maxLength} characters, or L{None}.
    @raise ApiError: 400 otherwise.
    """
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= maxLength):
        raise ApiError(
            400, "BadRequest", f"{name} must be a string of 1 to {maxLength} characters or null"
        )
    return value


def choice(body: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    """
    @return: the field, one of C{choices}.
    @raise ApiError: 400 otherwise.
    """
    value = body[name]
    if value not in choices:
        raise ApiError(400, "BadRequest", f"{name} must be one of {', '.join(choices)}")
    return value  # type: ignore[no-any-return]


def queryArgument(request: Request, name: str) -> str | None:
    """
    @return: the last value of a query argument, or L{None}.
    """
    values = request.args.get(name.encode()) if request.args else None
    return values[-1].decode("utf-8", "replace") if values else None


async def callStation(
    centralSystem: Any, chargePointId: str, action: str, payload: dict[str, Any]
) -> Any:
    """
    Call a station through the central system.

    @return: the station's answer payload.
    @raise ApiError: 502 C{CallError} (with C{errorCode}, C{errorDescription},
        C{errorDetails}) for a CALLERROR; 404, 403, 400, 409, 504 or 502 for
        the other ways a call fails.
    """
    try:
        return await centralSystem.call(chargePointId, action, payload)
    except CallErrorReceived as e:
        raise ApiError(
            502,
            "CallError",
            f"{chargePointId} answered {action} with {e.errorCode}",
            errorCode=e.errorCode,
            errorDescription=e.errorDescription,
            errorDetails=e.errorDetails,
        ) from None
    except CallFailed as e:
        status, error = _CALL_FAILURES[type(e)]
        extra = {"errorCode": e.errorCode} if isinstance(e, PayloadInvalid) else {}
        raise ApiError(status, error, str(e), **extra) from None
