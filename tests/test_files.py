"""
Tests for L{kcsms.files} and the FirmwareManagement API over real sockets:
a central system in this process on loopback, a simulated station that
really downloads its firmware over HTTP and really uploads diagnostics over
FTP and HTTP, and the ways a file or a path is refused.
"""

import ftplib
import hashlib
import json
import os
import socket
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.web.client import Agent, readBody

from kcsms import makeService
from kcsms.config import fromString
from tests.test_api import Live, startLive

#: The largest file the central system under test accepts.
MAX_FILE_SIZE = 300_000
T0 = "2026-11-28T10:00:00.000Z"
URL = "http://fw/x.bin"
UPDATES = "/chargepoints/CP001/firmware-updates"


class Files(Live):
    """
    A running central system that hosts files, and how to reach them.
    """

    def __init__(self, service, directory):
        super().__init__(service)
        self.directory = directory
        self.filesPort = service.listening["files"][0].getHost().port
        self.ftpPort = service.listening["files"][1].getHost().port
        self.apiBase = f"http://127.0.0.1:{self.apiPort}/api/v1"

    async def fetch(self, url):
        """
        @return: C{(status, body bytes)} of a GET.
        """
        response = await Agent(reactor).request(b"GET", url.encode())
        return response.code, await readBody(response)

    def uploads(self, chargePointId="CP001"):
        """
        @return: the names of the files kept in the station's directory.
        """
        return sorted(os.listdir(self.directory / "diagnostics" / chargePointId))

    def spooled(self):
        return os.listdir(self.directory / "tmp")

    async def diagnosticsToken(self, station, fileName="diag.txt"):
        """
        Request diagnostics without a location; the station answers.

        @return: the upload location handed out and its token.
        """
        pending = self.request("POST", "/chargepoints/CP001/diagnostics", {})
        call = await station.nextCall()
        station.answer(call, {"fileName": fileName})
        status, job = await pending
        assert status == 201, job
        location = call[3]["location"]
        return location, urlsplit(location).password


@pytest_twisted.async_yield_fixture
async def files(tmp_path):
    config = fromString(
        "[ocpp]\nendpoint = tcp:0:interface=127.0.0.1\ncall_timeout = 2\n"
        "[storage]\ndatabase = memory:\n[api]\nendpoint = tcp:0:interface=127.0.0.1\n"
        "[files]\nendpoint = tcp:0:interface=127.0.0.1\nftp_endpoint = tcp:0:interface=127.0.0.1\n"
        f"directory = {tmp_path}\nmax_file_size = {MAX_FILE_SIZE}\n"
        "[profiles]\nenabled = Core, FirmwareManagement\n"
    )
    service = makeService(config, reactor)
    service.startService()
    yield Files(service, tmp_path)
    await service.stopService()


def ftpStore(location, path, data):
    """
    Upload C{data} as C{path} to an C{ftp://user:password@host:port/}
    location, as a station does (blocking: run it in a thread).
    """
    url = urlsplit(location)
    with ftplib.FTP() as client:
        client.connect(url.hostname, url.port, timeout=10)
        client.login(url.username, url.password)
        client.storbinary(f"STOR {path}", _Chunks(data))


class _Chunks:
    def __init__(self, data):
        self._data = data

    def read(self, size):
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


