"""
Checks of operator API input shared by every route: body fields, choices,
strings, query arguments, and calling a station with failures turned into
the API's answers.
"""

from datetime import datetime
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
from kcsms.model import AUTHORIZATION_STATUSES
from kcsms.timestamps import parseTimestamp

#: OCPP's IdToken is a CiString20.
MAX_ID_TAG_LENGTH = 20

__all__ = [
    "MAX_ID_TAG_LENGTH",
    "isInteger",
    "choiceArgument",
    "idTagInfoFields",
    "checkFields",
    "optionalString",
    "choice",
    "queryArgument",
    "booleanArgument",
    "limitArgument",
    "callStation",
    "callFailure",
    "CALL_RESPONSES",
]

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


#: The answers of a route that calls a station, beyond its own, for its
#: L{kcsms.api.router.route} declaration.
CALL_RESPONSES: dict[int, tuple[str, str | None]] = {
    404: ("no such charge point", "Error"),
    409: ("the charge point is not connected", "Error"),
    502: ("the station answered with a CALLERROR (or an invalid answer)", "CallError"),
    504: ("the station did not answer within [ocpp] call_timeout", "Error"),
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


def isInteger(value: Any) -> bool:
    """
    @return: whether a JSON value is a whole number (C{true} is not).
    """
    return isinstance(value, int) and not isinstance(value, bool)


def idTagInfoFields(
    info: dict[str, Any], where: str = ""
) -> tuple[str, datetime | None, str | None]:
    """
    Check an OCPP IdTagInfo object: C{status}, optional C{expiryDate} and
    C{parentIdTag}.

    @param where: what the object belongs to, for messages.
    @return: its status, expiry date and parent id tag.
    @raise ApiError: 400 naming the field that is wrong.
    """
    prefix = f"{where}: " if where else ""
    try:
        checkFields(info, {"status", "expiryDate", "parentIdTag"}, {"status"})
        status = choice(info, "status", AUTHORIZATION_STATUSES)
        parentIdTag = optionalString(info, "parentIdTag", MAX_ID_TAG_LENGTH)
        expiryDate = info.get("expiryDate")
        if expiryDate is not None:
            try:
                expiryDate = parseTimestamp(expiryDate) if isinstance(expiryDate, str) else None
            except ValueError:
                expiryDate = None
            if expiryDate is None:
                raise ApiError(
                    400, "BadRequest", "expiryDate must be an ISO 8601 date-time or null"
                )
    except ApiError as e:
        raise ApiError(e.status, e.error, prefix + e.message, **e.extra) from None
    return status, expiryDate, parentIdTag


def queryArgument(request: Request, name: str) -> str | None:
    """
    @return: the last value of a query argument, or L{None}.
    """
    values = request.args.get(name.encode()) if request.args else None
    return values[-1].decode("utf-8", "replace") if values else None


def choiceArgument(request: Request, name: str, choices: tuple[str, ...]) -> str | None:
    """
    @return: a query argument that is one of C{choices}, or L{None} when absent.
    @raise ApiError: 400 for any other value.
    """
    value = queryArgument(request, name)
    if value is not None and value not in choices:
        raise ApiError(400, "BadRequest", f"{name} must be one of {', '.join(choices)}")
    return value


def booleanArgument(request: Request, name: str) -> bool | None:
    """
    @return: a C{true} or C{false} query argument, or L{None} when absent.
    @raise ApiError: 400 for another value.
    """
    value = queryArgument(request, name)
    if value not in (None, "true", "false"):
        raise ApiError(400, "BadRequest", f"{name} must be true or false")
    return None if value is None else value == "true"


def limitArgument(request: Request, maximum: int, default: int) -> int:
    """
    @return: the C{limit} query argument, a whole number from 1 to C{maximum},
        or C{default} when absent.
    @raise ApiError: 400 for another value.
    """
    text = queryArgument(request, "limit")
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise ApiError(400, "BadRequest", f"limit must be a whole number from 1 to {maximum}")
    return int(text)


async def callStation(
    centralSystem: Any, chargePointId: str, action: str, payload: dict[str, Any]
) -> Any:
    """
    Call a station through the central system.

    @return: the station's answer payload.
    @raise ApiError: see L{callFailure}.
    """
    try:
        return await centralSystem.call(chargePointId, action, payload)
    except CallFailed as e:
        raise callFailure(e, chargePointId, action) from None


def callFailure(error: CallFailed, chargePointId: str, action: str) -> ApiError:
    """
    @return: the API's answer to a call that failed with C{error}: 502
        C{CallError} (with C{errorCode}, C{errorDescription}, C{errorDetails})
        for a CALLERROR; 404, 403, 400, 409, 504 or 502 for the other ways.
    """
    if isinstance(error, CallErrorReceived):
        return ApiError(
            502,
            "CallError",
            f"{chargePointId} answered {action} with {error.errorCode}",
            errorCode=error.errorCode,
            errorDescription=error.errorDescription,
            errorDetails=error.errorDetails,
        )
    status, code = _CALL_FAILURES[type(error)]
    extra = {"errorCode": error.errorCode} if isinstance(error, PayloadInvalid) else {}
    return ApiError(status, code, str(error), **extra)
