"""
L{kcsms.protocol.sendAtOnce} over a real loopback TCP connection: what a
station's connection writes leaves at once, in order.
"""

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ClientFactory, Factory, Protocol

from kcsms.protocol import sendAtOnce


class Sender(Protocol):
    def connectionMade(self) -> None:
        sendAtOnce(self.transport)
        self.factory.connected.callback(self)


class Reader(Protocol):
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.received = bytearray()
        self.done: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= self.expected and not self.done.called:
            self.done.callback(bytes(self.received))


async def connected(expected: int):
    """
    @return: the sending protocol of a new loopback connection, its
        reader, and the listening port.
    """
    serverFactory = Factory.forProtocol(Sender)
    serverFactory.connected = Deferred()
    port = reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
    reader = Reader(expected)
    clientFactory = ClientFactory.forProtocol(lambda: reader)
    reactor.connectTCP("127.0.0.1", port.getHost().port, clientFactory)
    sender = await serverFactory.connected
    return sender, reader, port


@pytest_twisted.ensureDeferred
async def test_sentBeforeTheReactorPolls():
    """
    A write is handed to the socket in the call: nothing stays buffered and
    the reactor is not asked to watch the socket for writing.
    """
    sender, reader, port = await connected(len(b"answer"))
    try:
        sender.transport.write(b"answer")
        assert sender.transport not in reactor.getWriters()
        assert not sender.transport.dataBuffer and not sender.transport._tempDataLen
        assert await reader.done == b"answer"
    finally:
        sender.transport.loseConnection()
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_orderKeptBehindWhatTheSocketDidNotTake():
    """
    What the socket does not take at once is buffered, and so is every
    later write until the buffer is sent: the reader gets it all, in order.
    """
    big = bytes(range(256)) * (64 * 1024)  # 16 MiB: more than a socket takes
    sender, reader, port = await connected(len(big) + len(b"tail"))
    try:
        sender.transport.write(big)
        assert sender.transport in reactor.getWriters()
        sender.transport.write(b"tail")
        assert bytes(await reader.done) == big + b"tail"
    finally:
        sender.transport.loseConnection()
        await port.stopListening()
