"""
Public test helpers: a whole central system on a fake reactor and clock,
and simulated stations connected to it in memory through the real Autobahn
server and client protocols.

No sockets and no real time: L{MemoryCentralSystem} listens on a
L{MemoryReactorClock}; L{MemoryStation} connects through
L{twisted.test.iosim} and every send is pumped to completion at once.
Host applications and profile authors can use these in their own tests.
"""

import configparser
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import txaio
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock
from twisted.test import iosim

from kcsms.config import Config, fromString
from kcsms.service import CentralSystemService, makeService

__all__ = ["MemoryCentralSystem", "MemoryStation", "fakeTxaioClock", "resultOf"]

BASE_CONFIG = """
[ocpp]
endpoint = tcp:9000
[storage]
database = memory:
"""


def _withDefaults(config: str) -> str:
    merged = configparser.ConfigParser(interpolation=None)
    merged.read_string(BASE_CONFIG)
    merged.read_string(config)
    text = io.StringIO()
    merged.write(text)
    return text.getvalue()


def resultOf(d: Any) -> Any:
    """
    The result (or L{Failure}) of a Deferred that has already fired, as with
    the in-memory store and a fake clock; a failure is taken as handled.

    @raise AssertionError: when it has not fired.
    """
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, f"{d!r} has not fired"
    return results[0]


@contextmanager
def fakeTxaioClock(clock: MemoryReactorClock) -> Iterator[None]:
    """
    Make Autobahn's timers (handshake and close timeouts) run on C{clock}.
    """
    txaio.use_twisted()
    config: Any = txaio.config  # type: ignore[attr-defined]
    previous = config.loop
    config.loop = clock
    try:
        yield
    finally:
        config.loop = previous


class _StationProtocol(WebSocketClientProtocol):
    station: "MemoryStation"

    def onOpen(self) -> None:
        self.station.opened = True

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.station.received.append(json.loads(payload))

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.station.closed = True
        self.station.closeCode = code
        self.station.closeReason = reason


