"""
Tests for L{kcsms.service}: the call API, profile plugins, start and stop.
"""

import pytest
from twisted.python.failure import Failure

from kcsms.config import ConfigError, fromString
from kcsms.errors import (
    CallErrorReceived,
    CallTimeout,
    NotConnected,
    PayloadInvalid,
    ProfileDisabled,
    ResponseInvalid,
    UnknownAction,
    UnknownChargePoint,
)
from kcsms.plugin import findPlugins
from kcsms.service import CentralSystemService
from kcsms.testing import MemoryCentralSystem

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "One"}


def outcome(d):
    """
    The result or L{Failure} of a fired Deferred; C{None} when it has not fired.
    """
    results = []

    def keep(result):
        results.append(result)
        return result

    d.addBoth(keep)
    return results[0] if results else None


def failureType(d):
    """
    The exception type a fired Deferred failed with (the failure is handled).
    """
    value = outcome(d)
    assert isinstance(value, Failure), f"expected a failure, got {value!r}"
    d.addErrback(lambda f: None)
    return value.type


def test_neverSendsUnpromptedCalls(centralSystem):
    """
    Connecting, booting and reporting status makes the central system send
    nothing but answers.
    """
    station = centralSystem.connect()
    station.callResult("BootNotification", BOOT)
    station.callResult(
        "StatusNotification", {"connectorId": 0, "errorCode": "NoError", "status": "Available"}
    )
    centralSystem.advance(3600)
    assert station.calls() == []
    assert station.received == []


def test_callAndAnswerIsRecorded(centralSystem):
    """
    A call reaches the station as given and its answer comes back and is stored.
    """
    station = centralSystem.connect()
    d = centralSystem.service.call("CP001", "UnlockConnector", {"connectorId": 99})
    [call] = station.calls()
    assert call[0] == 2 and call[2:] == ["UnlockConnector", {"connectorId": 99}]
    station.answer(call, {"status": "NotSupported"})
    assert outcome(d) == {"status": "NotSupported"}
    [record] = outcome(centralSystem.store.listCalls("CP001"))
    assert record.action == "UnlockConnector"
    assert record.uniqueId == call[1]
    assert record.outcome == "Answered"
    assert record.response == {"status": "NotSupported"}


def test_everyCoreCallCanBeSent(centralSystem):
    """
    Each Core central-system action goes out when schema-valid, whatever its values.
    """
    station = centralSystem.connect()
    requests = {
        "ChangeAvailability": {"connectorId": 0, "type": "Inoperative"},
        "ChangeConfiguration": {"key": "Testing", "value": "true"},
        "ClearCache": {},
        "DataTransfer": {"vendorId": "com.example"},
        "GetConfiguration": {"key": []},
        "RemoteStartTransaction": {"idTag": "TAG"},
        "RemoteStopTransaction": {"transactionId": 424242},
        "Reset": {"type": "Hard"},
        "UnlockConnector": {"connectorId": 3},
    }
    for action, payload in requests.items():
        d = centralSystem.service.call("CP001", action, payload)
        [call] = station.calls()
        assert call[2:] == [action, payload]
        station.sendFrame([4, call[1], "GenericError", "test", {}])
        assert failureType(d) is CallErrorReceived


def test_oneCallOutstandingAtATime(centralSystem):
    """
    A second call waits until the first is answered.
    """
    station = centralSystem.connect()
    first = centralSystem.service.call("CP001", "ClearCache", {})
    second = centralSystem.service.call("CP001", "Reset", {"type": "Soft"})
    [call] = station.calls()
    assert call[2] == "ClearCache"
    station.answer(call, {"status": "Accepted"})
    assert outcome(first) == {"status": "Accepted"}
    [call] = station.calls()
    assert call[2] == "Reset"
    station.answer(call, {"status": "Rejected"})
    assert outcome(second) == {"status": "Rejected"}


