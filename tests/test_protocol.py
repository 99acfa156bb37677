"""
Tests for L{kcsms.protocol} and L{kcsms.rpc} through the real Autobahn
server and client protocols, connected in memory on a fake clock.
"""

import pytest

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "One"}


def test_upgradeChoosesOcpp16(centralSystem):
    """
    An offer of C{ocpp0.1, ocpp1.6} upgrades with exactly C{ocpp1.6}.
    """
    station = centralSystem.connect("CP001", protocols=["ocpp0.1", "ocpp1.6"])
    assert station.opened
    assert station.httpStatus == 101
    assert station.subprotocol == "ocpp1.6"
    assert centralSystem.service.session("CP001") is not None


@pytest.mark.parametrize("protocols", [["ocpp0.1"], [], ["ocpp2.0.1"]])
def test_upgradeWithoutOcpp16IsRefused(centralSystem, protocols):
    """
    Without C{ocpp1.6} on offer the upgrade is refused with HTTP 400.
    """
    station = centralSystem.connect("CP001", protocols=protocols)
    assert not station.opened
    assert station.httpStatus == 400
    assert centralSystem.service.session("CP001") is None


@pytest.mark.parametrize(
    "path", ["/other/CP001", "/ocpp/", "/ocpp", "/ocpp/a/b", "/ocpp/" + "x" * 49, "/ocppCP001"]
)
def test_wrongPathIsNotFound(centralSystem, path):
    """
    A path that is not C{/ocpp/{chargePointId}} with a 1-48 character id gets HTTP 404.
    """
    station = centralSystem.connect(path=path)
    assert not station.opened
    assert station.httpStatus == 404


def test_chargePointIdIsPercentDecoded(centralSystem):
    """
    C{/ocpp/RDAM%20123} is the station C{RDAM 123}; 48 characters are allowed.
    """
    station = centralSystem.connect("RDAM 123")
    assert station.opened
    assert centralSystem.service.session("RDAM 123") is not None
    assert centralSystem.connect("y" * 48).opened


def test_garbageIsLoggedAndTheConnectionStays(centralSystem):
    """
    Frames that are not JSON or not an OCPP-J array get no answer (no id can
    be read) and the station can go on.
    """
    station = centralSystem.connect()
    for text in ["not json", "{}", "[]", "42", '{"a": [2, "x"]}']:
        station.sendText(text)
    assert station.received == []
    assert not station.closed
    assert station.call("Heartbeat", {})[0] == 3


def test_textThatIsNotUtf8ClosesTheConnection(centralSystem):
    """
    A text message that is not UTF-8 fails the connection (RFC 6455 8.1)
    with close code 1007, and is not answered.
    """
    from kcsms.testing import fakeTxaioClock

    station = centralSystem.connect()
    with fakeTxaioClock(centralSystem.reactor):
        station.client.sendMessage(b'[2,"m1","Heartbeat",{"x":"\xff"}]', isBinary=False)
    station.flush()
    assert station.received == []
    assert station.closed
    assert station.closeCode == 1007
    assert station.closeReason == "text message is not UTF-8 (byte 26: invalid start byte)"


def test_callsAfterTextThatIsNotUtf8AreNotAnswered(centralSystem):
    """
    A CALL that arrives behind a text message that is not UTF-8 (in the
    same read, before the close handshake ends) is neither answered nor
    acted on.
    """
    from kcsms.testing import fakeTxaioClock, resultOf

    station = centralSystem.connect()
    with fakeTxaioClock(centralSystem.reactor):
        station.client.sendMessage(b"\xff", isBinary=False)
        station.client.sendMessage(
            b'[2,"m2","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"One"}]',
            isBinary=False,
        )
    station.flush()
    assert station.received == []
    assert station.closeCode == 1007
    assert resultOf(centralSystem.store.getChargePoint("CP001")) is None


@pytest.mark.parametrize(
    "frame, code",
    [
        ([7, "m1", "Heartbeat", {}], "FormationViolation"),
        ([2, "m1", "Heartbeat"], "FormationViolation"),
        ([2, "m1", "Heartbeat", []], "FormationViolation"),
        ([2, "m1", 12, {}], "FormationViolation"),
        (["2", "m1", "Heartbeat", {}], "FormationViolation"),
    ],
)
def test_malformedFrameWithReadableIdGetsCallError(centralSystem, frame, code):
    """
    A malformed frame whose id can be read is answered with a CALLERROR to that id.
    """
    station = centralSystem.connect()
    station.sendFrame(frame)
    assert len(station.received) == 1
    answer = station.received[0]
    assert answer[:3] == [4, "m1", code]
    assert isinstance(answer[3], str) and answer[4] == {}
    assert not station.closed


