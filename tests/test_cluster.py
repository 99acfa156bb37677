"""
Tests for L{kcsms.cluster}: two central systems in this process sharing
one PostgreSQL database, with stations and API requests on real sockets.
"""

from datetime import UTC, datetime

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred, succeed
from twisted.internet.task import deferLater

from kcsms import makeService
from kcsms.cluster import decodeValue, encodeValue
from kcsms.config import fromString
from kcsms.errors import CallErrorReceived, NotConnected, PayloadInvalid
from kcsms.events import BootNotificationReceived, CallAnswered, MeterValuesReceived
from kcsms.model import BootInfo, ChargePoint, IdTag, MeterValue, SampledValue
from tests.clients import Station, http

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "One"}


def test_eventsSurviveEncoding():
    """
    Events cross nodes as JSON and come back equal, nested values and times included.
    """
    now = datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC)
    for event in [
        BootNotificationReceived(
            "CP1", "Accepted", ChargePoint("CP1", "Accepted", BootInfo("A", "B"), now, now)
        ),
        BootNotificationReceived("CP2", "Rejected", None),
        MeterValuesReceived("CP1", 1, None, [MeterValue(now, (SampledValue("1", unit="Wh"),))]),
        CallAnswered(
            "CP1", "GetConfiguration", {"key": ["A"]}, {"configurationKey": [{"key": "A"}]}
        ),
    ]:
        assert decodeValue(encodeValue(event)) == event


async def until(condition, seconds=10, step=0.05):
    """
    Wait until C{condition()} is true, looking every C{step} seconds.
    """
    for _ in range(int(seconds / step)):
        if await condition():
            return
        await deferLater(reactor, step, lambda: None)
    raise AssertionError("the condition did not become true in time")


class Node:
    def __init__(self, url, nodeId):
        self.service = makeService(
            fromString(
                f"[ocpp]\nendpoint = tcp:0:interface=127.0.0.1\ncall_timeout = 2\n"
                f"[storage]\ndatabase = {url}\npool_size = 2\n"
                f"[api]\nendpoint = tcp:0:interface=127.0.0.1\n[cluster]\nnode_id = {nodeId}\n"
            ),
            reactor,
        )
        self.service.startService()
        self.ocppPort = self.service.listening["ocpp"][0].getHost().port
        self.apiPort = self.service.listening["api"][0].getHost().port

    def api(self, method, path, body=None):
        return ensureDeferred(http(method, f"http://127.0.0.1:{self.apiPort}/api/v1{path}", body))

    async def located(self, chargePointId, nodeId):
        return await self.service.cluster.locate(chargePointId) == nodeId


