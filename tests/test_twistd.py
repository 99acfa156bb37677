"""
The real thing: C{twistd -n kcsms} as a process, driven over real sockets
by a station on Autobahn's WebSocket client.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from uuid import uuid4

import pytest
import pytest_twisted
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredQueue
from twisted.internet.endpoints import TCP4ClientEndpoint

TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "One"}
T0 = "2026-11-28T10:00:00.000Z"


def freePort():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Kcsms:
    """
    A C{twistd -n kcsms} process in a scratch directory.
    """

    def __init__(self, directory, config):
        self.directory = directory
        self.port = freePort()
        self.configPath = directory / "kcsms.ini"
        self.configPath.write_text(
            f"[ocpp]\nendpoint = tcp:{self.port}:interface=127.0.0.1\n"
            f"heartbeat_interval = 30\n[storage]\ndatabase = sqlite:var/kcsms.sqlite\n{config}"
        )
        self.process = None

    def run(self, wait=True):
        self.log = open(self.directory / "twistd.log", "ab")
        self.process = subprocess.Popen(
            [TWISTD, "-n", "--pidfile=", "kcsms", "--config", str(self.configPath)],
            cwd=self.directory,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.output()
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.1)
            raise AssertionError(f"kcsms did not listen: {self.output()}")

    def output(self):
        return (self.directory / "twistd.log").read_text(errors="replace")

    def stop(self):
        """
        SIGTERM the process and wait for it.

        @return: its exit status; twistd ends a clean shutdown by re-raising
            the signal, so a clean stop is C{-SIGTERM}.
        """
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.log.close()
        return self.process.returncode


class StationProtocol(WebSocketClientProtocol):
    def onOpen(self):
        self.factory.opened.callback(self)

    def onMessage(self, payload, isBinary):
        self.factory.received.put(json.loads(payload))

    def onClose(self, wasClean, code, reason):
        self.factory.closed.callback(code)
        if not self.factory.opened.called:
            self.factory.opened.errback(Exception(reason))


class Station:
    """
    A charge point on a real socket.
    """

    def __init__(self, port, chargePointId):
        self.factory = WebSocketClientFactory(
            f"ws://127.0.0.1:{port}/ocpp/{chargePointId}", protocols=["ocpp1.6"]
        )
        self.factory.protocol = StationProtocol
        self.factory.opened = Deferred()
        self.factory.closed = Deferred()
        self.factory.received = DeferredQueue()
        self.port = port

    async def connect(self):
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port)
        await endpoint.connect(self.factory)
        self.protocol = await self.factory.opened.addTimeout(10, reactor)
        return self

    async def call(self, action, payload):
        uniqueId = str(uuid4())
        self.protocol.sendMessage(json.dumps([2, uniqueId, action, payload]).encode())
        answer = await self.factory.received.get().addTimeout(10, reactor)
        assert answer[1] == uniqueId, answer
        assert answer[0] == 3, answer
        return answer[2]

    def close(self):
        self.protocol.sendClose(1000)
        return self.factory.closed


@pytest.fixture
def kcsms(tmp_path):
    server = Kcsms(tmp_path, "")
    yield server
    server.stop()


@pytest_twisted.ensureDeferred
async def test_chargingSessionSurvivesRestart(kcsms):
    """
    Boot, authorize, start, meter values and stop over real sockets; after a
    restart the registration and the transaction are still there, and
    SIGTERM closes the station's connection and exits cleanly.
    """
    kcsms.run()
    station = await Station(kcsms.port, "CP001").connect()
    boot = await station.call("BootNotification", BOOT)
    assert boot["status"] == "Accepted"
    assert boot["interval"] == 30
    assert (await station.call("Authorize", {"idTag": "TAG1"}))["idTagInfo"] == {
        "status": "Invalid"
    }
    await station.call(
        "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"}
    )
    start = await station.call(
        "StartTransaction", {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": T0}
    )
    transactionId = start["transactionId"]
    assert transactionId > 0
    await station.call(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": transactionId,
            "meterValue": [{"timestamp": T0, "sampledValue": [{"value": "10"}]}],
        },
    )
    # Keep this reactor free to complete the close handshake while kcsms stops.
    kcsms.process.send_signal(signal.SIGTERM)
    assert await station.factory.closed.addTimeout(10, reactor) == 1001
    assert kcsms.stop() == -signal.SIGTERM

    kcsms.run()
    station = await Station(kcsms.port, "CP001").connect()
    # Accepted before the restart: no BootNotification needed now.
    assert "currentTime" in await station.call("Heartbeat", {})
    retry = await station.call(
        "StartTransaction", {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": T0}
    )
    assert retry["transactionId"] == transactionId
    stop = await station.call(
        "StopTransaction",
        {"transactionId": transactionId, "meterStop": 50, "timestamp": T0, "idTag": "TAG1"},
    )
    assert stop == {"idTagInfo": {"status": "Invalid"}}
    await station.close()
    assert kcsms.stop() == -signal.SIGTERM
    assert kcsms.output().count("Server Shut Down") == 2


def test_badConfigurationExitsWithOneLine(tmp_path):
    """
    A bad value stops twistd before it listens, with one line naming it.
    """
    server = Kcsms(tmp_path, "[profiles]\nenabled = Core, Reservation\n")
    server.run(wait=False)
    assert server.process.wait(timeout=30) != 0
    output = server.output().strip().splitlines()
    assert output[-1].startswith("kcsms: ")
    assert "[profiles] enabled: no plugin for Reservation" in output[-1]
    server.stop()


def test_portInUseExits(tmp_path):
    """
    An endpoint that cannot be listened on makes twistd exit non-zero, naming it.
    """
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    server = Kcsms(tmp_path, "")
    server.port = blocker.getsockname()[1]
    server.configPath.write_text(
        f"[ocpp]\nendpoint = tcp:{server.port}:interface=127.0.0.1\n"
        "[storage]\ndatabase = sqlite:var/kcsms.sqlite\n"
    )
    try:
        server.run(wait=False)
        assert server.process.wait(timeout=30) != 0
        assert f"cannot listen on tcp:{server.port}" in server.output()
    finally:
        blocker.close()
        server.stop()