def test_tooLongMessageIdIsTypeConstraintViolation(centralSystem):
    """
    Message ids are at most 36 characters.
    """
    station = centralSystem.connect()
    station.sendFrame([2, "i" * 37, "Heartbeat", {}])
    assert station.received[0][:3] == [4, "i" * 37, "TypeConstraintViolation"]


def test_brokenAnswersAreNotAnswered(centralSystem):
    """
    A malformed CALLRESULT or CALLERROR is logged, never answered.
    """
    station = centralSystem.connect()
    station.sendFrame([3, "m1"])
    station.sendFrame([4, "m1"])
    station.sendFrame([3, "m2", {}])
    assert station.received == []


def test_callsAreAnsweredInOrder(centralSystem):
    """
    CALLs that arrive together are answered in the order they arrived.
    """
    station = centralSystem.connect()
    client = station.client
    for i in range(5):
        client.sendMessage(f'[2,"m{i}","Heartbeat",{{}}]'.encode())
    client.sendMessage(
        b'[2,"m5","BootNotification",{"chargePointVendor":"A","chargePointModel":"B"}]'
    )
    station.flush()
    assert [frame[1] for frame in station.received] == [f"m{i}" for i in range(6)]


def test_newConnectionReplacesOld(centralSystem):
    """
    A second connection with the same id closes the first.
    """
    first = centralSystem.connect("CP001")
    second = centralSystem.connect("CP001")
    centralSystem.advance(0)
    assert first.closed
    assert not second.closed
    assert centralSystem.service.session("CP001").connected
    assert second.call("Heartbeat", {})[0] == 3


def test_stopClosesStations(centralSystem):
    """
    Stopping the service closes every station's WebSocket and the store.
    """
    station = centralSystem.connect()
    d = centralSystem.stop()
    assert station.closed
    assert station.closeCode == 1001
    assert d.called
    assert centralSystem.service.store is None


def test_silentConnectionIsDroppedAfterTheHandshakeTimeout(centralSystem):
    """
    A connection that never completes its upgrade is dropped once
    L{OPEN_HANDSHAKE_TIMEOUT} seconds have passed, not before (Autobahn's
    own 5 s would drop stations queued behind a reconnect storm).
    """
    from twisted.internet.address import IPv4Address
    from twisted.test.iosim import FakeTransport

    from kcsms.protocol import OPEN_HANDSHAKE_TIMEOUT
    from kcsms.testing import fakeTxaioClock

    clock = centralSystem.reactor
    _, serverFactory, _, _ = clock.tcpServers[0]
    stationAddress = IPv4Address("TCP", "127.0.0.1", 40000)
    with fakeTxaioClock(clock):
        server = serverFactory.buildProtocol(stationAddress)
        transport = FakeTransport(
            server, True, IPv4Address("TCP", "127.0.0.1", 9000), stationAddress
        )
        server.makeConnection(transport)
        server.dataReceived(b"GET /ocpp/CP001 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        clock.advance(OPEN_HANDSHAKE_TIMEOUT - 1)
        assert not transport.disconnecting
        clock.advance(1)
    assert transport.disconnecting


def test_closingHandshakeHasAtLeastTwoSecondsWhateverTheClock(centralSystem):
    """
    A station has at least two seconds to answer our close before its
    connection is dropped, whatever the fraction of the current second.
    (Autobahn's timer rounds a timeout's end down to a whole second: its
    default 1 s could end a few milliseconds after the close was sent,
    resetting the connection before the station's answer and losing the
    close frame; a station then saw 1006 instead of 1001.)
    """
    from kcsms.testing import fakeTxaioClock

    station = centralSystem.connect()
    centralSystem.reactor.advance(0.99)
    with fakeTxaioClock(centralSystem.reactor):
        centralSystem.service.session("CP001").close(1001, "going away")
        centralSystem.reactor.advance(1.99)
    assert not station.server.transport.disconnecting
    station.flush()
    assert (station.closed, station.closeCode) == (True, 1001)
