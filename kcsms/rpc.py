"""
One station's OCPP-J conversation: its CALLs answered in the order they
arrive, and our CALLs sent one at a time with a timeout.

L{ChargePointSession} knows nothing of WebSockets: it is given frames as text
and hands frames to an L{IFrameTransport} (the Autobahn protocol in
production, a fake in tests).
"""

from collections import deque
from collections.abc import Callable
from typing import Any
from uuid import uuid4

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import Interface, implementer

from kcsms.dispatch import Dispatcher
from kcsms.errors import CallErrorReceived, CallTimeout, NotConnected, ResponseInvalid
from kcsms.interfaces import IChargePointSession
from kcsms.ocppj import (
    CALLERROR,
    CALLRESULT,
    Call,
    CallError,
    CallResult,
    FrameError,
    Message,
    OcppError,
    parseMessage,
    serializeMessage,
)
from kcsms.schemas import hasSchema, validateResponse

__all__ = ["IFrameTransport", "ChargePointSession"]


class IFrameTransport(Interface):
    """
    Where a session's frames go.
    """

    def writeFrame(text):
        """
        Send one OCPP-J frame (text).
        """

    def closeConnection(code, reason):
        """
        Close the connection (a WebSocket close with C{code} and C{reason}).
        """


class _PendingCall:
    def __init__(self, uniqueId: str, action: str, deferred: Deferred, timer: IDelayedCall) -> None:
        self.uniqueId = uniqueId
        self.action = action
        self.deferred = deferred
        self.timer = timer


