"""
The baseline: a bare Autobahn WebSocket server that answers every CALL with
a CALLRESULT carrying C{currentTime}, as a Heartbeat is answered (and
accepts every BootNotification) -- no
storage, no schema checks, no sessions.  It has kcsms's reactor and
Autobahn frame limits, so that the benchmark can compare kcsms's server CPU
per CALL with the cost of Autobahn and JSON alone.

Run: C{python -m bench.bare_responder tcp:9100:interface=127.0.0.1}
"""

import json
import sys
from datetime import UTC, datetime

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol

__all__ = ["BareResponderProtocol", "main"]

#: As kcsms.protocol.MAX_FRAME_SIZE.
MAX_FRAME_SIZE = 1024 * 1024


def _now() -> str:
    stamp = datetime.now(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


class BareResponderProtocol(WebSocketServerProtocol):
    """
    Accepts the C{ocpp1.6} subprotocol on any path and answers CALLs.
    """

    def onConnect(self, request):  # type: ignore[no-untyped-def]
        return "ocpp1.6"

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        message = json.loads(payload)
        if message[0] == 2:
            answer = {"currentTime": _now()}
            if message[2] == "BootNotification":
                answer.update(status="Accepted", interval=300)
            self.sendMessage(json.dumps([3, message[1], answer]).encode(), isBinary=False)


def main(argv: list[str]) -> None:
    """
    Listen on the endpoint given as the only argument until SIGTERM.
    """
    from twisted.internet import reactor
    from twisted.internet.endpoints import serverFromString

    from bench.stations import raiseFileLimit

    raiseFileLimit()
    factory = WebSocketServerFactory()
    factory.protocol = BareResponderProtocol
    factory.setProtocolOptions(
        webStatus=False,
        maxMessagePayloadSize=MAX_FRAME_SIZE,
        maxFramePayloadSize=MAX_FRAME_SIZE,
    )
    serverFromString(reactor, argv[0]).listen(factory)
    reactor.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main(sys.argv[1:])