def rawHttp(port, head, body=b"", chunks=()):
    """
    Send a request over a plain socket and read the answer (blocking).

    @param chunks: sent with chunked transfer encoding, until the server
        stops reading.
    @return: C{(status, JSON body)}.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + body)
        try:
            for chunk in chunks:
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server closed the connection
        answer = b""
        while data := s.recv(65536):
            answer += data
    header, _, content = answer.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in header.lower():
        body = b""
        while (size := int(content.split(b"\r\n", 1)[0], 16)) > 0:
            start = content.index(b"\r\n") + 2
            body, content = body + content[start : start + size], content[start + size + 2 :]
        content = body
    return int(header.split()[1]), json.loads(content)


@pytest_twisted.ensureDeferred
async def test_stationDownloadsFirmwareAndUploadsDiagnostics(files):
    """
    An image uploaded through the API (sha256 recorded) is downloaded by
    the station from the location in its UpdateFirmware; the job follows to
    Installed.  Without a location, diagnostics go to kcsms, over FTP with
    the job's credentials and over HTTP with its token (PUT, and POST of
    multipart/form-data), and are listed and downloadable per station.
    """
    image = os.urandom(250_000)
    status, uploaded = await files.request("PUT", "/firmware/cp-2.0.bin", raw=image)
    assert status == 201, uploaded
    assert uploaded["sha256"] == hashlib.sha256(image).hexdigest()
    assert uploaded["location"] == f"http://127.0.0.1:{files.filesPort}/firmware/cp-2.0.bin"
    assert (await files.request("GET", "/firmware"))[1] == [uploaded]
    assert files.spooled() == []

    station = await files.station()
    pending = files.request("POST", UPDATES, {"image": "cp-2.0.bin", "retries": 2})
    call = await station.nextCall()
    assert call[2] == "UpdateFirmware"
    assert (call[3]["location"], call[3]["retries"]) == (uploaded["location"], 2)
    assert await files.fetch(call[3]["location"]) == (200, image)
    station.answer(call, {})
    status, job = await pending
    assert (status, job["status"]) == (201, "Requested")
    for status in ("Downloading", "Downloaded", "Installing"):
        await station.call("FirmwareStatusNotification", {"status": status})
    await station.call("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "One"})
    await station.call("FirmwareStatusNotification", {"status": "Installed"})
    [job] = (await files.request("GET", "/chargepoints/CP001/firmware-updates"))[1]
    assert job["result"] == "Installed"
    assert [entry["event"] for entry in job["history"]][-2:] == ["BootNotification", "Installed"]

    location, token = await files.diagnosticsToken(station)
    assert location == f"ftp://diagnostics:{token}@127.0.0.1:{files.ftpPort}/"
    report = b"diagnostics over FTP\n" * 10_000
    await deferToThread(ftpStore, location, "diag.txt", report)
    status, kept = await deferToThread(
        rawHttp,
        files.filesPort,
        f"PUT /diagnostics/{token}/put.log HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        "Connection: close\r\n\r\n".encode(),
        b"hello",
    )
    assert (status, kept["fileName"], kept["size"]) == (201, "put.log", 5)
    boundary = uuid4().hex
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="form.log"\r\n'
            f"Content-Type: text/plain\r\n\r\n"
        ).encode()
        + report
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, kept = await deferToThread(
        rawHttp,
        files.filesPort,
        f"POST /diagnostics/{token}/ HTTP/1.1\r\nHost: x\r\nContent-Length: {len(form)}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nConnection: close\r\n\r\n".encode(),
        form,
    )
    assert (status, kept["fileName"], kept["sha256"]) == (
        201,
        "form.log",
        hashlib.sha256(report).hexdigest(),
    )
    await station.call("DiagnosticsStatusNotification", {"status": "Uploaded"})
    [job] = (await files.request("GET", "/chargepoints/CP001/diagnostics"))[1]
    assert (job["result"], job["fileName"]) == ("Uploaded", "diag.txt")
    listed = (await files.request("GET", "/chargepoints/CP001/diagnostics/files"))[1]
    assert sorted(f["fileName"] for f in listed) == ["diag.txt", "form.log", "put.log"]
    assert files.uploads() == ["diag.txt", "form.log", "put.log"]
    assert await files.fetch(f"{files.apiBase}/chargepoints/CP001/diagnostics/files/diag.txt") == (
        200,
        report,
    )
    assert files.spooled() == []


@pytest_twisted.ensureDeferred
async def test_pathTraversalIsRefused(files):
    """
    No name or path escapes its directory: API, download, HTTP and FTP
    uploads refuse them with a clear error, and nothing is written elsewhere.
    """
    station = await files.station()
    location, token = await files.diagnosticsToken(station)
    for name in ("..%2Fescape", ".hidden", "a%5Cb"):
        status, body = await files.request("PUT", f"/firmware/{name}", raw=b"x")
        assert (status, body["error"]) == (400, "BadFileName"), name
    status, body = await files.request(
        "GET", "/chargepoints/CP001/diagnostics/files/..%2F..%2Ffirmware%2Fx"
    )
    assert (status, body["error"]) == (400, "BadFileName")
    for path, expected in (
        ("/firmware/..%2F..%2Fetc%2Fpasswd", 400),
        ("/firmware/missing.bin", 404),
        ("/elsewhere", 404),
    ):
        status, body = await files.fetch(f"http://127.0.0.1:{files.filesPort}{path}")
        assert status == expected, path
        assert "message" in json.loads(body)
    for path, expected in ((f"{token}/..%2Fescape", 400), ("not-a-token/x.log", 404)):
        status, body = await deferToThread(
            rawHttp,
            files.filesPort,
            f"PUT /diagnostics/{path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
            "Connection: close\r\n\r\nx".encode(),
        )
        assert status == expected, (path, body)
    for path in ("../escape.txt", "sub/x.txt", "../../firmware/x.bin"):
        with pytest.raises(ftplib.error_perm):
            await deferToThread(ftpStore, location, path, b"x")
    with pytest.raises(ftplib.error_perm):
        await deferToThread(ftpStore, location.replace(token, "wrong"), "x.txt", b"x")
    assert files.uploads() == []
    assert sorted(os.listdir(files.directory)) == ["diagnostics", "firmware", "tmp"]
    assert os.listdir(files.directory / "firmware") == []


@pytest_twisted.ensureDeferred
async def test_oversizedUploadsAreRefusedWithoutFillingTheDisk(files):
    """
    A body announced larger than max_file_size is refused (413) before any
    of it is stored; a chunked one is cut off once it passes the limit; an
    FTP upload likewise; nothing stays behind.
    """
    station = await files.station()
    location, token = await files.diagnosticsToken(station)
    status, body = await deferToThread(
        rawHttp,
        files.apiPort,
        b"PUT /api/v1/firmware/big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n",
        b"x" * 1000,
    )
    assert (status, body["error"]) == (413, "TooLarge")
    assert str(MAX_FILE_SIZE) in body["message"]
    status, body = await deferToThread(
        rawHttp,
        files.filesPort,
        f"PUT /diagnostics/{token}/big.log HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode(),
        chunks=[b"y" * 65536] * 100,
    )
    assert (status, body["error"]) == (413, "TooLarge")
    with pytest.raises(ftplib.Error):
        await deferToThread(ftpStore, location, "big.log", b"z" * (MAX_FILE_SIZE + 1))
    assert (await files.request("GET", "/firmware"))[1] == []
    assert files.uploads() == []
    assert files.spooled() == []


@pytest_twisted.ensureDeferred
async def test_rolloutReportsEachStation(files):
    """
    A rollout sends the update to each station and shows where each is.
    """
    station = await files.station()
    status, rollout = await files.request(
        "POST",
        "/firmware-rollouts",
        {"stations": ["CP001", "CP404"], "location": "http://fw/x.bin", "retrieveDate": T0},
    )
    assert status == 202, rollout
    call = await station.nextCall()
    station.answer(call, {})
    await station.call("FirmwareStatusNotification", {"status": "Downloading"})
    path = f"/firmware-rollouts/{rollout['rolloutId']}"
    stations = (await files.request("GET", path))[1]["stations"]
    assert [(s["chargePointId"], s["status"]) for s in stations] == [
        ("CP001", "Downloading"),
        ("CP404", "Failed"),
    ]
    assert [r["rolloutId"] for r in (await files.request("GET", "/firmware-rollouts"))[1]] == [
        rollout["rolloutId"]
    ]


BAD_REQUESTS = [
    ("POST", UPDATES, {"location": URL, "image": "y"}, 400),
    ("POST", UPDATES, {"retrieveDate": T0}, 400),
    ("POST", UPDATES, {"location": "not a uri"}, 400),
    ("POST", UPDATES, {"location": URL, "retries": "2"}, 400),
    ("POST", UPDATES, {"location": URL, "colour": 1}, 400),
    (
        "POST",
        "/chargepoints/CP001/firmware-updates",
        {"location": URL, "retrieveDate": "soon"},
        400,
    ),
    ("POST", UPDATES, {"image": "missing.bin"}, 404),
    ("POST", "/chargepoints/NOPE/firmware-updates", {"location": URL}, 404),
    ("GET", "/chargepoints/NOPE/firmware-updates", None, 404),
    ("POST", "/chargepoints/CP001/diagnostics", {"startTime": "yesterday"}, 400),
    ("POST", "/chargepoints/CP001/diagnostics", {"location": 5}, 400),
    ("GET", "/chargepoints/CP001/diagnostics/files/none.log", None, 404),
    ("POST", "/firmware-rollouts", {"stations": [], "location": URL}, 400),
    ("POST", "/firmware-rollouts", {"stations": ["A", "A"], "location": URL}, 400),
    ("POST", "/firmware-rollouts", {"stations": ["A"], "location": URL, "pace": -1}, 400),
    ("POST", "/firmware-rollouts", {"location": URL}, 400),
    ("GET", "/firmware-rollouts/12", None, 404),
    ("GET", "/firmware-rollouts/x", None, 404),
]


@pytest_twisted.ensureDeferred
async def test_badRequestsGetClearErrors(files):
    """
    Each bad input is answered with a 4xx and a JSON error naming the problem.
    """
    await files.station()
    for method, path, body, expected in BAD_REQUESTS:
        status, answer = await files.request(method, path, body)
        assert status == expected, (method, path, body, answer)
        assert answer["message"], answer
    status, answer = await files.request("PUT", "/firmware/empty.bin", raw=b"")
    assert (status, answer["message"]) == (400, "the body (the firmware image) is empty")


@pytest_twisted.ensureDeferred
async def test_withoutFileHostingImagesAndUploadsNeedALocation(tmp_path, monkeypatch):
    """
    Without [files] endpoints an image still uploads (with no location), but
    an update from it or diagnostics without a location is 409.
    """
    monkeypatch.chdir(tmp_path)
    service = await startLive(profiles="Core, FirmwareManagement")
    try:
        live = Live(service)
        await live.station()
        status, image = await live.request("PUT", "/firmware/a.bin", raw=b"abc")
        assert (status, image["location"]) == (201, None)
        for path, body in (
            (UPDATES, {"image": "a.bin"}),
            ("/chargepoints/CP001/diagnostics", {}),
        ):
            status, answer = await live.request("POST", path, body)
            assert (status, answer["error"]) == (409, "NotHosted"), answer
    finally:
        await service.stopService()