@pytest_twisted.ensureDeferred
async def test_callsEventsAndMovesAcrossNodes(postgresUrl):
    """
    A station on node A is called through node B (answers, CALLERRORs and
    refusals alike), B's observers see A's events, and when the station
    reconnects to B, A closes its stale socket and B calls it directly.
    """
    a, b = Node(postgresUrl, "A"), Node(postgresUrl, "B")
    seenOnB = []
    b.service.subscribe(seenOnB.append)
    try:
        await a.service.cluster.whenListening()
        await b.service.cluster.whenListening()
        station = await Station(a.ocppPort, "CP001").connect()
        await station.call("BootNotification", BOOT)
        await until(lambda: b.located("CP001", "A"))

        pending = b.service.call("CP001", "Reset", {"type": "Soft"})
        call = await station.nextCall()
        station.answer(call, {"status": "Accepted"})
        assert await pending == {"status": "Accepted"}

        # Too large for a NOTIFY both ways: kept in the database.
        big = {"vendorId": "com.example", "data": "x" * 20000}
        pending = b.service.call("CP001", "DataTransfer", big)
        call = await station.nextCall()
        assert call[3] == big
        station.answer(call, {"status": "Accepted", "data": "y" * 20000})
        assert await pending == {"status": "Accepted", "data": "y" * 20000}

        pending = b.api("POST", "/chargepoints/CP001/calls/UnlockConnector", {"connectorId": 1})
        call = await station.nextCall()
        station.send([4, call[1], "NotSupported", "no lock", {}])
        status, body = await pending
        assert (status, body.get("errorCode")) == (502, "NotSupported"), body
        pending = b.service.call("CP001", "Reset", {"type": "Hard"})
        call = await station.nextCall()
        station.send([4, call[1], "InternalError", "busy", {"retry": True}])
        try:
            await pending
        except CallErrorReceived as e:
            assert (e.errorCode, e.errorDescription, e.errorDetails) == (
                "InternalError",
                "busy",
                {"retry": True},
            )
        else:
            raise AssertionError("the CALLERROR was not passed on")
        status, body = await b.api("GET", "/chargepoints/CP001")
        assert (status, body["connected"]) == (200, True)

        try:
            await b.service.call("CP001", "Reset", {"type": "Never"})
        except PayloadInvalid:
            pass
        else:
            raise AssertionError("an invalid payload was forwarded")

        async def bootSeen():
            return any(isinstance(e, BootNotificationReceived) for e in seenOnB)

        await until(bootSeen)

        moved = await Station(b.ocppPort, "CP001").connect()
        await station.factory.closed.addTimeout(10, reactor)
        await until(lambda: a.located("CP001", "B"))
        pending = a.service.call("CP001", "ClearCache", {})
        call = await moved.nextCall()
        moved.answer(call, {"status": "Rejected"})
        assert await pending == {"status": "Rejected"}
        await moved.close()
        await until(lambda: a.located("CP001", None))
        try:
            await a.service.call("CP001", "ClearCache", {})
        except NotConnected:
            pass
        else:
            raise AssertionError("a disconnected station was called")
    finally:
        await a.service.stopService()
        await b.service.stopService()


@pytest_twisted.ensureDeferred
async def test_idTagChangedOnOneNodeIsSeenOnTheOther(postgresUrl):
    """
    A node keeps the id tags its stations present in memory; when the
    operator blocks one through another node's API, the first node's very
    next answers say so (not after C{[storage] id_tag_cache_seconds}).
    """
    a, b = Node(postgresUrl, "A"), Node(postgresUrl, "B")
    try:
        await a.service.cluster.whenListening()
        await b.service.cluster.whenListening()
        await until(lambda: succeed("A" in b.service.cluster._peers))
        assert (await b.api("PUT", "/idtags/TAG1", {"status": "Accepted"}))[0] == 201
        station = await Station(a.ocppPort, "CP001").connect()
        await station.call("BootNotification", BOOT)

        async def authorized(status):
            answer = await station.call("Authorize", {"idTag": "TAG1"})
            return answer["idTagInfo"]["status"] == status

        assert await authorized("Accepted")
        assert (await b.api("PUT", "/idtags/TAG1", {"status": "Blocked"}))[0] == 200
        await until(lambda: authorized("Blocked"), seconds=5)
        assert (await b.api("DELETE", "/idtags/TAG1"))[0] == 204
        await until(lambda: authorized("Invalid"), seconds=5)
        # Changed behind every node's back: the API's GET reads it, and
        # that node's stations get it from then on.
        await b.service.store.putIdTag(IdTag("TAG1", "Accepted"))
        assert await authorized("Invalid")
        assert (await a.api("GET", "/idtags/TAG1"))[1]["status"] == "Accepted"
        assert await authorized("Accepted")
        await station.close()
    finally:
        await a.service.stopService()
        await b.service.stopService()


async def eventsListener(url):
    """
    Listen on the events channel of the cluster at C{url}.

    @return: the listening connection, and the list that each notification's
        body is appended to.
    """
    import json

    from kcsms.cluster import ListeningConnection, channelFor

    heard = []
    listener = ListeningConnection(reactor=reactor)
    await listener.connect(url)
    [(schema,)] = await listener.runQuery("SELECT current_schema()")
    listener.addNotifyObserver(lambda notify: heard.append(json.loads(notify.payload)))
    await listener.runOperation(f"LISTEN {channelFor(schema)}")
    return listener, heard


