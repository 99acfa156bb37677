"""
Tests for the RemoteTrigger profile (L{kcsms.profiles.remotetrigger}) and
its API (L{kcsms.api.trigger}): a simulated station in memory, real HTTP in
process, and a real twistd process.
"""

import pytest
import pytest_twisted
from twisted.internet.defer import ensureDeferred
from twisted.python.failure import Failure

from kcsms.api.trigger import REQUESTED_MESSAGES
from kcsms.errors import ProfileDisabled
from kcsms.testing import MemoryCentralSystem, resultOf
from tests.clients import Station, http
from tests.test_api import BOOT, Live, startLive
from tests.test_twistd import Kcsms

T0 = "2026-11-28T10:00:00.000Z"

#: What a station sends when triggered, and the answer an untriggered one gets.
TRIGGERED = {
    "BootNotification": (BOOT, "status", "Accepted"),
    "Heartbeat": ({}, "currentTime", None),
    "MeterValues": (
        {
            "connectorId": 1,
            "meterValue": [
                {"timestamp": T0, "sampledValue": [{"value": "12", "context": "Trigger"}]}
            ],
        },
        None,
        None,
    ),
    "StatusNotification": (
        {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
        None,
        None,
    ),
}


def trigger(centralSystem, station, payload, answer):
    """
    Send TriggerMessage through the Python API; the station answers C{answer}.

    @return: the payload the station got and the answer kcsms returned.
    """
    d = centralSystem.service.call("CP001", "TriggerMessage", payload)
    [call] = station.calls()
    station.answer(call, answer)
    return call[3], resultOf(d)


@pytest.mark.parametrize("requestedMessage", REQUESTED_MESSAGES)
@pytest.mark.parametrize("connectorId", [None, 1, 99])
def test_everyTriggerIsSentAsGiven(requestedMessage, connectorId):
    """
    Every requestedMessage, with no connectorId, a real one or one beyond
    the station's connectors, goes out exactly as given.
    """
    centralSystem = MemoryCentralSystem("[profiles]\nenabled = Core, RemoteTrigger\n")
    station = centralSystem.connect("CP001")
    station.callResult("BootNotification", BOOT)
    payload = {"requestedMessage": requestedMessage}
    if connectorId is not None:
        payload["connectorId"] = connectorId
    status = "Rejected" if connectorId == 99 else "Accepted"
    sent, answer = trigger(centralSystem, station, payload, {"status": status})
    assert (sent, answer) == (payload, {"status": status})


@pytest.mark.parametrize("requestedMessage", sorted(TRIGGERED))
def test_triggeredMessageIsAnsweredAsAnyOther(requestedMessage):
    """
    The message a station sends after an accepted TriggerMessage gets the
    answer an untriggered one gets; a triggered BootNotification keeps an
    accepted station accepted even when unknown stations are Pending.
    """
    centralSystem = MemoryCentralSystem(
        "[ocpp]\nunknown_chargepoints = pending\n[profiles]\nenabled = Core, RemoteTrigger\n"
    )
    resultOf(centralSystem.store.setRegistration("CP001", "Accepted"))
    station = centralSystem.connect("CP001")
    payload, field, expected = TRIGGERED[requestedMessage]
    untriggered = station.callResult(requestedMessage, payload)
    trigger(centralSystem, station, {"requestedMessage": requestedMessage}, {"status": "Accepted"})
    triggered = station.callResult(requestedMessage, payload)
    assert triggered.keys() == untriggered.keys()
    if field is not None:
        assert field in triggered
    if expected is not None:
        assert triggered[field] == expected
    assert resultOf(centralSystem.store.getChargePoint("CP001")).registration == "Accepted"


@pytest.mark.parametrize(
    "action, payload",
    [
        ("DiagnosticsStatusNotification", {"status": "Idle"}),
        ("FirmwareStatusNotification", {"status": "Idle"}),
    ],
)
def test_triggeredFirmwareStatusesNeedFirmwareManagement(action, payload):
    """
    A triggered Idle diagnostics or firmware status is answered as an
    untriggered one: NotSupported while FirmwareManagement is not enabled.
    """
    centralSystem = MemoryCentralSystem("[profiles]\nenabled = Core, RemoteTrigger\n")
    station = centralSystem.connect("CP001")
    station.callResult("BootNotification", BOOT)
    trigger(centralSystem, station, {"requestedMessage": action}, {"status": "Accepted"})
    assert station.call(action, payload)[2] == "NotSupported"


def test_disabledRemoteTrigger():
    """
    Without the profile, TriggerMessage is refused and nothing is sent.
    """
    centralSystem = MemoryCentralSystem("[profiles]\nenabled = Core\n")
    station = centralSystem.connect("CP001")
    station.callResult("BootNotification", BOOT)
    failure = resultOf(
        centralSystem.service.call("CP001", "TriggerMessage", {"requestedMessage": "Heartbeat"})
    )
    assert isinstance(failure, Failure) and failure.check(ProfileDisabled)
    assert station.calls() == []


# The API, over real HTTP


@pytest_twisted.async_yield_fixture
async def live():
    service = await startLive(profiles="Core, RemoteTrigger")
    yield Live(service)
    await service.stopService()


@pytest_twisted.ensureDeferred
async def test_apiTrigger(live):
    """
    POST .../trigger sends TriggerMessage as given and answers the
    station's status.
    """
    station = await live.station()
    for body, answer in (
        ({"requestedMessage": "StatusNotification", "connectorId": 1}, "Accepted"),
        ({"requestedMessage": "MeterValues", "connectorId": 3}, "Rejected"),
        ({"requestedMessage": "Heartbeat"}, "NotImplemented"),
    ):
        pending = live.request("POST", "/chargepoints/CP001/trigger", body)
        call = await station.nextCall()
        assert call[2:] == ["TriggerMessage", body]
        station.answer(call, {"status": answer})
        assert await pending == (200, {"status": answer})


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "missing field 'requestedMessage'"),
        ({"requestedMessage": "StartTransaction"}, "requestedMessage must be one of"),
        ({"requestedMessage": "Heartbeat", "connectorId": "1"}, "connectorId"),
        ({"requestedMessage": "Heartbeat", "connector": 1}, "unknown field 'connector'"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_apiBadTriggerBodies(live, body, message):
    """
    A bad body is a 400 naming the problem, and nothing is sent.
    """
    station = await live.station()
    status, answer = await live.request("POST", "/chargepoints/CP001/trigger", body)
    assert status == 400
    assert message in answer["message"]
    assert station.factory.calls.pending == []


@pytest_twisted.ensureDeferred
async def test_apiTriggerErrors(live):
    """
    Unknown station 404, not connected 409, a CALLERROR 502.
    """
    body = {"requestedMessage": "Heartbeat"}
    status, answer = await live.request("POST", "/chargepoints/CP001/trigger", body)
    assert (status, answer["error"]) == (404, "UnknownChargePoint")
    await live.request("PUT", "/chargepoints/CP001", {"registration": "Accepted"})
    status, answer = await live.request("POST", "/chargepoints/CP001/trigger", body)
    assert (status, answer["error"]) == (409, "NotConnected")
    station = await live.station()
    pending = live.request("POST", "/chargepoints/CP001/trigger", body)
    call = await station.nextCall()
    station.send([4, call[1], "NotImplemented", "no triggers", {}])
    status, answer = await pending
    assert (status, answer["errorCode"]) == (502, "NotImplemented")


@pytest_twisted.ensureDeferred
async def test_apiWithRemoteTriggerDisabled():
    """
    Without the profile, TriggerMessage through the calls route is 403 and
    so is the trigger route.
    """
    service = await startLive()
    try:
        live = Live(service)
        await live.station()
        body = {"requestedMessage": "Heartbeat"}
        status, answer = await live.request(
            "POST", "/chargepoints/CP001/calls/TriggerMessage", body
        )
        assert (status, answer["error"]) == (403, "ProfileDisabled")
        status, answer = await live.request("POST", "/chargepoints/CP001/trigger", body)
        assert (status, answer["error"]) == (403, "ProfileDisabled")
    finally:
        await service.stopService()


# A real process


@pytest_twisted.ensureDeferred
async def test_triggerOverRealSockets(tmp_path):
    """
    A real twistd process: the trigger route reaches the station, and the
    triggered StatusNotification is answered and stored.
    """
    server = Kcsms(tmp_path, "[profiles]\nenabled = Core, RemoteTrigger\n")
    base = f"http://127.0.0.1:{server.apiPort}/api/v1/chargepoints/CP001"
    server.run()
    try:
        station = await Station(server.port, "CP001").connect()
        await station.call("BootNotification", BOOT)
        body = {"requestedMessage": "StatusNotification", "connectorId": 2}
        pending = ensureDeferred(http("POST", base + "/trigger", body))
        call = await station.nextCall()
        assert call[2:] == ["TriggerMessage", body]
        station.answer(call, {"status": "Accepted"})
        assert await pending == (200, {"status": "Accepted"})
        await station.call(
            "StatusNotification", {"connectorId": 2, "errorCode": "NoError", "status": "Available"}
        )
        status, chargePoint = await http("GET", base)
        assert [(c["connectorId"], c["status"]) for c in chargePoint["connectors"]] == [
            (2, "Available")
        ]
    finally:
        server.stop()
