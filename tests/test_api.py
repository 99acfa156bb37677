"""
Tests for L{kcsms.api}: the operator API over real HTTP, against a central
system running in this process on loopback sockets with an in-memory store,
and simulated stations on real WebSockets.
"""

import pytest
import pytest_twisted
from openapi_spec_validator import validate
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred

from kcsms import makeService
from kcsms.config import fromString
from tests.clients import Station, http

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "One", "firmwareVersion": "7"}
T0 = "2026-11-28T10:00:00.000Z"


class Live:
    """
    A running central system and how to reach it.
    """

    def __init__(self, service, token=None):
        self.service = service
        self.token = token
        self.ocppPort = service.listening["ocpp"][0].getHost().port
        self.apiPort = service.listening["api"][0].getHost().port

    def request(self, method, path, body=None, raw=None, token=...):
        """
        Start an API request; await it for C{(status, body)}.
        """
        return ensureDeferred(
            http(
                method,
                f"http://127.0.0.1:{self.apiPort}/api/v1{path}",
                body,
                self.token if token is ... else token,
                raw,
            )
        )

    async def station(self, chargePointId="CP001", boot=True):
        station = await Station(self.ocppPort, chargePointId).connect()
        if boot:
            await station.call("BootNotification", BOOT)
        return station


async def startLive(extra="", profiles="Core"):
    config = fromString(
        "[ocpp]\nendpoint = tcp:0:interface=127.0.0.1\ncall_timeout = 1\n"
        "[storage]\ndatabase = memory:\n"
        "[api]\nendpoint = tcp:0:interface=127.0.0.1\n"
        + extra
        + f"[profiles]\nenabled = {profiles}\n"
    )
    service = makeService(config, reactor)
    service.startService()
    return service


@pytest_twisted.async_yield_fixture
async def live():
    service = await startLive()
    yield Live(service)
    await service.stopService()


@pytest_twisted.ensureDeferred
async def test_tokenIsRequiredWhenSet():
    """
    With C{[api] token} every request needs C{Authorization: Bearer <token>}.
    """
    service = await startLive("token = s3cret\n")
    try:
        api = Live(service, token="s3cret")
        assert (await api.request("GET", "/chargepoints"))[0] == 200
        for token in (None, "wrong", "S3CRET"):
            status, body = await api.request("GET", "/chargepoints", token=token)
            assert status == 401
            assert body["error"] == "Unauthorized"
    finally:
        await service.stopService()


@pytest_twisted.ensureDeferred
async def test_unknownRoutesAndMethods(live):
    """
    Unknown paths are 404 and wrong methods 405, both with a JSON error body.
    """
    status, body = await live.request("GET", "/nothing")
    assert (status, body["error"]) == (404, "UnknownRoute")
    status, body = await live.request("POST", "/idtags")
    assert (status, body["error"]) == (405, "MethodNotAllowed")
    assert body["allowed"] == ["GET"]


@pytest_twisted.ensureDeferred
async def test_chargePointLifecycle(live):
    """
    PUT registers (201) then updates (200); GET shows boot data, connection
    and connectors; DELETE forgets it (204) and closes its connection.
    """
    status, body = await live.request("PUT", "/chargepoints/CP001", {"registration": "Pending"})
    assert (status, body["registration"], body["connected"]) == (201, "Pending", False)
    station = await live.station("CP001")
    assert (await station.call("BootNotification", BOOT))["status"] == "Pending"
    status, body = await live.request("PUT", "/chargepoints/CP001", {"registration": "Accepted"})
    assert (status, body["registration"]) == (200, "Accepted")
    await station.call(
        "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    )
    status, body = await live.request("GET", "/chargepoints/CP001")
    assert status == 200
    assert body["connected"] is True
    assert body["chargePointVendor"] == "Acme"
    assert body["firmwareVersion"] == "7"
    assert body["lastSeen"].endswith("Z")
    assert [(c["connectorId"], c["status"]) for c in body["connectors"]] == [(1, "Available")]
    status, listed = await live.request("GET", "/chargepoints")
    assert [cp["id"] for cp in listed] == ["CP001"]
    status, body = await live.request("DELETE", "/chargepoints/CP001")
    assert (status, body) == (204, None)
    await station.factory.closed
    assert (await live.request("GET", "/chargepoints/CP001"))[0] == 404
    assert (await live.request("DELETE", "/chargepoints/CP001"))[0] == 404


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1]",
        b'{"registration": "Maybe"}',
        b'{"registration": 1}',
        b'{"registration": "Accepted", "colour": "red"}',
        b"{}",
        b"",
    ],
)
@pytest_twisted.ensureDeferred
async def test_badChargePointBodies(live, raw):
    """
    A body that is not JSON, not an object, or has a bad or unknown field is 400.
    """
    status, body = await live.request("PUT", "/chargepoints/CP001", raw=raw)
    assert status == 400
    assert set(body) >= {"error", "message"}