@pytest_twisted.ensureDeferred
async def test_eventsAreBroadcastInBatchesOnlyToPeers(postgresUrl):
    """
    A node alone broadcasts nothing; once a second node says hello, the
    first node's events reach the second's observers, many of them in one
    notification.
    """
    listener, heard = await eventsListener(postgresUrl)
    a = Node(postgresUrl, "A")
    b = None
    try:
        await a.service.cluster.whenListening()
        for n in range(5):
            a.service.publish(BootNotificationReceived(f"CP{n}", "Accepted", None))
        await deferLater(reactor, 0.3, lambda: None)
        assert [body["type"] for body in heard] == ["hello"]

        b = Node(postgresUrl, "B")
        seenOnB = []
        b.service.subscribe(seenOnB.append)
        await b.service.cluster.whenListening()

        async def helloAnswered():
            return [body["node"] for body in heard if body["type"] == "hello"] == ["A", "B", "A"]

        await until(helloAnswered)
        for n in range(5):
            a.service.publish(BootNotificationReceived(f"CP{n}", "Accepted", None))

        async def allSeen():
            return len(seenOnB) == 5

        await until(allSeen)
        assert [e.chargePointId for e in seenOnB] == [f"CP{n}" for n in range(5)]
        batches = [body for body in heard if body["type"] == "events"]
        assert len(batches) == 1 and len(batches[0]["events"]) == 5
    finally:
        listener.close()
        await a.service.stopService()
        if b is not None:
            await b.service.stopService()


@pytest_twisted.ensureDeferred
async def test_helloIsAnsweredByANodeThatKnewTheSender(postgresUrl):
    """
    A node answers the hello of a node it already knew from its lease (the
    sender may have said hello before this node listened, and not know of
    it); an answer is not answered in turn.
    """
    import json
    from datetime import timedelta

    from kcsms.cluster import channelFor

    listener, heard = await eventsListener(postgresUrl)
    [(schema,)] = await listener.runQuery("SELECT current_schema()")
    a = Node(postgresUrl, "A")
    try:
        await a.service.cluster.whenListening()
        # B's lease is in the database, and A has read it at a renewal.
        await a.service.store.renewNode("B", datetime.now(UTC) + timedelta(seconds=30))
        await a.service.cluster._renew()
        assert await a.service.store.liveNodes(datetime.now(UTC)) == {"A", "B"}

        async def say(body):
            await listener.runOperation(
                "SELECT pg_notify(%s, %s)", (channelFor(schema), json.dumps(body))
            )

        await say({"type": "hello", "node": "B"})

        async def answered():
            return {"type": "hello", "node": "A", "reply": True} in heard

        await until(answered)
        await say({"type": "hello", "node": "C", "reply": True})
        await deferLater(reactor, 0.3, lambda: None)
        assert [body for body in heard if body["type"] == "hello"] == [
            {"type": "hello", "node": "A"},
            {"type": "hello", "node": "B"},
            {"type": "hello", "node": "A", "reply": True},
            {"type": "hello", "node": "C", "reply": True},
        ]
    finally:
        listener.close()
        await a.service.stopService()


@pytest_twisted.ensureDeferred
async def test_schemasAreSeparateClusters(postgresUrl, otherPostgresUrl):
    """
    Nodes in two schemas of one database are two clusters, even where their
    ids are the same: notifications are database-wide, yet events stay with
    the nodes of their schema.
    """
    a, b = Node(postgresUrl, "A"), Node(postgresUrl, "B")
    stranger = Node(otherPostgresUrl, "B")
    seenOnB, seenByStranger = [], []
    b.service.subscribe(seenOnB.append)
    stranger.service.subscribe(seenByStranger.append)
    try:
        for node in (a, b, stranger):
            await node.service.cluster.whenListening()

        async def seen():
            a.service.publish(BootNotificationReceived("CP1", "Accepted", None))
            await deferLater(reactor, 0.1, lambda: None)
            return len(seenOnB) > 0

        await until(seen)
        await deferLater(reactor, 0.3, lambda: None)
        assert seenByStranger == []
    finally:
        for node in (a, b, stranger):
            await node.service.stopService()


