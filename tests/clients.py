"""
Clients that reach kcsms over real sockets: a charge point on Autobahn's
WebSocket client and a JSON HTTP client on twisted.web's Agent.
"""

import json
from io import BytesIO
from uuid import uuid4

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

TIMEOUT = 10


class StationProtocol(WebSocketClientProtocol):
    def onOpen(self):
        self.factory.opened.callback(self)

    def onMessage(self, payload, isBinary):
        frame = json.loads(payload)
        (self.factory.calls if frame[0] == 2 else self.factory.received).put(frame)

    def onClose(self, wasClean, code, reason):
        self.factory.closed.callback(code)
        if not self.factory.opened.called:
            self.factory.opened.errback(Exception(reason))


class Station:
    """
    A charge point on a real socket.
    """

    def __init__(self, port, chargePointId, headers=None):
        self.factory = WebSocketClientFactory(
            f"ws://127.0.0.1:{port}/ocpp/{chargePointId}", protocols=["ocpp1.6"], headers=headers
        )
        self.factory.protocol = StationProtocol
        self.factory.opened = Deferred()
        self.factory.closed = Deferred()
        self.factory.received = DeferredQueue()
        self.factory.calls = DeferredQueue()
        self.port = port

    async def connect(self):
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port)
        await endpoint.connect(self.factory)
        self.protocol = await self.factory.opened.addTimeout(TIMEOUT, reactor)
        return self

    def send(self, frame):
        self.protocol.sendMessage(json.dumps(frame).encode())

    async def call(self, action, payload):
        uniqueId = str(uuid4())
        self.send([2, uniqueId, action, payload])
        answer = await self.factory.received.get().addTimeout(TIMEOUT, reactor)
        assert answer[1] == uniqueId, answer
        assert answer[0] == 3, answer
        return answer[2]

    async def nextCall(self):
        """
        Wait for the central system's next CALL to this station.
        """
        return await self.factory.calls.get().addTimeout(TIMEOUT, reactor)

    def answer(self, call, payload):
        self.send([3, call[1], payload])

    def close(self):
        self.protocol.sendClose(1000)
        return self.factory.closed


async def http(method, url, body=None, token=None, raw=None):
    """
    Make one HTTP request.

    @param body: sent as JSON when given; C{raw} bytes are sent as they are.
    @return: C{(status, parsed JSON body or None)}.
    """

    headers = Headers({"Content-Type": ["application/json"]})
    if token is not None:
        headers.addRawHeader("Authorization", f"Bearer {token}")
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    producer = FileBodyProducer(BytesIO(data)) if data is not None else None
    response = await Agent(reactor).request(method.encode(), url.encode(), headers, producer)
    content = await readBody(response)
    return response.code, (json.loads(content) if content else None)
