"""
Tests for L{kcsms.events} and L{kcsms.messagelog}: what a host application
observes, and the message log's batching, in memory on a fake clock.
"""

import json

from twisted.internet.defer import Deferred
from twisted.logger import globalLogPublisher

from kcsms import messagelog
from kcsms.events import (
    BootNotificationReceived,
    CallAnswered,
    MeterValuesReceived,
    StationConnected,
    StationDisconnected,
    StatusChanged,
    TransactionStarted,
    TransactionStopped,
)
from kcsms.messagelog import BATCH_SIZE, FLUSH_DELAY
from kcsms.testing import MemoryCentralSystem, resultOf

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "One"}
T0 = "2026-11-28T10:00:00Z"


def test_eventsInOrderAfterCommit():
    """
    Observers see each event once what it reports is in the store.
    """
    centralSystem = MemoryCentralSystem()
    seen = []

    def observe(event):
        if isinstance(event, TransactionStarted):
            # Already committed when the event arrives.
            committed = resultOf(
                centralSystem.store.getTransaction(event.transaction.transactionId)
            )
            assert committed == event.transaction
        seen.append(event)

    centralSystem.service.subscribe(observe)
    station = centralSystem.connect()
    station.callResult("BootNotification", BOOT)
    station.callResult(
        "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}
    )
    transactionId = station.callResult(
        "StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": T0}
    )["transactionId"]
    station.callResult(
        "MeterValues",
        {"connectorId": 1, "meterValue": [{"timestamp": T0, "sampledValue": [{"value": "1"}]}]},
    )
    station.callResult(
        "StopTransaction", {"transactionId": transactionId, "meterStop": 5, "timestamp": T0}
    )
    station.close()
    kinds = [type(event) for event in seen]
    assert kinds == [
        StationConnected,
        BootNotificationReceived,
        StatusChanged,
        TransactionStarted,
        MeterValuesReceived,
        TransactionStopped,
        StationDisconnected,
    ]
    assert seen[1].status == "Accepted"
    assert seen[2].status.status == "Charging"
    assert seen[5].transaction.meterStop == 5


def test_failingObserverDoesNotDisturbStations():
    """
    An observer that raises is logged; the station is answered and the other
    observers still see the event; an unsubscribed observer sees nothing more.
    """
    centralSystem = MemoryCentralSystem()
    seen, late = [], []

    def broken(event):
        raise RuntimeError("observer bug")

    centralSystem.service.subscribe(broken)
    centralSystem.service.subscribe(seen.append)
    unsubscribe = centralSystem.service.subscribe(late.append)
    unsubscribe()
    station = centralSystem.connect()
    assert station.callResult("BootNotification", BOOT)["status"] == "Accepted"
    assert [type(event) for event in seen] == [StationConnected, BootNotificationReceived]
    assert late == []