@pytest_twisted.ensureDeferred
async def test_tooLongChargePointId(live):
    """
    Charge point ids are at most 48 characters.
    """
    status, _ = await live.request("PUT", "/chargepoints/" + "x" * 49, {"registration": "Accepted"})
    assert status == 400


@pytest_twisted.ensureDeferred
async def test_callAnswered(live):
    """
    A call goes to the station as given and its answer comes back as C{payload}.
    """
    station = await live.station()
    pending = live.request("POST", "/chargepoints/CP001/calls/UnlockConnector", {"connectorId": 9})
    call = await station.nextCall()
    assert call[2:] == ["UnlockConnector", {"connectorId": 9}]
    station.answer(call, {"status": "NotSupported"})
    assert await pending == (200, {"payload": {"status": "NotSupported"}})


@pytest_twisted.ensureDeferred
async def test_callErrorIs502(live):
    """
    A CALLERROR answer is 502 with its code, description and details.
    """
    station = await live.station()
    pending = live.request("POST", "/chargepoints/CP001/calls/Reset", {"type": "Hard"})
    call = await station.nextCall()
    station.send([4, call[1], "NotSupported", "nope", {"a": 1}])
    status, body = await pending
    assert status == 502
    assert body["error"] == "CallError"
    assert (body["errorCode"], body["errorDescription"], body["errorDetails"]) == (
        "NotSupported",
        "nope",
        {"a": 1},
    )


@pytest_twisted.ensureDeferred
async def test_noAnswerIs504(live):
    """
    No answer within C{call_timeout} is 504.
    """
    station = await live.station()
    pending = live.request("POST", "/chargepoints/CP001/calls/ClearCache", {})
    await station.nextCall()
    status, body = await pending
    assert (status, body["error"]) == (504, "CallTimeout")