@implementer(IChargePointSession)
class ChargePointSession:
    """
    The OCPP-J conversation with one connected station.

    Incoming CALLs wait until L{start} (when the registration is known), then
    are answered strictly one after another.  Outgoing CALLs are queued; at
    most one is outstanding, and each fails with L{CallTimeout} when no answer
    comes within C{callTimeout} seconds.

    @ivar registration: see L{IChargePointSession.registration}.
    @ivar connected: whether frames can still be sent.

    @param frameLog: called with C{(chargePointId, direction, frame)} for
        every frame in (C{"in"}) and out (C{"out"}).
    """

    log = Logger()

    def __init__(
        self,
        chargePointId: str,
        transport: IFrameTransport,
        dispatcher: Dispatcher,
        clock: IReactorTime,
        callTimeout: float,
        frameLog: Callable[[str, str, str | bytes], object] | None = None,
    ) -> None:
        self.chargePointId = chargePointId
        self.registration: str | None = None
        self.connected = True
        self._transport = transport
        self._dispatcher = dispatcher
        self._clock = clock
        self._callTimeout = callTimeout
        self._frameLog = frameLog
        self._incoming: deque[Call] = deque()
        self._answering = True  # until start()
        self._outgoing: deque[tuple[str, str, dict[str, Any], Deferred]] = deque()
        self._pending: _PendingCall | None = None

    def __repr__(self) -> str:
        return f"<ChargePointSession {self.chargePointId!r}>"

    def start(self, registration: str | None) -> None:
        """
        Begin answering CALLs, knowing the station's registration.
        """
        self.registration = registration
        self._answering = False
        self._answerNext()

    # Frames in.

    def frameReceived(self, text: str | bytes) -> None:
        """
        Handle one frame from the station.
        """
        if self._frameLog is not None:
            self._frameLog(self.chargePointId, "in", text)
        if not self.connected:
            # Behind a close we sent: nothing more is answered or acted on.
            return
        try:
            message = parseMessage(text)
        except FrameError as e:
            self._badFrame(text, e)
            return
        if isinstance(message, Call):
            self._incoming.append(message)
            self._answerNext()
        else:
            self._answerReceived(message)

    def _badFrame(self, text: str | bytes, error: FrameError) -> None:
        self.log.warn(
            "Bad frame from {chargePointId}: {problem}: {frame!r}",
            chargePointId=self.chargePointId,
            problem=error.description,
            frame=text[:200],
        )
        # Never answer a broken answer; anything else with a readable id gets a CALLERROR.
        if error.uniqueId is not None and error.messageTypeId not in (CALLRESULT, CALLERROR):
            self._send(CallError(error.uniqueId, error.errorCode, error.description))

    def _answerNext(self) -> None:
        while not self._answering and self._incoming:
            call = self._incoming.popleft()
            answer = self._dispatcher.answer(self, call)
            if isinstance(answer, Deferred):
                self._answering = True
                answer.addBoth(self._answered)
            else:
                self._send(answer)

    def _answered(self, answer: Message | Failure) -> None:
        try:
            if isinstance(answer, Failure):
                answer.raiseException()
            self._send(answer)
        except Exception:
            self.log.failure("Answering {chargePointId}", chargePointId=self.chargePointId)
        self._answering = False
        self._answerNext()

    def _send(self, message: Message) -> None:
        if self.connected:
            text = serializeMessage(message)
            if self._frameLog is not None:
                self._frameLog(self.chargePointId, "out", text)
            self._transport.writeFrame(text)

    # Calls out.

    def call(self, action: str, payload: dict[str, Any], uniqueId: str | None = None) -> Deferred:
        """
        See L{IChargePointSession.call}.

        @param uniqueId: the message id to use; a fresh UUID when L{None}.
        """
        if not self.connected:
            return fail(NotConnected(f"{self.chargePointId} is not connected"))
        d: Deferred = Deferred()
        self._outgoing.append((uniqueId or str(uuid4()), action, payload, d))
        self._callNext()
        return d

    def _callNext(self) -> None:
        if self._pending is not None or not self._outgoing or not self.connected:
            return
        uniqueId, action, payload, d = self._outgoing.popleft()
        timer = self._clock.callLater(self._callTimeout, self._timedOut, uniqueId)
        self._pending = _PendingCall(uniqueId, action, d, timer)
        self._send(Call(uniqueId, action, payload))

    def _finishCall(self) -> _PendingCall:
        pending = self._pending
        assert pending is not None
        self._pending = None
        if pending.timer.active():
            pending.timer.cancel()
        return pending

    def _timedOut(self, uniqueId: str) -> None:
        pending = self._finishCall()
        self.log.warn(
            "{chargePointId} did not answer {action} ({uniqueId}) in time",
            chargePointId=self.chargePointId,
            action=pending.action,
            uniqueId=uniqueId,
        )
        pending.deferred.errback(
            CallTimeout(
                f"{self.chargePointId} did not answer {pending.action} within "
                f"{self._callTimeout:g} s"
            )
        )
        self._callNext()

    def _answerReceived(self, message: CallResult | CallError) -> None:
        if self._pending is None or message.uniqueId != self._pending.uniqueId:
            self.log.warn(
                "Dropped an answer from {chargePointId} to no outstanding call: {uniqueId}",
                chargePointId=self.chargePointId,
                uniqueId=message.uniqueId,
            )
            return
        pending = self._finishCall()
        if isinstance(message, CallError):
            pending.deferred.errback(
                CallErrorReceived(message.errorCode, message.errorDescription, message.errorDetails)
            )
        else:
            try:
                if hasSchema(pending.action):
                    validateResponse(pending.action, message.payload)
            except OcppError as e:
                pending.deferred.errback(ResponseInvalid(e.description, message.payload))
            else:
                pending.deferred.callback(message.payload)
        self._callNext()

    # Connection.

    def close(self, code: int, reason: str) -> None:
        """
        See L{IChargePointSession.close}.
        """
        if self.connected:
            self._transport.closeConnection(code, reason)
        self.connectionLost()

    def connectionLost(self) -> None:
        """
        The connection is gone: calls waiting or outstanding fail with
        L{NotConnected}; CALLs not yet answered are dropped.
        """
        if not self.connected:
            return
        self.connected = False
        self._incoming.clear()
        waiting = [d for (_, _, _, d) in self._outgoing]
        self._outgoing.clear()
        if self._pending is not None:
            waiting.insert(0, self._finishCall().deferred)
        for d in waiting:
            d.errback(NotConnected(f"{self.chargePointId} disconnected"))
