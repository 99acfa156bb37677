"""
The real thing: C{twistd -n kcsms} as a process, driven over real sockets
by a station on Autobahn's WebSocket client.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import deferLater

from tests.clients import Station, http

TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "One"}
T0 = "2026-11-28T10:00:00.000Z"


def freePort():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def waitForListening(process, ports, output):
    """
    Wait until C{process} accepts connections on every port.

    @param output: returns what the process printed, for the failure message.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, output()
        try:
            for port in ports:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {ports}: {output()}")


class Kcsms:
    """
    A C{twistd -n kcsms} process in a scratch directory.
    """

    def __init__(self, directory, config):
        self.directory = directory
        self.port = freePort()
        self.apiPort = freePort()
        self.configPath = directory / "kcsms.ini"
        self.configPath.write_text(
            f"[ocpp]\nendpoint = tcp:{self.port}:interface=127.0.0.1\n"
            f"heartbeat_interval = 30\n[storage]\ndatabase = sqlite:var/kcsms.sqlite\n"
            f"[api]\nendpoint = tcp:{self.apiPort}:interface=127.0.0.1\n{config}"
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
            waitForListening(self.process, (self.port, self.apiPort), self.output)

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
    server = Kcsms(tmp_path, "[profiles]\nenabled = Core, Teleportation\n")
    server.run(wait=False)
    assert server.process.wait(timeout=30) != 0
    output = server.output().strip().splitlines()
    assert output[-1].startswith("kcsms: ")
    assert "[profiles] enabled: no plugin for Teleportation" in output[-1]
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
        "[storage]\ndatabase = sqlite:var/kcsms.sqlite\n[api]\nendpoint =\n"
    )
    try:
        server.run(wait=False)
        assert server.process.wait(timeout=30) != 0
        assert f"cannot listen on tcp:{server.port}" in server.output()
    finally:
        blocker.close()
        server.stop()


@pytest_twisted.ensureDeferred
async def test_operatorApiOverRealHttp(tmp_path):
    """
    The operator API of a real twistd process: each route and status code,
    with a station that answers, answers with a CALLERROR, and does not answer.
    """
    server = Kcsms(tmp_path, "token = t0ken\n[profiles]\nenabled = Core\n")
    server.configPath.write_text(
        server.configPath.read_text().replace("heartbeat_interval = 30\n", "call_timeout = 1\n")
    )
    server.run()
    base = f"http://127.0.0.1:{server.apiPort}/api/v1"

    def api(method, path, body=None, token="t0ken"):
        return ensureDeferred(http(method, base + path, body, token))

    try:
        assert (await api("GET", "/chargepoints", token=None))[0] == 401
        assert (await api("PUT", "/chargepoints/CP001", {"registration": "Accepted"}))[0] == 201
        assert (await api("PUT", "/chargepoints/CP001", {"registration": "Accepted"}))[0] == 200
        assert (await api("PUT", "/chargepoints/CP001", {"registration": 7}))[0] == 400
        assert (await api("GET", "/chargepoints/NOPE"))[0] == 404
        assert (await api("POST", "/chargepoints/CP001/calls/Reset", {"type": "Soft"}))[0] == 409
        station = await Station(server.port, "CP001").connect()
        await station.call("Heartbeat", {})
        status, body = await api("GET", "/chargepoints")
        assert (status, body[0]["id"], body[0]["connected"]) == (200, "CP001", True)
        status, body = await api("GET", "/chargepoints/CP001")
        assert (status, body["registration"], body["connected"]) == (200, "Accepted", True)
        assert (await api("GET", "/nowhere"))[0] == 404

        pending = api(
            "POST",
            "/chargepoints/CP001/calls/ChangeConfiguration",
            {"key": "Testing", "value": "true"},
        )
        call = await station.nextCall()
        station.answer(call, {"status": "NotSupported"})
        assert await pending == (200, {"payload": {"status": "NotSupported"}})
        pending = api("POST", "/chargepoints/CP001/calls/Reset", {"type": "Hard"})
        call = await station.nextCall()
        station.send([4, call[1], "InternalError", "broken", {}])
        status, body = await pending
        assert (status, body["errorCode"]) == (502, "InternalError")
        pending = api("POST", "/chargepoints/CP001/calls/ClearCache", {})
        await station.nextCall()
        assert (await pending)[0] == 504
        assert (await api("POST", "/chargepoints/CP001/calls/Reset", {"type": "No"}))[0] == 400
        assert (await api("POST", "/chargepoints/CP001/calls/Fly", {}))[0] == 404
        assert (await api("POST", "/chargepoints/CP001/calls/SendLocalList", {}))[0] == 403

        # Id tags read are kept in memory: a change through the API is seen at once.
        authorize = {"idTag": "TAG1"}
        assert (await station.call("Authorize", authorize))["idTagInfo"]["status"] == "Invalid"
        assert (await api("PUT", "/idtags/TAG1", {"status": "Accepted"}))[0] == 201
        assert (await station.call("Authorize", authorize))["idTagInfo"]["status"] == "Accepted"
        assert (await api("PUT", "/idtags/TAG1", {"status": "Expired"}))[0] == 200
        assert (await api("PUT", "/idtags/TAG1", {"status": "Old"}))[0] == 400
        assert (await api("GET", "/idtags"))[1][0]["status"] == "Expired"
        assert (await api("GET", "/idtags/tag1"))[0] == 200
        start = {
            "connectorId": 1,
            "idTag": "TAG1",
            "meterStart": 0,
            "timestamp": "2026-01-01T00:00:00Z",
        }
        transactionId = (await station.call("StartTransaction", start))["transactionId"]
        status, body = await api("GET", "/transactions?active=true&chargepoint=CP001")
        assert (status, [t["transactionId"] for t in body]) == (200, [transactionId])
        status, body = await api("GET", f"/transactions/{transactionId}")
        assert (status, body["idTagStatus"], body["meterValues"]) == (200, "Expired", [])
        assert (await api("GET", "/transactions/0"))[0] == 404
        assert (await api("GET", "/transactions/x"))[0] == 400
        assert (await api("GET", "/idtags/NOPE"))[0] == 404
        assert (await api("DELETE", "/idtags/TAG1"))[0] == 204
        assert (await api("DELETE", "/idtags/TAG1"))[0] == 404

        status, messages = await api("GET", "/chargepoints/CP001/messages?limit=3")
        assert status == 200 and len(messages) == 3
        assert messages[-1]["direction"] == "out"
        assert (await api("GET", "/openapi.json"))[1]["openapi"].startswith("3.")
        assert (await api("DELETE", "/chargepoints/CP001"))[0] == 204
        await station.factory.closed.addTimeout(10, reactor)
    finally:
        server.stop()