@pytest.mark.parametrize(
    "path, payload, status, error",
    [
        ("/chargepoints/NOPE/calls/ClearCache", {}, 404, "UnknownChargePoint"),
        ("/chargepoints/CP001/calls/Fly", {}, 404, "UnknownAction"),
        ("/chargepoints/CP001/calls/ReserveNow", {}, 403, "ProfileDisabled"),
        ("/chargepoints/CP001/calls/Reset", {"type": "Sometimes"}, 400, "PayloadInvalid"),
        ("/chargepoints/CP001/calls/Reset", [], 400, "BadJson"),
        ("/chargepoints/CP002/calls/Reset", {"type": "Hard"}, 409, "NotConnected"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_callRefusals(live, path, payload, status, error):
    """
    Each way a call cannot be made has its status and error code.
    """
    await live.station("CP001")
    await live.request("PUT", "/chargepoints/CP002", {"registration": "Accepted"})
    answer = await live.request("POST", path, payload)
    assert answer[0] == status
    assert answer[1]["error"] == error


@pytest_twisted.ensureDeferred
async def test_idTags(live):
    """
    Id tags are created (201), replaced (200), read case-insensitively,
    listed and deleted (204); Authorize then answers from them.
    """
    body = {"status": "Accepted", "expiryDate": "2030-01-01T00:00:00Z", "parentIdTag": "FLEET"}
    status, tag = await live.request("PUT", "/idtags/Tag1", body)
    assert status == 201
    assert tag == {**body, "idTag": "Tag1", "expiryDate": "2030-01-01T00:00:00.000Z"}
    status, tag = await live.request("PUT", "/idtags/TAG1", {"status": "Blocked"})
    assert (status, tag["status"], tag["expiryDate"]) == (200, "Blocked", None)
    assert (await live.request("GET", "/idtags/tag1"))[1]["idTag"] == "TAG1"
    assert [t["idTag"] for t in (await live.request("GET", "/idtags"))[1]] == ["TAG1"]
    station = await live.station()
    answer = await station.call("Authorize", {"idTag": "tag1"})
    assert answer["idTagInfo"]["status"] == "Blocked"
    assert (await live.request("DELETE", "/idtags/Tag1"))[0] == 204
    assert (await live.request("GET", "/idtags/Tag1"))[0] == 404
    assert (await live.request("DELETE", "/idtags/Tag1"))[0] == 404


@pytest.mark.parametrize(
    "path, body",
    [
        ("/idtags/T", {"status": "Fine"}),
        ("/idtags/T", {"status": "Accepted", "expiryDate": "tomorrow"}),
        ("/idtags/T", {"status": "Accepted", "expiryDate": 5}),
        ("/idtags/T", {"status": "Accepted", "parentIdTag": "x" * 21}),
        ("/idtags/T", {"status": "Accepted", "parentIdTag": 3}),
        ("/idtags/T", {"expiryDate": None}),
        ("/idtags/" + "x" * 21, {"status": "Accepted"}),
    ],
)
@pytest_twisted.ensureDeferred
async def test_badIdTags(live, path, body):
    """
    Bad id tag bodies and over-long id tags are 400.
    """
    status, answer = await live.request("PUT", path, body)
    assert status == 400
    assert answer["error"] == "BadRequest"


@pytest_twisted.ensureDeferred
async def test_transactions(live):
    """
    Transactions are listed with filters and shown with their meter values.
    """
    station = await live.station()
    start = {"connectorId": 1, "idTag": "T", "meterStart": 5, "timestamp": T0}
    first = (await station.call("StartTransaction", start))["transactionId"]
    second = (await station.call("StartTransaction", {**start, "connectorId": 2}))["transactionId"]
    await station.call(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": first,
            "meterValue": [{"timestamp": T0, "sampledValue": [{"value": "7", "unit": "Wh"}]}],
        },
    )
    await station.call(
        "StopTransaction",
        {"transactionId": first, "meterStop": 9, "timestamp": T0, "reason": "Remote"},
    )

    async def ids(query):
        status, body = await live.request("GET", "/transactions" + query)
        assert status == 200
        return [t["transactionId"] for t in body]

    assert await ids("") == [first, second]
    assert await ids("?active=true") == [second]
    assert await ids("?active=false&chargepoint=CP001") == [first]
    assert await ids("?chargepoint=OTHER") == []
    status, body = await live.request("GET", f"/transactions/{first}")
    assert status == 200
    assert body["stopReason"] == "Remote"
    assert body["meterStop"] == 9
    assert body["startTimestamp"] == T0
    assert body["idTagStatus"] == "Invalid"
    assert body["meterValues"] == [
        {"timestamp": T0, "sampledValue": [{"value": "7", "unit": "Wh"}]}
    ]
    assert (await live.request("GET", "/transactions?active=yes"))[0] == 400
    assert (await live.request("GET", "/transactions/abc"))[0] == 400
    assert (await live.request("GET", "/transactions/99999"))[0] == 404


@pytest_twisted.ensureDeferred
async def test_messageLog(live):
    """
    Every frame in and out is logged with millisecond times, newest last,
    garbage included.
    """
    station = await live.station()
    station.protocol.sendMessage(b"garbage")
    await station.call("Heartbeat", {})
    status, messages = await live.request("GET", "/chargepoints/CP001/messages")
    assert status == 200
    assert [
        (m["direction"], m["message"][0] if isinstance(m["message"], list) else m["message"])
        for m in messages
    ] == [("in", 2), ("out", 3), ("in", "garbage"), ("in", 2), ("out", 3)]
    assert messages[0]["message"][2] == "BootNotification"
    assert all(len(m["timestamp"]) == 24 for m in messages)
    status, last = await live.request("GET", "/chargepoints/CP001/messages?limit=2")
    assert last == messages[-2:]
    for bad in ("0", "x", "10001"):
        assert (await live.request("GET", f"/chargepoints/CP001/messages?limit={bad}"))[0] == 400
    assert (await live.request("GET", "/chargepoints/NOPE/messages"))[0] == 404


@pytest_twisted.ensureDeferred
async def test_openApiDocumentMatchesTheServer(live):
    """
    The OpenAPI document is valid OpenAPI 3, and every documented route
    answers with one of its documented statuses.
    """
    status, document = await live.request("GET", "/openapi.json")
    assert status == 200
    validate(document)
    await live.request("PUT", "/chargepoints/CP001", {"registration": "Accepted"})
    for path, operations in document["paths"].items():
        concrete = (
            path.removeprefix("/api/v1")
            .replace("{chargePointId}", "CP001")
            .replace("{action}", "ClearCache")
            .replace("{idTag}", "TAG")
            .replace("{transactionId}", "1")
        )
        for method, operation in operations.items():
            body = (
                {"registration": "Accepted"} if "chargepoints" in path else {"status": "Accepted"}
            )
            status, answer = await live.request(method.upper(), concrete, body)
            assert str(status) in operation["responses"], (method, path, status, answer)
            if answer is not None:
                assert answer.get("error") != "UnknownRoute" if isinstance(answer, dict) else True