def notifyNode(url, nodeId, *bodies):
    """
    Send node C{nodeId} of the cluster at C{url} the notifications
    C{bodies}, as JSON, in one transaction: the node hears them together.
    """
    import json

    import psycopg2

    from kcsms.cluster import channelFor

    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        [(schema,)] = cursor.fetchall()
        for body in bodies:
            cursor.execute(
                "SELECT pg_notify(%s, %s)", (channelFor(schema, nodeId), json.dumps(body))
            )
    connection.close()


@pytest_twisted.ensureDeferred
async def test_aMessageNoLongerKeptIsDroppedWithAWarning(postgresUrl):
    """
    A notification that refers to a kept message the database no longer
    holds is dropped, and the operator is told.
    """
    from twisted.logger import formatEvent, globalLogPublisher

    logged = []
    globalLogPublisher.addObserver(logged.append)
    a = Node(postgresUrl, "A")
    try:
        await a.service.cluster.whenListening()
        notifyNode(postgresUrl, "A", {"ref": 987654})

        async def warned():
            return any(
                "Cluster message 987654 is no longer kept" in formatEvent(event) for event in logged
            )

        await until(warned)
        assert not [event for event in logged if "log_failure" in event]
    finally:
        globalLogPublisher.removeObserver(logged.append)
        await a.service.stopService()


@pytest_twisted.ensureDeferred
async def test_notificationsReadWithAnAnswerAreDelivered(postgresUrl):
    """
    A notification that arrives while the listening connection runs a
    statement is delivered at once, with no further statement on it.
    """
    from txpostgres import txpostgres

    from kcsms.cluster import ListeningConnection

    listener = ListeningConnection(reactor=reactor)
    sender = txpostgres.Connection(reactor=reactor)
    await listener.connect(postgresUrl)
    await sender.connect(postgresUrl)
    try:
        heard = []
        listener.addNotifyObserver(lambda notify: heard.append(notify.payload))
        channel = f"kcsms_test_{id(heard)}"
        await listener.runOperation(f"LISTEN {channel}")
        for n in range(200):
            sent = sender.runOperation("SELECT pg_notify(%s, %s)", (channel, str(n)))
            await listener.runOperation("SELECT 1")
            await sent

            async def delivered(n=n):
                return str(n) in heard

            await until(delivered, seconds=2, step=0.002)
    finally:
        listener.close()
        sender.close()


@pytest_twisted.ensureDeferred
async def test_aStationSlowToAnswerHoldsUpNoOtherCall(postgresUrl):
    """
    Requests that reach a node together are each sent on at once: a station
    that takes its time to answer holds up no other station's call.
    """
    a = Node(postgresUrl, "A")
    try:
        await a.service.cluster.whenListening()
        slow = await Station(a.ocppPort, "CP001").connect()
        quick = await Station(a.ocppPort, "CP002").connect()
        for station in (slow, quick):
            await station.call("BootNotification", BOOT)
        # A hears both requests together.
        notifyNode(
            postgresUrl,
            "A",
            *(
                {
                    "type": "call",
                    "requestId": str(n),
                    "replyTo": "T",
                    "chargePointId": chargePointId,
                    "action": "ClearCache",
                    "payload": {},
                }
                for n, chargePointId in enumerate(["CP001", "CP002"])
            ),
        )
        await slow.nextCall()
        # CP001 has not answered; its call times out after 2 s.
        await quick.factory.calls.get().addTimeout(1, reactor)
    finally:
        await a.service.stopService()
