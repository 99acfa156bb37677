"""
The Autobahn adapter: a WebSocket server speaking the C{ocpp1.6} subprotocol
at C{{path}/{chargePointId}}.

Everything OCPP happens in L{kcsms.rpc.ChargePointSession}; this module only
accepts or refuses the upgrade (the station's security profile is checked by
L{kcsms.security.StationSecurity}) and moves frames.
"""

from typing import Any
from urllib.parse import unquote

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from twisted.internet import tcp
from twisted.internet.defer import ensureDeferred
from zope.interface import implementer

from kcsms import __version__
from kcsms.rpc import IFrameTransport
from kcsms.security import Transport
from kcsms.tls import clientCommonName, isSecure

__all__ = [
    "SUBPROTOCOL",
    "MAX_CHARGEPOINT_ID_LENGTH",
    "OPEN_HANDSHAKE_TIMEOUT",
    "CLOSE_HANDSHAKE_TIMEOUT",
    "OcppServerProtocol",
    "OcppServerFactory",
    "sendAtOnce",
]

SUBPROTOCOL = "ocpp1.6"

#: The longest chargePointId accepted (OCPP's CiString48 for identities).
MAX_CHARGEPOINT_ID_LENGTH = 48

#: Largest frame accepted from a station, in bytes.
MAX_FRAME_SIZE = 1024 * 1024

#: Seconds from a connection's accept to its completed upgrade before it is
#: dropped.  Autobahn's 5 s also count kcsms's own admission, which waits
#: for the database: in a cold reconnect storm on a slow machine, stations
#: accepted behind thousands of others were dropped, and their reconnects
#: fed the storm.
OPEN_HANDSHAKE_TIMEOUT = 30

#: Seconds a station has to answer our close frame before its connection is
#: dropped.  Autobahn's timer rounds a timeout's end down to a whole second,
#: so this gives between 2 and 3 s; Autobahn's own 1 s could end a few
#: milliseconds after the close was sent and reset the connection before the
#: station read the close frame (it then saw 1006, not our close code).
CLOSE_HANDSHAKE_TIMEOUT = 3


def sendAtOnce(transport: tcp.Connection) -> None:
    """
    Have a TCP transport send what it is given at once, when nothing of
    its own waits to be sent, instead of at the reactor's next poll.

    Twisted's C{write} only buffers: the data leaves when the reactor next
    polls, after everything else of the current turn, whose answers to a
    batch of stations may take milliseconds (and costs two more system
    calls, to watch the socket for writing and to stop).  Data the socket
    does not take at once, and everything while anything waits, goes
    through the transport's own C{write} as before, so the order is kept
    and a failure is found and reported as before.
    """
    write = transport.write

    def writeAtOnce(data: bytes) -> None:
        if (
            transport.connected
            and not transport.disconnecting
            and not transport._writeDisconnected
            and not transport.dataBuffer
            and not transport._tempDataLen
        ):
            try:
                sent = transport.socket.send(data)
            except OSError:
                sent = 0  # the buffered write finds the error and reports it
            data = data[sent:]
            if not data:
                return
        write(data)

    transport.write = writeAtOnce  # type: ignore[method-assign]


@implementer(IFrameTransport)
class OcppServerProtocol(WebSocketServerProtocol):
    """
    One station's WebSocket connection.
    """

    session: Any = None
    chargePointId: str | None = None

    def connectionMade(self) -> None:
        super().connectionMade()
        # Plain TCP only: TLS has its own buffers between us and the socket.
        if type(self.transport) is tcp.Server:
            sendAtOnce(self.transport)

    def onConnect(self, request):  # type: ignore[no-untyped-def]
        prefix = self.factory.ocppPath + "/"
        if not request.path.startswith(prefix):
            raise ConnectionDeny(ConnectionDeny.NOT_FOUND, f"connect to {prefix}{{chargePointId}}")
        chargePointId = unquote(request.path[len(prefix) :])
        if not chargePointId or "/" in chargePointId:
            raise ConnectionDeny(ConnectionDeny.NOT_FOUND, "missing chargePointId")
        if len(chargePointId) > MAX_CHARGEPOINT_ID_LENGTH:
            raise ConnectionDeny(
                ConnectionDeny.NOT_FOUND,
                f"chargePointId longer than {MAX_CHARGEPOINT_ID_LENGTH} characters",
            )
        if SUBPROTOCOL not in request.protocols:
            raise ConnectionDeny(ConnectionDeny.BAD_REQUEST, f"subprotocol {SUBPROTOCOL} required")
        self.chargePointId = chargePointId
        admitted = ensureDeferred(
            self.factory.centralSystem.stationSecurity.admit(
                chargePointId,
                request.headers.get("authorization"),
                request.peer,
                Transport(isSecure(self.transport), clientCommonName(self.transport)),
            )
        )
        return admitted.addCallback(lambda _: SUBPROTOCOL)

    def onOpen(self) -> None:
        self.session = self.factory.centralSystem.stationConnected(self.chargePointId, self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if isBinary:
            self.session.frameReceived(payload)
            return
        # Autobahn's own check of UTF-8 is off (utf8validateIncoming): this
        # decoding is that check, once per message instead of twice.
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as e:
            # RFC 6455 8.1: a text message that is not UTF-8 fails the connection.
            self.session.close(
                self.CLOSE_STATUS_CODE_INVALID_PAYLOAD,
                f"text message is not UTF-8 (byte {e.start}: {e.reason})",
            )
            return
        self.session.frameReceived(text)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if self.session is not None:
            self.factory.centralSystem.stationDisconnected(self.session)

    # IFrameTransport

    def writeFrame(self, text: str) -> None:
        self.sendMessage(text.encode("utf-8"), isBinary=False)

    def closeConnection(self, code: int, reason: str) -> None:
        # sendClose() refuses 1001 (going away), the right code at shutdown.
        self.sendCloseFrame(code=code, reasonUtf8=reason.encode("utf-8")[:123], isReply=False)


class OcppServerFactory(WebSocketServerFactory):
    """
    Makes L{OcppServerProtocol}s for one central system.

    @param centralSystem: has C{stationConnected(chargePointId, transport)}
        returning a session and C{stationDisconnected(session)}.
    @param ocppPath: the URL path stations connect under, without the trailing slash.
    """

    protocol = OcppServerProtocol

    def __init__(self, centralSystem, ocppPath: str, reactor=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(server=f"kcsms/{__version__}", reactor=reactor)
        self.centralSystem = centralSystem
        self.ocppPath = ocppPath
        self.setProtocolOptions(
            webStatus=False,
            openHandshakeTimeout=OPEN_HANDSHAKE_TIMEOUT,
            closeHandshakeTimeout=CLOSE_HANDSHAKE_TIMEOUT,
            utf8validateIncoming=False,
            maxMessagePayloadSize=MAX_FRAME_SIZE,
            maxFramePayloadSize=MAX_FRAME_SIZE,
        )