def test_timeoutFailsTheCallAndTheQueueMovesOn():
    """
    No answer within C{call_timeout}: that call fails with L{CallTimeout}, the
    next one goes out, and a late answer is dropped.
    """
    centralSystem = MemoryCentralSystem("[ocpp]\ncall_timeout = 5\n")
    station = centralSystem.connect()
    first = centralSystem.service.call("CP001", "ClearCache", {})
    second = centralSystem.service.call("CP001", "ClearCache", {})
    [late] = station.calls()
    centralSystem.advance(4.9)
    assert outcome(first) is None
    centralSystem.advance(0.2)
    assert failureType(first) is CallTimeout
    [call] = station.calls()
    station.answer(late, {"status": "Accepted"})
    assert outcome(second) is None
    station.answer(call, {"status": "Rejected"})
    assert outcome(second) == {"status": "Rejected"}
    outcomes = [r.outcome for r in outcome(centralSystem.store.listCalls("CP001"))]
    assert outcomes == ["Timeout", "Answered"]


def test_callErrorReceived(centralSystem):
    """
    A CALLERROR answer fails the call with its code, description and details.
    """
    station = centralSystem.connect()
    d = centralSystem.service.call("CP001", "Reset", {"type": "Hard"})
    [call] = station.calls()
    station.sendFrame([4, call[1], "NotSupported", "no", {"why": "test"}])
    error = outcome(d).value
    assert failureType(d) is CallErrorReceived
    assert (error.errorCode, error.errorDescription, error.errorDetails) == (
        "NotSupported",
        "no",
        {"why": "test"},
    )


def test_invalidResponse(centralSystem):
    """
    A CALLRESULT that breaks the response schema fails with L{ResponseInvalid}.
    """
    station = centralSystem.connect()
    d = centralSystem.service.call("CP001", "Reset", {"type": "Hard"})
    [call] = station.calls()
    station.answer(call, {"status": "Maybe"})
    assert failureType(d) is ResponseInvalid


def test_callRefusals():
    """
    Unknown station, station not connected, unknown action, disabled profile
    and invalid payload each fail with their own exception, sending nothing.
    """
    centralSystem = MemoryCentralSystem("[profiles]\nenabled = Core\n")
    service = centralSystem.service
    outcome(centralSystem.store.setRegistration("CP002", "Accepted"))
    station = centralSystem.connect("CP001")
    assert failureType(service.call("NOPE", "ClearCache", {})) is UnknownChargePoint
    assert failureType(service.call("CP002", "ClearCache", {})) is NotConnected
    assert failureType(service.call("CP001", "FooBar", {})) is UnknownAction
    assert failureType(service.call("CP001", "Heartbeat", {})) is UnknownAction
    assert failureType(service.call("CP001", "ReserveNow", {})) is ProfileDisabled
    refused = service.call("CP001", "Reset", {"type": "Sometimes"})
    invalid = outcome(refused).value
    assert failureType(refused) is PayloadInvalid
    assert invalid.errorCode == "PropertyConstraintViolation"
    assert station.calls() == []


def test_disconnectFailsWaitingCalls(centralSystem):
    """
    Calls outstanding or queued when the station disconnects fail with L{NotConnected}.
    """
    station = centralSystem.connect()
    first = centralSystem.service.call("CP001", "ClearCache", {})
    second = centralSystem.service.call("CP001", "ClearCache", {})
    station.close()
    assert failureType(first) is NotConnected
    assert failureType(second) is NotConnected
    assert centralSystem.service.session("CP001") is None


def test_unknownPluginIsAConfigError():
    """
    An enabled profile with no plugin stops startup with a L{ConfigError}.
    """
    config = fromString("[profiles]\nenabled = Core, Teleportation, Acme\n")
    with pytest.raises(ConfigError) as info:
        CentralSystemService(config, None, findPlugins())
    assert str(info.value).startswith("[profiles] enabled: no plugin for Teleportation, Acme")


def test_pluginsAreFound(acmePlugin):
    """
    The Core plugin ships with kcsms; a dropin in another plugin folder is found too.
    """
    plugins = findPlugins()
    assert plugins["Core"].stationActions[0] == "Authorize"
    assert "AcmeVendor" in plugins


def test_badPluginOptionIsAConfigError(acmePlugin):
    """
    A plugin refuses options it does not know.
    """
    with pytest.raises(ConfigError) as info:
        MemoryCentralSystem(
            "[profiles]\nenabled = Core, AcmeVendor\n[profile:AcmeVendor]\ncolour = red\n"
        )
    assert str(info.value).startswith("[profile:AcmeVendor] colour:")
