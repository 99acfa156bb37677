"""
Tests for L{kcsms.profiles.core}: the Core profile as a station meets it,
through the real protocol in memory.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from twisted.internet.defer import Deferred

from kcsms.model import IdTag
from kcsms.profiles.core import SEEN_FLUSH_INTERVAL
from kcsms.testing import MemoryCentralSystem, resultOf

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "One", "firmwareVersion": "1.2"}
MS_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
T0 = "2026-11-28T10:00:00.000Z"


def booted(centralSystem, chargePointId="CP001"):
    station = centralSystem.connect(chargePointId)
    assert station.callResult("BootNotification", BOOT)["status"] == "Accepted"
    return station


def putTag(centralSystem, idTag, status="Accepted", expiryDate=None, parentIdTag=None):
    resultOf(centralSystem.store.putIdTag(IdTag(idTag, status, expiryDate, parentIdTag)))


def test_bootAcceptedWithIntervalAndMillisecondTime():
    """
    An unknown station is Accepted by default; the answer carries the
    configured interval and a UTC time with milliseconds.
    """
    centralSystem = MemoryCentralSystem("[ocpp]\nheartbeat_interval = 42\n")
    station = centralSystem.connect("CP001")
    answer = station.callResult("BootNotification", BOOT)
    assert answer["status"] == "Accepted"
    assert answer["interval"] == 42
    assert MS_TIMESTAMP.match(answer["currentTime"])
    chargePoint = resultOf(centralSystem.store.getChargePoint("CP001"))
    assert chargePoint.registration == "Accepted"
    assert chargePoint.boot.firmwareVersion == "1.2"


@pytest.mark.parametrize("policy, status", [("pending", "Pending"), ("reject", "Rejected")])
def test_unknownStationPolicy(policy, status):
    """
    C{unknown_chargepoints} decides the answer to an unregistered station's boot.
    """
    centralSystem = MemoryCentralSystem(f"[ocpp]\nunknown_chargepoints = {policy}\n")
    station = centralSystem.connect()
    answer = station.callResult("BootNotification", BOOT)
    assert answer["status"] == status
    assert answer["interval"] == 300


def test_rejectedStationGetsSecurityError():
    """
    A station that is not accepted under C{reject} gets SecurityError for
    anything but BootNotification.
    """
    centralSystem = MemoryCentralSystem("[ocpp]\nunknown_chargepoints = reject\n")
    station = centralSystem.connect()
    assert station.call("Heartbeat", {})[2] == "SecurityError"
    station.callResult("BootNotification", BOOT)
    assert station.call("Authorize", {"idTag": "A"})[2] == "SecurityError"


def test_registeredRejectedStaysRejected(centralSystem):
    """
    A station registered as Rejected is answered Rejected and refused otherwise.
    """
    resultOf(centralSystem.store.setRegistration("CP009", "Rejected"))
    station = centralSystem.connect("CP009")
    assert station.callResult("BootNotification", BOOT)["status"] == "Rejected"
    assert station.call("Heartbeat", {})[2] == "SecurityError"


def test_acceptedStationNeedsNoBootOnReconnect(centralSystem):
    """
    A station accepted once may send anything on a new connection without booting.
    """
    booted(centralSystem).close()
    station = centralSystem.connect("CP001")
    answer = station.call(
        "StatusNotification", {"connectorId": 0, "errorCode": "NoError", "status": "Available"}
    )
    assert answer[0] == 3 and answer[2] == {}


def test_heartbeat(centralSystem):
    """
    Heartbeat answers the current time with milliseconds; when the station
    was last seen is written within L{SEEN_FLUSH_INTERVAL} seconds, and at stop.
    """
    station = booted(centralSystem)
    centralSystem.advance(7)
    answer = station.callResult("Heartbeat", {})
    assert MS_TIMESTAMP.match(answer["currentTime"])
    centralSystem.advance(SEEN_FLUSH_INTERVAL)
    chargePoint = resultOf(centralSystem.store.getChargePoint("CP001"))
    assert chargePoint.lastSeen == datetime.fromtimestamp(7, UTC)
    centralSystem.advance(1)
    station.callResult("Heartbeat", {})
    [core] = [p for p in centralSystem.service.profiles if p.name == "Core"]
    resultOf(core.stopService())
    chargePoint = resultOf(centralSystem.store.getChargePoint("CP001"))
    assert chargePoint.lastSeen == datetime.fromtimestamp(7 + SEEN_FLUSH_INTERVAL + 1, UTC)


def test_authorize(centralSystem):
    """
    Authorize answers from the store: unknown tags Invalid, stored statuses,
    an expiry in the past Expired, parentIdTag passed on, case-insensitively.
    """
    now = datetime.fromtimestamp(0, UTC)
    putTag(centralSystem, "GOOD", parentIdTag="FLEET")
    putTag(centralSystem, "BLOCKED", "Blocked")
    putTag(centralSystem, "OLD", expiryDate=now - timedelta(days=1))
    putTag(centralSystem, "LATER", expiryDate=now + timedelta(days=1))
    station = booted(centralSystem)

    def status(tag):
        return station.callResult("Authorize", {"idTag": tag})["idTagInfo"]

    assert status("NOPE") == {"status": "Invalid"}
    assert status("GOOD") == {"status": "Accepted", "parentIdTag": "FLEET"}
    assert status("good")["status"] == "Accepted"
    assert status("BLOCKED") == {"status": "Blocked"}
    assert status("OLD")["status"] == "Expired"
    assert status("LATER") == {"status": "Accepted", "expiryDate": "1970-01-02T00:00:00.000Z"}


def startRequest(**overrides):
    request = {"connectorId": 1, "idTag": "GOOD", "meterStart": 100, "timestamp": T0}
    request.update(overrides)
    return request


def test_startTransaction(centralSystem):
    """
    StartTransaction gets a unique positive id and the tag's real idTagInfo,
    also when the tag is not valid; a retry gets the same id.
    """
    putTag(centralSystem, "GOOD")
    station = booted(centralSystem)
    first = station.callResult("StartTransaction", startRequest())
    assert first["idTagInfo"] == {"status": "Accepted"}
    assert first["transactionId"] > 0
    retry = station.callResult("StartTransaction", startRequest())
    assert retry["transactionId"] == first["transactionId"]
    invalid = station.callResult("StartTransaction", startRequest(idTag="NOPE", connectorId=2))
    assert invalid["idTagInfo"] == {"status": "Invalid"}
    assert invalid["transactionId"] > 0
    assert invalid["transactionId"] != first["transactionId"]
    transaction = resultOf(centralSystem.store.getTransaction(invalid["transactionId"]))
    assert transaction.idTagStatus == "Invalid"
    assert transaction.connectorId == 2


def test_lateTransactionWithOldTimestamp(centralSystem):
    """
    An offline transaction, with timestamps days old and no offset, is accepted.
    """
    putTag(centralSystem, "GOOD")
    station = booted(centralSystem)
    answer = station.callResult("StartTransaction", startRequest(timestamp="2020-01-01T00:00:00"))
    transaction = resultOf(centralSystem.store.getTransaction(answer["transactionId"]))
    assert transaction.startTimestamp == datetime(2020, 1, 1, tzinfo=UTC)


def test_stopTransactionWithMeterValues(centralSystem):
    """
    StopTransaction stores the stop and its transactionData; idTagInfo comes
    back when an idTag was sent.
    """
    putTag(centralSystem, "GOOD")
    station = booted(centralSystem)
    transactionId = station.callResult("StartTransaction", startRequest())["transactionId"]
    station.callResult(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": transactionId,
            "meterValue": [{"timestamp": T0, "sampledValue": [{"value": "150"}]}],
        },
    )
    answer = station.callResult(
        "StopTransaction",
        {
            "transactionId": transactionId,
            "idTag": "GOOD",
            "meterStop": 900,
            "timestamp": "2026-11-28T11:00:00Z",
            "reason": "EVDisconnected",
            "transactionData": [
                {
                    "timestamp": "2026-11-28T11:00:00Z",
                    "sampledValue": [{"value": "900", "context": "Transaction.End", "unit": "Wh"}],
                }
            ],
        },
    )
    assert answer == {"idTagInfo": {"status": "Accepted"}}
    transaction = resultOf(centralSystem.store.getTransaction(transactionId))
    assert transaction.meterStop == 900
    assert transaction.stopReason == "EVDisconnected"
    values = resultOf(centralSystem.store.getMeterValues(transactionId))
    assert [v.sampledValue[0].value for v in values] == ["150", "900"]
    assert values[1].sampledValue[0].context == "Transaction.End"


def test_stopTransactionDefaultsAndUnknownIds(centralSystem):
    """
    Without an idTag the answer is empty and the reason defaults to Local;
    a stop for an unknown transaction id is still answered.
    """
    putTag(centralSystem, "GOOD")
    station = booted(centralSystem)
    transactionId = station.callResult("StartTransaction", startRequest())["transactionId"]
    stop = {"transactionId": transactionId, "meterStop": 200, "timestamp": T0}
    assert station.callResult("StopTransaction", stop) == {}
    assert resultOf(centralSystem.store.getTransaction(transactionId)).stopReason == "Local"
    unknown = {"transactionId": 987654, "meterStop": 1, "timestamp": T0, "idTag": "nope"}
    assert station.callResult("StopTransaction", unknown) == {"idTagInfo": {"status": "Invalid"}}


def test_statusNotificationKeepsLatestPerConnector(centralSystem):
    """
    StatusNotification is stored: the latest per connector, 0 included.
    """
    station = booted(centralSystem)
    for connectorId, status in [(0, "Available"), (1, "Available"), (1, "Preparing")]:
        station.callResult(
            "StatusNotification",
            {"connectorId": connectorId, "errorCode": "NoError", "status": status},
        )
    statuses = resultOf(centralSystem.store.getConnectorStatuses("CP001"))
    assert [(s.connectorId, s.status) for s in statuses] == [(0, "Available"), (1, "Preparing")]
    assert len(resultOf(centralSystem.store.getStatusHistory("CP001"))) == 3


def test_dataTransferUnknownVendor(centralSystem):
    """
    DataTransfer for a vendor no plugin handles is answered UnknownVendorId, never a CALLERROR.
    """
    station = booted(centralSystem)
    answer = station.call("DataTransfer", {"vendorId": "com.example", "messageId": "x"})
    assert answer[0] == 3
    assert answer[2] == {"status": "UnknownVendorId"}


def test_thirdPartyPluginHandlesItsVendor(acmePlugin):
    """
    An enabled third-party plugin answers DataTransfer for its vendorId and
    its own action; disabled, its action is NotSupported and its vendor unknown.
    """
    enabled = MemoryCentralSystem(
        "[profiles]\nenabled = Core, AcmeVendor\n[profile:AcmeVendor]\ngreeting = hi\n"
    )
    station = booted(enabled)
    answer = station.callResult("DataTransfer", {"vendorId": "com.acme"})
    assert answer == {"status": "Accepted", "data": "hi CP001"}
    assert station.callResult("AcmeHello", {}) == {"greeting": "hi"}

    disabled = MemoryCentralSystem()
    station = booted(disabled)
    assert station.callResult("DataTransfer", {"vendorId": "com.acme"}) == {
        "status": "UnknownVendorId"
    }
    assert station.call("AcmeHello", {})[2] == "NotSupported"


def test_unknownAndDisabledActions():
    """
    An action nobody knows is NotImplemented; one of a profile that is not
    enabled is NotSupported.
    """
    centralSystem = MemoryCentralSystem("[profiles]\nenabled = Core\n")
    station = booted(centralSystem)
    assert station.call("FooBar", {})[2] == "NotImplemented"
    answer = station.call("DiagnosticsStatusNotification", {"status": "Idle"})
    assert answer[2] == "NotSupported"


@pytest.mark.parametrize(
    "action, payload, code",
    [
        ("BootNotification", {"chargePointVendor": "Acme"}, "ProtocolError"),
        ("Authorize", {"idTag": "x" * 21}, "TypeConstraintViolation"),
        ("Authorize", {"idTag": 5}, "TypeConstraintViolation"),
        ("Heartbeat", {"extra": True}, "FormationViolation"),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"},
            "PropertyConstraintViolation",
        ),
        ("StartTransaction", startRequest(timestamp="yesterday"), "PropertyConstraintViolation"),
    ],
)
def test_schemaViolations(centralSystem, action, payload, code):
    """
    A station CALL that breaks its schema gets the matching CALLERROR.
    """
    station = booted(centralSystem)
    answer = station.call(action, payload)
    assert answer[0] == 4
    assert answer[2] == code
    assert answer[4] != {} or code == "FormationViolation"


class SlowStore:
    """
    Wraps a store so that each write waits until the test releases it.
    """

    def __init__(self, store):
        self._store = store
        self.waiting = []

    def __getattr__(self, name):
        method = getattr(self._store, name)
        if not name.startswith(("start", "stop", "add", "record")):
            return method

        def slow(*args):
            d = Deferred()
            self.waiting.append((d, method, args))
            return d

        return slow

    def releaseOne(self):
        d, method, args = self.waiting.pop(0)
        method(*args).chainDeferred(d)


def test_acknowledgementWaitsForCommit(centralSystem):
    """
    StartTransaction, MeterValues and StatusNotification are answered only
    after the store has committed them.
    """
    station = booted(centralSystem)
    slow = SlowStore(centralSystem.service.store)
    centralSystem.service.store = slow
    station.sendFrame([2, "s1", "StartTransaction", startRequest()])
    station.sendFrame(
        [
            2,
            "s2",
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Charging"},
        ]
    )
    assert station.received == []
    assert len(slow.waiting) == 1
    slow.releaseOne()
    station.flush()
    assert [frame[1] for frame in station.received] == ["s1"]
    assert len(slow.waiting) == 1
    slow.releaseOne()
    station.flush()
    assert [frame[1] for frame in station.received] == ["s1", "s2"]


def test_storeFailureIsInternalError(centralSystem):
    """
    When the store fails, the station gets InternalError, never an acknowledgement.
    """
    station = booted(centralSystem)

    class BrokenStore:
        def __getattr__(self, name):
            def broken(*args):
                raise RuntimeError("database is down")

            return broken

    centralSystem.service.store = BrokenStore()
    answer = station.call("StartTransaction", startRequest())
    assert answer[2] == "InternalError"
    assert "database is down" not in answer[3]