@pytest_twisted.ensureDeferred
async def test_readmeEmbeddingExampleRuns(tmp_path):
    """
    The README's embedding example runs as written (on a free port): a
    station boots and the host application observes it.
    """
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    example = readme.split("<!-- embedding example -->\n```python\n", 1)[1].split("```", 1)[0]
    port = freePort()
    script = tmp_path / "embed.py"
    script.write_text(example.replace("tcp:9000", f"tcp:{port}:interface=127.0.0.1"))
    output = tmp_path / "embed.log"
    with open(output, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(script)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        waitForListening(process, (port,), output.read_text)
        station = await Station(port, "CP042").connect()
        await station.call("BootNotification", {"chargePointVendor": "A", "chargePointModel": "B"})
        start = {
            "connectorId": 1,
            "idTag": "T",
            "meterStart": 0,
            "timestamp": "2026-01-01T00:00:00Z",
        }
        transactionId = (await station.call("StartTransaction", start))["transactionId"]
        await station.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    lines = output.read_text().splitlines()
    assert "booted CP042 Accepted" in lines
    assert f"charging {transactionId}" in lines


@pytest_twisted.ensureDeferred
async def test_twoNodesShareOnePostgresDatabase(tmp_path, postgresUrl):
    """
    Two real nodes on one PostgreSQL database: a station on node A is called
    through node B's API; A is killed, the station reconnects to B and is
    callable through B and through A's replacement.
    """
    storage = f"[storage]\ndatabase = {postgresUrl}\n"

    def node(name):
        directory = tmp_path / name
        directory.mkdir()
        server = Kcsms(directory, "")
        server.configPath.write_text(
            server.configPath.read_text().replace(
                "[storage]\ndatabase = sqlite:var/kcsms.sqlite\n", storage
            )
        )
        server.run()
        return server

    async def callThrough(server, station, action, payload, answer):
        pending = ensureDeferred(
            http(
                "POST",
                f"http://127.0.0.1:{server.apiPort}/api/v1/chargepoints/CP001/calls/{action}",
                payload,
            )
        )
        call = await station.nextCall()
        assert call[2:] == [action, payload]
        station.answer(call, answer)
        assert await pending == (200, {"payload": answer})

    async def connected(server):
        url = f"http://127.0.0.1:{server.apiPort}/api/v1/chargepoints/CP001"
        for _ in range(100):
            status, body = await http("GET", url)
            if status == 200 and body["connected"]:
                return
            await deferLater(reactor, 0.1, lambda: None)
        raise AssertionError(f"CP001 is not connected according to {url}")

    a, b = node("a"), node("b")
    replacement = None
    try:
        station = await Station(a.port, "CP001").connect()
        await station.call("BootNotification", {"chargePointVendor": "A", "chargePointModel": "B"})
        await connected(b)
        await callThrough(b, station, "Reset", {"type": "Soft"}, {"status": "Accepted"})

        a.process.kill()
        a.process.wait(timeout=30)
        await station.factory.closed.addTimeout(10, reactor)
        station = await Station(b.port, "CP001").connect()
        await callThrough(b, station, "ClearCache", {}, {"status": "Accepted"})
        replacement = node("a2")
        await connected(replacement)
        await callThrough(replacement, station, "ClearCache", {}, {"status": "Rejected"})
    finally:
        for server in (a, b, replacement):
            if server is not None:
                server.stop()


def test_unreachableDatabaseExits(tmp_path):
    """
    A PostgreSQL server that refuses the connection stops twistd with a
    non-zero exit and a line naming the database.
    """
    server = Kcsms(tmp_path, "")
    server.configPath.write_text(
        server.configPath.read_text().replace(
            "database = sqlite:var/kcsms.sqlite",
            "database = postgresql://kcsms:pw@127.0.0.1:1/kcsms",
        )
    )
    server.run(wait=False)
    assert server.process.wait(timeout=30) != 0
    output = server.output()
    assert (
        "[storage] database: cannot connect to postgresql://kcsms:***@127.0.0.1:1/kcsms" in output
    )
    assert ":pw@" not in output
    server.stop()


@pytest_twisted.ensureDeferred
async def test_localListSyncOverRealSockets(tmp_path):
    """
    A named local list set through the API of a real process reaches a
    station that follows it: a Full at the first sync, then a Differential
    sent by itself when the list changes.
    """
    server = Kcsms(tmp_path, "[profiles]\nenabled = Core, LocalAuthListManagement\n")
    server.run()
    base = f"http://127.0.0.1:{server.apiPort}/api/v1"
    try:
        station = await Station(server.port, "CP001").connect()
        entries = [{"idTag": "A", "idTagInfo": {"status": "Accepted"}}]
        assert (await http("PUT", base + "/locallists/site", {"entries": entries}))[0] == 201
        assert (await http("PUT", base + "/chargepoints/CP001/locallist", {"list": "site"}))[
            0
        ] == 200
        pending = ensureDeferred(http("POST", base + "/chargepoints/CP001/locallist/sync"))
        call = await station.nextCall()
        assert (call[3]["updateType"], call[3]["listVersion"]) == ("Full", 1)
        station.answer(call, {"status": "Accepted"})
        assert (await pending)[1]["result"] == "Accepted"

        entries.append({"idTag": "B", "idTagInfo": {"status": "Blocked"}})
        assert (await http("PUT", base + "/locallists/site", {"entries": entries}))[0] == 200
        call = await station.nextCall()
        assert call[3] == {
            "listVersion": 2,
            "updateType": "Differential",
            "localAuthorizationList": entries[1:],
        }
        station.answer(call, {"status": "Accepted"})
        for _ in range(50):
            status, view = await http("GET", base + "/chargepoints/CP001/locallist")
            if view["installed"]["listVersion"] == 2:
                break
            await deferLater(reactor, 0.1, lambda: None)
        assert view["installed"] == {"known": True, "listVersion": 2, "entries": entries}
        status, result = await http("POST", base + "/chargepoints/CP001/locallist/sync")
        assert (status, result["result"]) == (200, "UpToDate")
    finally:
        server.stop()


@pytest_twisted.ensureDeferred
async def test_firmwareHostedByARealProcess(tmp_path):
    """
    A real process hosts a firmware image uploaded through its API on its
    [files] endpoint, and a station is told to fetch it from there.
    """
    import hashlib

    from twisted.web.client import Agent, readBody

    filesPort = freePort()
    server = Kcsms(
        tmp_path,
        f"[files]\nendpoint = tcp:{filesPort}:interface=127.0.0.1\n"
        "[profiles]\nenabled = Core, FirmwareManagement\n",
    )
    server.run()
    base = f"http://127.0.0.1:{server.apiPort}/api/v1"
    try:
        image = os.urandom(150_000)
        status, uploaded = await http("PUT", base + "/firmware/cp-2.0.bin", raw=image)
        assert (status, uploaded["sha256"]) == (201, hashlib.sha256(image).hexdigest())
        station = await Station(server.port, "CP001").connect()
        await station.call("BootNotification", BOOT)
        pending = ensureDeferred(
            http("POST", base + "/chargepoints/CP001/firmware-updates", {"image": "cp-2.0.bin"})
        )
        call = await station.nextCall()
        location = call[3]["location"]
        assert location == f"http://127.0.0.1:{filesPort}/firmware/cp-2.0.bin"
        response = await Agent(reactor).request(b"GET", location.encode())
        assert await readBody(response) == image
        station.answer(call, {})
        assert (await pending)[0] == 201
        assert (tmp_path / "var" / "files" / "firmware" / "cp-2.0.bin").read_bytes() == image
    finally:
        server.stop()