def test_messageLogIsWrittenInBatchesOffTheAnswerPath():
    """
    Frames reach the store a moment after the answer, or at once when a batch is full.
    """
    centralSystem = MemoryCentralSystem()
    station = centralSystem.connect()
    station.callResult("Heartbeat", {})
    assert resultOf(centralSystem.store.listMessages("CP001", 10)) == []
    centralSystem.advance(FLUSH_DELAY)
    logged = resultOf(centralSystem.store.listMessages("CP001", 10))
    assert [m.direction for m in logged] == ["in", "out"]
    assert json.loads(logged[0].message)[2] == "Heartbeat"
    for _ in range(BATCH_SIZE // 2):
        station.callResult("Heartbeat", {})
    assert (
        len(resultOf(centralSystem.store.listMessages("CP001", 2 * BATCH_SIZE))) == 2 + BATCH_SIZE
    )


def test_messageLogIsPrunedAndFlushedAtStop():
    """
    Frames older than C{message_log_days} are pruned hourly; what is buffered
    is written when the service stops.
    """
    centralSystem = MemoryCentralSystem("[storage]\nmessage_log_days = 1\n")
    station = centralSystem.connect()
    station.callResult("Heartbeat", {})
    centralSystem.advance(FLUSH_DELAY)
    centralSystem.advance(86400)
    station.callResult("Heartbeat", {})
    centralSystem.advance(3600)
    messages = resultOf(centralSystem.store.listMessages("CP001", 10))
    assert len(messages) == 2
    station.callResult("Heartbeat", {})
    centralSystem.service.messageLog.stopService()
    assert len(resultOf(centralSystem.store.listMessages("CP001", 10))) == 4


def test_messageLogIsPrunedInPieces(monkeypatch):
    """
    The hourly pruning forgets old frames a few writes at a time (each its
    own database transaction) until none is old enough, and logs the total.
    """
    monkeypatch.setattr(messagelog, "PRUNE_PIECE", 2)
    centralSystem = MemoryCentralSystem("[storage]\nmessage_log_days = 1\n")
    store = centralSystem.store
    pieces = []
    prune = store.pruneMessages

    def pruneMessages(before, limit):
        assert limit == 2
        return prune(before, limit).addCallback(lambda count: pieces.append(count) or count)

    monkeypatch.setattr(store, "pruneMessages", pruneMessages)
    for n in range(5):
        centralSystem.connect(f"CP{n}").callResult("Heartbeat", {})
    centralSystem.advance(FLUSH_DELAY)
    del pieces[:]
    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        centralSystem.advance(86400)
    finally:
        globalLogPublisher.removeObserver(events.append)
    # Five writes of two frames each: two writes, two, one, then none left.
    assert pieces == [4, 4, 2, 0]
    assert all(resultOf(store.listMessages(f"CP{n}", 10)) == [] for n in range(5))
    assert [e["count"] for e in events if "Pruned" in e.get("log_format", "")] == [10]


def test_stoppingTheMessageLogDoesNotWaitForPruning(monkeypatch):
    """
    A pruning still under way when the service stops forgets no more
    pieces: stopping waits for the piece being deleted, not for the rest.
    """
    monkeypatch.setattr(messagelog, "PRUNE_PIECE", 1)
    centralSystem = MemoryCentralSystem("[storage]\nmessage_log_days = 1\n")
    for n in range(3):
        centralSystem.connect(f"CP{n}").callResult("Heartbeat", {})
    centralSystem.advance(FLUSH_DELAY)
    store = centralSystem.store
    prune = store.pruneMessages
    pieces = []

    def pruneMessages(before, limit):
        piece = Deferred()
        pieces.append(piece)
        return piece.addCallback(lambda _: resultOf(prune(before, limit)))

    monkeypatch.setattr(store, "pruneMessages", pruneMessages)
    centralSystem.advance(86400)
    stopped = centralSystem.service.messageLog.stopService()
    assert len(pieces) == 1 and not stopped.called
    pieces[0].callback(None)
    assert stopped.called and len(pieces) == 1
    left = [n for n in range(3) if resultOf(store.listMessages(f"CP{n}", 10))]
    assert len(left) == 2


def test_callAnsweredAfterItIsRecorded():
    """
    A call's CALLRESULT is published once recorded; a CALLERROR is not.
    """
    centralSystem = MemoryCentralSystem()
    seen = []
    centralSystem.service.subscribe(seen.append)
    station = centralSystem.connect()
    centralSystem.service.call("CP001", "ChangeConfiguration", {"key": "K", "value": "1"})
    [call] = station.calls()
    station.answer(call, {"status": "Accepted"})
    failed = centralSystem.service.call("CP001", "ClearCache", {})
    failed.addErrback(lambda f: None)
    [call] = station.calls()
    station.sendFrame([4, call[1], "GenericError", "", {}])
    answered = [event for event in seen if isinstance(event, CallAnswered)]
    assert answered == [
        CallAnswered(
            "CP001", "ChangeConfiguration", {"key": "K", "value": "1"}, {"status": "Accepted"}
        )
    ]
    assert resultOf(centralSystem.store.listCalls("CP001"))[0].outcome == "Answered"