class MemoryStation:
    """
    A simulated charge point connected in memory.

    @ivar received: every frame the central system sent, parsed, in order.
    @ivar opened: whether the WebSocket upgrade succeeded.
    @ivar closed: whether the connection has closed.
    @ivar httpStatus: the HTTP status of the upgrade answer (101 on success).
    @ivar subprotocol: the subprotocol the server chose.
    """

    def __init__(
        self,
        centralSystem: "MemoryCentralSystem",
        chargePointId: str,
        protocols: list[str] | None,
        path: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.received: list[Any] = []
        self._clock = centralSystem.reactor
        self.opened = False
        self.closed = False
        self.closeCode: int | None = None
        self.closeReason: str | None = None
        reactor = centralSystem.reactor
        _, serverFactory, _, _ = reactor.tcpServers[0]
        if path is None:
            path = f"{centralSystem.config.ocpp.path}/{quote(chargePointId, safe='')}"
        clientFactory = WebSocketClientFactory(
            f"ws://127.0.0.1:9000{path}", protocols=protocols, headers=headers, reactor=reactor
        )
        clientFactory.protocol = _StationProtocol
        serverAddress = IPv4Address("TCP", "127.0.0.1", 9000)
        clientAddress = IPv4Address("TCP", "127.0.0.1", 40000 + len(reactor.tcpClients))
        server = serverFactory.buildProtocol(clientAddress)
        client: Any = clientFactory.buildProtocol(serverAddress)
        client.station = self
        self.server = server
        self.client = client
        self.pump = iosim.connect(
            server,
            iosim.FakeTransport(server, True, serverAddress, clientAddress),
            client,
            iosim.FakeTransport(client, False, clientAddress, serverAddress),
            greet=False,
        )
        self.flush()

    @property
    def httpStatus(self) -> int | None:
        line = getattr(self.client, "http_status_line", None)
        return int(line.split()[1]) if line else None

    @property
    def subprotocol(self) -> str | None:
        return self.client.websocket_protocol_in_use

    def flush(self) -> None:
        """
        Move every pending byte both ways until nothing is left.
        """
        with fakeTxaioClock(self._clock):
            self.pump.flush()

    def sendText(self, text: str) -> None:
        """
        Send one raw text frame, e.g. something that is not OCPP-J at all.
        """
        with fakeTxaioClock(self._clock):
            self.client.sendMessage(text.encode("utf-8"))
        self.flush()

    def sendFrame(self, frame: list[Any]) -> None:
        self.sendText(json.dumps(frame))

    def call(self, action: str, payload: dict[str, Any], uniqueId: str | None = None) -> list[Any]:
        """
        CALL the central system and return its answer frame
        (C{[3, id, payload]} or C{[4, id, code, description, details]}).

        @raise AssertionError: when no answer arrived.
        """
        uniqueId = uniqueId or str(uuid4())
        self.sendFrame([2, uniqueId, action, payload])
        for frame in self.received:
            if frame[0] in (3, 4) and frame[1] == uniqueId:
                self.received.remove(frame)
                return frame
        raise AssertionError(f"no answer to {action} {uniqueId}; received {self.received}")

    def callResult(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """
        CALL and return the CALLRESULT payload.

        @raise AssertionError: when the answer is not a CALLRESULT.
        """
        answer = self.call(action, payload)
        assert answer[0] == 3, f"{action} answered {answer}"
        return answer[2]

    def calls(self) -> list[list[Any]]:
        """
        Take the CALLs the central system sent that are not answered yet.
        """
        self.flush()
        calls = [frame for frame in self.received if frame[0] == 2]
        self.received = [frame for frame in self.received if frame[0] != 2]
        return calls

    def answer(self, call: list[Any], payload: dict[str, Any]) -> None:
        """
        Answer a CALL from the central system with a CALLRESULT.
        """
        self.sendFrame([3, call[1], payload])

    def close(self) -> None:
        with fakeTxaioClock(self._clock):
            self.client.sendClose(1000)
        self.flush()


class MemoryCentralSystem:
    """
    A started central system on a L{MemoryReactorClock} with an in-memory store.

    @param config: INI text; defaults that it does not override: endpoint
        C{tcp:9000}, database C{memory:}.
    @param plugins: the plugins to offer (all installed ones when L{None}).
    """

    def __init__(self, config: str = "", plugins: dict[str, Any] | None = None) -> None:
        self.reactor = MemoryReactorClock()
        self.config: Config = fromString(_withDefaults(config))
        with fakeTxaioClock(self.reactor):
            if plugins is None:
                self.service: CentralSystemService = makeService(self.config, self.reactor)
            else:
                self.service = CentralSystemService(self.config, self.reactor, plugins)
            self.service.startService()
        self.stations: list[MemoryStation] = []

    @property
    def store(self) -> Any:
        return self.service.store

    def connect(
        self,
        chargePointId: str = "CP001",
        protocols: list[str] | None = None,
        path: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> MemoryStation:
        """
        Connect a station (offering C{ocpp1.6} unless C{protocols} says otherwise).

        @param headers: more headers for the upgrade request, e.g. C{Authorization}.
        """
        with fakeTxaioClock(self.reactor):
            station = MemoryStation(
                self,
                chargePointId,
                ["ocpp1.6"] if protocols is None else protocols,
                path,
                headers,
            )
        self.stations.append(station)
        return station

    def advance(self, seconds: float) -> None:
        """
        Move the fake clock on and pump every station's connection.
        """
        with fakeTxaioClock(self.reactor):
            self.reactor.advance(seconds)
            for station in self.stations:
                station.flush()

    def stop(self) -> Any:
        """
        Stop the service, letting the stations complete their close handshakes.
        """
        with fakeTxaioClock(self.reactor):
            d = self.service.stopService()
            for station in self.stations:
                station.flush()
            self.reactor.advance(0)
        return d
