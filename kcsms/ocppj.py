"""
OCPP-J frames: CALL, CALLRESULT and CALLERROR, their parsing and serialising,
and the OCPP 1.6 CALLERROR codes.

Pure functions and value objects; no Twisted.  A frame that cannot be read
raises L{FrameError}, which carries the message id when one could be read so
that the caller can answer with a CALLERROR.
"""

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CALL",
    "CALLRESULT",
    "CALLERROR",
    "ERROR_CODES",
    "MAX_UNIQUE_ID_LENGTH",
    "Call",
    "CallResult",
    "CallError",
    "Message",
    "OcppError",
    "FrameError",
    "parseMessage",
    "serializeMessage",
    "compactJson",
]

CALL = 2
CALLRESULT = 3
CALLERROR = 4

#: The CALLERROR codes of OCPP-J 1.6, spelled as 1.6 spells them.
ERROR_CODES = (
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "ProtocolError",
    "SecurityError",
    "FormationViolation",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "TypeConstraintViolation",
    "GenericError",
)

#: OCPP-J: a message id is a string of at most 36 characters.
MAX_UNIQUE_ID_LENGTH = 36


@dataclass(frozen=True)
class Call:
    """
    C{[2, uniqueId, action, payload]}
    """

    uniqueId: str
    action: str
    payload: dict[str, Any]

    def toFrame(self) -> list[Any]:
        return [CALL, self.uniqueId, self.action, self.payload]


@dataclass(frozen=True)
class CallResult:
    """
    C{[3, uniqueId, payload]}
    """

    uniqueId: str
    payload: dict[str, Any]

    def toFrame(self) -> list[Any]:
        return [CALLRESULT, self.uniqueId, self.payload]


@dataclass(frozen=True)
class CallError:
    """
    C{[4, uniqueId, errorCode, errorDescription, errorDetails]}
    """

    uniqueId: str
    errorCode: str
    errorDescription: str = ""
    errorDetails: dict[str, Any] = field(default_factory=dict)

    def toFrame(self) -> list[Any]:
        return [CALLERROR, self.uniqueId, self.errorCode, self.errorDescription, self.errorDetails]


Message = Call | CallResult | CallError


class OcppError(Exception):
    """
    A failure to be answered with a CALLERROR.

    @ivar errorCode: one of L{ERROR_CODES}.
    @ivar description: the errorDescription.
    @ivar details: the errorDetails object.
    """

    def __init__(
        self, errorCode: str, description: str = "", details: dict[str, Any] | None = None
    ) -> None:
        assert errorCode in ERROR_CODES, errorCode
        super().__init__(f"{errorCode}: {description}")
        self.errorCode = errorCode
        self.description = description
        self.details = details or {}


class FrameError(OcppError):
    """
    A frame that is not a well-formed OCPP-J message.

    @ivar uniqueId: the frame's message id when it could be read, else L{None}.
    @ivar messageTypeId: the frame's message type when it could be read.
    """

    def __init__(
        self,
        errorCode: str,
        description: str,
        uniqueId: str | None = None,
        messageTypeId: object = None,
    ) -> None:
        super().__init__(errorCode, description)
        self.uniqueId = uniqueId
        self.messageTypeId = messageTypeId


def parseMessage(text: str | bytes) -> Message:
    """
    Parse one OCPP-J frame.

    @raise FrameError: when the frame is not JSON, not an OCPP-J array, or
        has fields of the wrong type.
    """
    try:
        frame = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise FrameError("FormationViolation", f"not JSON: {e}") from None
    if not isinstance(frame, list) or not frame:
        raise FrameError("FormationViolation", "an OCPP-J message is a non-empty JSON array")
    messageTypeId = frame[0]
    uniqueId = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else None

    def bad(description: str, errorCode: str = "FormationViolation") -> FrameError:
        return FrameError(errorCode, description, uniqueId, messageTypeId)

    if type(messageTypeId) is not int or messageTypeId not in (CALL, CALLRESULT, CALLERROR):
        raise bad(f"unknown MessageTypeId {messageTypeId!r}")
    if uniqueId is None:
        raise bad("the message id must be a string")
    if len(uniqueId) > MAX_UNIQUE_ID_LENGTH:
        raise bad(
            f"the message id is longer than {MAX_UNIQUE_ID_LENGTH} characters",
            "TypeConstraintViolation",
        )
    if messageTypeId == CALL:
        if len(frame) != 4:
            raise bad("a CALL is [2, uniqueId, action, payload]")
        _, _, action, payload = frame
        if not isinstance(action, str) or not action:
            raise bad("the action must be a non-empty string")
        if not isinstance(payload, dict):
            raise bad("the payload must be a JSON object")
        return Call(uniqueId, action, payload)
    if messageTypeId == CALLRESULT:
        if len(frame) != 3 or not isinstance(frame[2], dict):
            raise bad("a CALLRESULT is [3, uniqueId, payload] with an object payload")
        return CallResult(uniqueId, frame[2])
    if len(frame) not in (4, 5) or not isinstance(frame[2], str):
        raise bad("a CALLERROR is [4, uniqueId, errorCode, errorDescription, errorDetails]")
    description = frame[3] if isinstance(frame[3], str) else json.dumps(frame[3])
    details = frame[4] if len(frame) == 5 and isinstance(frame[4], dict) else {}
    return CallError(uniqueId, frame[2], description, details)


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def compactJson(value: Any) -> str:
    """
    @return: C{value} as JSON text without spaces, non-ASCII characters as they are.
    """
    return _COMPACT.encode(value)


def serializeMessage(message: Message) -> str:
    """
    Serialise a message as compact JSON text.
    """
    return _COMPACT.encode(message.toFrame())
