"""
Tests for L{kcsms.ocppj}: OCPP-J frames in and out.
"""

import json

import pytest

from kcsms.ocppj import (
    ERROR_CODES,
    Call,
    CallError,
    CallResult,
    FrameError,
    OcppError,
    parseMessage,
    serializeMessage,
)


def test_errorCodesAreThoseOfOcpp16():
    """
    The CALLERROR codes are 1.6's, including its spellings.
    """
    assert "FormationViolation" in ERROR_CODES
    assert "OccurenceConstraintViolation" in ERROR_CODES
    assert "FormatViolation" not in ERROR_CODES
    assert "OccurrenceConstraintViolation" not in ERROR_CODES
    assert len(ERROR_CODES) == 10


def test_parseEachMessageType():
    """
    CALL, CALLRESULT and CALLERROR parse into their value objects.
    """
    assert parseMessage('[2,"1","Heartbeat",{}]') == Call("1", "Heartbeat", {})
    assert parseMessage(b'[3,"1",{"a":1}]') == CallResult("1", {"a": 1})
    assert parseMessage('[4,"1","GenericError","x",{"y":2}]') == CallError(
        "1", "GenericError", "x", {"y": 2}
    )


def test_serializeRoundTrip():
    """
    Serialised messages are compact JSON arrays that parse back to the same message.
    """
    for message in [
        Call("a", "Heartbeat", {}),
        CallResult("a", {"currentTime": "x"}),
        CallError("a", "NotImplemented"),
    ]:
        text = serializeMessage(message)
        assert " " not in text
        assert parseMessage(text) == message
    assert json.loads(serializeMessage(CallError("a", "NotImplemented"))) == [
        4,
        "a",
        "NotImplemented",
        "",
        {},
    ]


@pytest.mark.parametrize(
    "text, uniqueId, code",
    [
        ("not json", None, "FormationViolation"),
        ("{}", None, "FormationViolation"),
        ("[]", None, "FormationViolation"),
        ('"text"', None, "FormationViolation"),
        ('[2, 5, "Heartbeat", {}]', None, "FormationViolation"),
        ('[2, "id1", "Heartbeat"]', "id1", "FormationViolation"),
        ('[2, "id1", 7, {}]', "id1", "FormationViolation"),
        ('[2, "id1", "Heartbeat", []]', "id1", "FormationViolation"),
        ('[7, "id1", "Heartbeat", {}]', "id1", "FormationViolation"),
        ('["2", "id1", "Heartbeat", {}]', "id1", "FormationViolation"),
        ('[2, "' + "x" * 37 + '", "Heartbeat", {}]', "x" * 37, "TypeConstraintViolation"),
        ('[3, "id1"]', "id1", "FormationViolation"),
        ('[4, "id1"]', "id1", "FormationViolation"),
    ],
)
def test_parseBadFrames(text, uniqueId, code):
    """
    A broken frame raises L{FrameError} with the id when it can be read.
    """
    with pytest.raises(FrameError) as info:
        parseMessage(text)
    assert info.value.uniqueId == uniqueId
    assert info.value.errorCode == code


def test_ocppErrorRefusesUnknownCodes():
    """
    Only 1.6 error codes can be raised.
    """
    with pytest.raises(AssertionError):
        OcppError("FormatViolation")
