"""
Tests for L{kcsms.dispatch.Dispatcher}: CALLs to responders, answered at
once or later, and every failure as the CALLERROR it must be.
"""

import json
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import globalLogPublisher

from kcsms.dispatch import Dispatcher
from kcsms.ocppj import Call, CallError, CallResult, OcppError
from kcsms.rpc import ChargePointSession
from kcsms.testing import resultOf


class Session:
    chargePointId = "CP1"
    registration = "Accepted"


class Profile:
    """
    Answers Heartbeat at once, Authorize later; C{answers} says with what.
    """

    name = "Test"
    vendorIds = ()

    def __init__(self) -> None:
        self.answers = {}
        self.pending: list[Deferred] = []

    def ocpp_Heartbeat(self, session, request):
        answer = self.answers["Heartbeat"]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def ocpp_Authorize(self, session, request):
        d = Deferred()
        self.pending.append(d)
        await d
        answer = self.answers["Authorize"]
        if isinstance(answer, Exception):
            raise answer
        return answer


def dispatcher(profile):
    return Dispatcher(
        [profile],
        ["Heartbeat", "Authorize", "Reset", "DataTransfer"],
        {"Test": ("Heartbeat", "Authorize")},
        rejectUnregistered=False,
    )


def answerLater(profile, d):
    profile.pending.pop().callback(None)
    return resultOf(d)


def test_synchronousAnswerIsImmediate():
    """
    A responder that answers at once gives the CALLRESULT itself, no Deferred.
    """
    profile = Profile()
    profile.answers["Heartbeat"] = {"currentTime": "2026-11-28T10:00:00.000Z"}
    answer = dispatcher(profile).answer(Session(), Call("1", "Heartbeat", {}))
    assert answer == CallResult("1", {"currentTime": "2026-11-28T10:00:00.000Z"})


def test_asynchronousAnswerComesLater():
    """
    A responder that waits gives a Deferred of the CALLRESULT.
    """
    profile = Profile()
    profile.answers["Authorize"] = {"idTagInfo": {"status": "Accepted"}}
    d = dispatcher(profile).answer(Session(), Call("2", "Authorize", {"idTag": "T"}))
    assert isinstance(d, Deferred) and not d.called
    assert answerLater(profile, d) == CallResult("2", {"idTagInfo": {"status": "Accepted"}})


def test_ourAnswerBreakingItsSchemaIsInternalError():
    """
    An answer that breaks its response schema is never sent: the station
    gets InternalError, whether the answer came at once or later.
    """
    profile = Profile()
    profile.answers["Heartbeat"] = {"currentTime": "yesterday"}
    profile.answers["Authorize"] = {"idTagInfo": {"status": "Maybe"}}
    answers = dispatcher(profile)
    assert answers.answer(Session(), Call("3", "Heartbeat", {})) == CallError(
        "3", "InternalError", "Heartbeat could not be answered"
    )
    d = answers.answer(Session(), Call("4", "Authorize", {"idTag": "T"}))
    assert answerLater(profile, d) == CallError(
        "4", "InternalError", "Authorize could not be answered"
    )


def test_responderFailuresAreCallErrors():
    """
    An OcppError a responder raises is answered with its own code; any other
    exception with InternalError, at once or later.
    """
    profile = Profile()
    answers = dispatcher(profile)
    profile.answers["Heartbeat"] = OcppError("GenericError", "no")
    assert answers.answer(Session(), Call("5", "Heartbeat", {})) == CallError(
        "5", "GenericError", "no"
    )
    profile.answers["Heartbeat"] = RuntimeError("bug")
    assert answers.answer(Session(), Call("6", "Heartbeat", {})).errorCode == "InternalError"
    profile.answers["Authorize"] = RuntimeError("bug")
    d = answers.answer(Session(), Call("7", "Authorize", {"idTag": "T"}))
    assert answerLater(profile, d).errorCode == "InternalError"


def test_unknownDisabledAndInvalidCalls():
    """
    An action no profile knows is NotImplemented, one of a disabled profile
    NotSupported, and a request that breaks its schema gets the schema's code.
    """
    answers = dispatcher(Profile())
    assert answers.answer(Session(), Call("8", "Nope", {})).errorCode == "NotImplemented"
    assert answers.answer(Session(), Call("9", "Reset", {})).errorCode == "NotSupported"
    assert answers.answer(Session(), Call("10", "Authorize", {})).errorCode == "ProtocolError"


def test_answerThatCannotBeSentIsLoggedAndTheNextIsAnswered():
    """
    When sending an answer that came later fails, the failure is logged and
    the CALLs waiting behind it are still answered, in order.
    """
    profile = Profile()
    profile.answers["Authorize"] = {"idTagInfo": {"status": "Accepted"}}
    profile.answers["Heartbeat"] = {"currentTime": "2026-11-28T10:00:00.000Z"}
    sent: list[Any] = []

    class Transport:
        def writeFrame(self, text):
            sent.append(json.loads(text))
            if len(sent) == 1:
                raise OSError("the socket is gone")

    session = ChargePointSession("CP1", Transport(), dispatcher(profile), Clock(), 60)
    session.start("Accepted")
    session.frameReceived('[2, "a", "Authorize", {"idTag": "T"}]')
    session.frameReceived('[2, "h", "Heartbeat", {}]')
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        profile.pending.pop().callback(None)
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert sent == [
        [3, "a", {"idTagInfo": {"status": "Accepted"}}],
        [3, "h", {"currentTime": "2026-11-28T10:00:00.000Z"}],
    ]
    [failure] = [event["log_failure"] for event in events if "log_failure" in event]
    assert failure.check(OSError)
