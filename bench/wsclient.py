"""
A minimal WebSocket client (RFC 6455) on asyncio, just enough for a
simulated station: the upgrade handshake with a subprotocol, masked text
frames out, unmasked text, ping and close frames in.

It exists because the load generator must not be the bottleneck: a full
client library costs several times more CPU per message than this.  It does
not fragment, does not compress, and answers pings with pongs.
"""

import asyncio
import base64
import os
import struct
from collections.abc import Callable

__all__ = ["WebSocketClient", "HandshakeFailed"]

_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA


class HandshakeFailed(Exception):
    """
    The server did not answer the upgrade with C{101 Switching Protocols}.
    """


def _mask(key: bytes, payload: bytes) -> bytes:
    # XOR by whole integers: much faster in Python than byte by byte.
    length = len(payload)
    repeated = (key * (length // 4 + 1))[:length]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        length, "big"
    )


def encodeFrame(opcode: int, payload: bytes, key: bytes) -> bytes:
    """
    @return: one final, masked client frame.
    """
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    return header + key + _mask(key, payload)


class WebSocketClient(asyncio.Protocol):
    """
    One client connection.  Text messages go to C{onMessage(bytes)}; the
    connection's end goes to C{onClose(reason)}.

    @ivar opened: a future that fires when the handshake has succeeded, or
        fails with L{HandshakeFailed} or the connection error.
    """

    def __init__(
        self,
        host: str,
        path: str,
        subprotocol: str,
        onMessage: Callable[[bytes], None],
        onClose: Callable[[str], None],
    ) -> None:
        self._host = host
        self._path = path
        self._subprotocol = subprotocol
        self._onMessage = onMessage
        self._onClose = onClose
        self._key = os.urandom(4)
        self._buffer = b""
        self._upgraded = False
        self._transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        nonce = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self._path} HTTP/1.1\r\nHost: {self._host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\n"
                f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {self._subprotocol}\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._upgraded:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self._buffer[: self._buffer.find(b"\r\n")]
            self._buffer = self._buffer[end + 4 :]
            if b" 101 " not in status + b" ":
                self._fail(HandshakeFailed(status.decode("latin-1")))
                return
            self._upgraded = True
            self.opened.set_result(None)
        self._readFrames()

    def _readFrames(self) -> None:
        buffer = self._buffer
        while len(buffer) >= 2:
            opcode = buffer[0] & 0x0F
            length = buffer[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buffer) < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, 2)
                offset = 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, 2)
                offset = 10
            if len(buffer) < offset + length:
                break
            payload = buffer[offset : offset + length]
            buffer = buffer[offset + length :]
            if opcode == _TEXT:
                self._onMessage(payload)
            elif opcode == _PING:
                self._send(_PONG, payload)
            elif opcode == _CLOSE:
                self._send(_CLOSE, payload[:2])
                self._fail(ConnectionError("closed by the server"))
                buffer = b""
        self._buffer = buffer

    def _send(self, opcode: int, payload: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(encodeFrame(opcode, payload, self._key))

    def sendText(self, text: bytes) -> None:
        """
        Send one text message.
        """
        self._send(_TEXT, text)

    def close(self) -> None:
        """
        Send a normal close (1000) and drop the connection.
        """
        self._send(_CLOSE, struct.pack("!H", 1000))
        if self._transport is not None:
            self._transport.close()

    def _fail(self, error: Exception) -> None:
        if not self.opened.done():
            self.opened.set_exception(error)
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        self._transport = None
        self._onClose(str(exc) if exc else "closed")
