"""
Tests for L{kcsms.storage}: one store suite run against every engine (the
C{database} fixture), then opening, migrating and the SQL layer.
"""

import os
import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred, ensureDeferred, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from zope.interface.verify import verifyObject

from kcsms.interfaces import IStore
from kcsms.model import (
    ApiToken,
    AuditEntry,
    BootInfo,
    CallRecord,
    ConnectorStatus,
    IdTag,
    InstalledChargingProfile,
    InstalledLocalList,
    LoggedMessage,
    MeterValue,
    Reservation,
    SampledValue,
    StationCredentials,
    UnmatchedStop,
)
from kcsms.storage import StorageError, openStore
from kcsms.storage.messages import listMessages_txn
from kcsms.storage.postgresql import POSTGRESQL, PostgresRunner, migratePostgres
from kcsms.storage.sql import (
    Dialect,
    Query,
    appliedVersions_txn,
    migrate,
    schemaScripts,
    transact,
    upgrade_txn,
)
from kcsms.storage.sqlite import SQLITE
from kcsms.storage.store import Store

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
BOOT = BootInfo(chargePointVendor="Acme", chargePointModel="One")


def at(seconds: float) -> datetime:
    """
    @return: C{seconds} after L{T0}.
    """
    return T0 + timedelta(seconds=seconds)


def energy(seconds: float, *values: str) -> MeterValue:
    """
    @return: a MeterValue at C{at(seconds)} with one energy register sample per value.
    """
    return MeterValue(at(seconds), tuple(SampledValue(value, unit="Wh") for value in values))


def status(connectorId: int, status: str, receivedAt: float, timestamp: float | None = None):
    """
    @return: a StatusNotification from CP1.
    """
    return ConnectorStatus(
        chargePointId="CP1",
        connectorId=connectorId,
        status=status,
        errorCode="NoError",
        receivedAt=at(receivedAt),
        timestamp=None if timestamp is None else at(timestamp),
    )


async def start(store, chargePointId="CP1", connectorId=1, meterStart=0, seconds=0):
    """
    Start a transaction for id tag C{TAG1}.
    """
    return await store.startTransaction(
        chargePointId, connectorId, "TAG1", meterStart, at(seconds), None, "Accepted"
    )


@pytest.fixture(params=["memory", "sqlite", "postgresql", "postgresql-batched"])
def database(request, tmp_path):
    """
    The C{[storage] database} of each engine under test; C{postgresql-batched}
    is PostgreSQL with every interaction sharing its batch (see L{store}).
    """
    if request.param.startswith("postgresql"):
        return request.getfixturevalue("postgresUrl")
    return {"memory": "memory:", "sqlite": f"sqlite:{tmp_path / 'var' / 'kcsms.sqlite'}"}[
        request.param
    ]


def select_txn():
    rows = yield Query("SELECT 1")
    return rows


class Accompanied:
    """
    A runner on which every interaction shares its batch with others, as
    under load (with PostgreSQL: savepoints, several queries' rows in one
    answer): interactions given in one reactor turn go in one batch.
    """

    def __init__(self, runner):
        self._runner = runner

    def _accompanied(self, run, interaction):
        self._runner.run(select_txn())
        d = run(interaction)
        self._runner.run(select_txn())
        return d

    def run(self, interaction):
        return self._accompanied(self._runner.run, interaction)

    def runIdle(self, interaction):
        return self._accompanied(self._runner.runIdle, interaction)

    def read(self, interaction):
        return self._accompanied(self._runner.read, interaction)

    def close(self):
        return self._runner.close()


@pytest_twisted.async_yield_fixture
async def store(request, database):
    """
    An open store of each engine, closed after the test.
    """
    from twisted.internet import reactor

    if request.node.callspec.params["database"] == "postgresql-batched":
        migratePostgres(database)
        store = Store(Accompanied(PostgresRunner(reactor, database, 1)))
    else:
        store = openStore(database, reactor)
    yield store
    await store.close()


# Charge points


def test_storeProvidesIStore():
    """
    The store implements every method of L{IStore}.
    """
    store = openStore("memory:", MemoryReactorClock())
    assert verifyObject(IStore, store)
    store.close()


def test_memoryStoreFiresAtOnce():
    """
    The in-memory store's Deferreds have fired when returned: no reactor needed.
    """
    store = openStore("memory:", MemoryReactorClock())
    results = []
    store.setRegistration("CP1", "Accepted").addCallback(results.append)
    store.getChargePoint("CP1").addCallback(
        lambda chargePoint: results.append(chargePoint.registration)
    )
    store.close().addCallback(results.append)
    assert results == [True, "Accepted", None]


@pytest_twisted.ensureDeferred
async def test_setRegistrationCreatesThenUpdates(store):
    """
    Setting a registration creates an unbooted charge point, then changes it.
    """
    assert await store.setRegistration("CP1", "Pending") is True
    assert await store.setRegistration("CP1", "Accepted") is False
    chargePoint = await store.getChargePoint("CP1")
    assert (chargePoint.chargePointId, chargePoint.registration) == ("CP1", "Accepted")
    assert (chargePoint.boot, chargePoint.lastBoot, chargePoint.lastSeen) == (None, None, None)


@pytest_twisted.ensureDeferred
async def test_unknownChargePointIsNone(store):
    """
    A charge point never registered is not found.
    """
    assert await store.getChargePoint("nope") is None


@pytest_twisted.ensureDeferred
async def test_listChargePointsOrderedById(store):
    """
    Charge points are listed by id.
    """
    for chargePointId in ("CP2", "CP3", "CP1"):
        await store.setRegistration(chargePointId, "Accepted")
    assert [cp.chargePointId for cp in await store.listChargePoints()] == ["CP1", "CP2", "CP3"]


@pytest_twisted.ensureDeferred
async def test_deleteChargePointSaysWhetherThereWasOne(store):
    """
    Deleting removes the charge point; deleting again finds none.
    """
    await store.setRegistration("CP1", "Accepted")
    assert await store.deleteChargePoint("CP1") is True
    assert await store.deleteChargePoint("CP1") is False
    assert await store.getChargePoint("CP1") is None
    assert await store.listChargePoints() == []


@pytest_twisted.ensureDeferred
async def test_deleteChargePointKeepsItsTransactions(store):
    """
    A deleted charge point's transactions stay.
    """
    await store.setRegistration("CP1", "Accepted")
    transaction = await start(store)
    await store.deleteChargePoint("CP1")
    assert await store.getTransaction(transaction.transactionId) == transaction


@pytest.mark.parametrize("registration", ["Accepted", "Pending"])
@pytest_twisted.ensureDeferred
async def test_bootNotificationRegistersNewChargePoint(store, registration):
    """
    A BootNotification from an unknown station registers it with the
    registration given, its boot information, and seen and booted now.
    """
    boot = BootInfo(
        chargePointVendor="Acme",
        chargePointModel="One",
        chargePointSerialNumber="cp-1",
        chargeBoxSerialNumber="box-1",
        firmwareVersion="1.2.3",
        iccid="8931",
        imsi="2620",
        meterType="AC",
        meterSerialNumber="m-1",
    )
    chargePoint = await store.recordBootNotification("CP1", boot, at(5), registration)
    assert chargePoint.registration == registration
    assert chargePoint.boot == boot
    assert chargePoint.lastBoot == chargePoint.lastSeen == at(5)
    assert await store.getChargePoint("CP1") == chargePoint


@pytest_twisted.ensureDeferred
async def test_bootNotificationWithoutRegistrationLeavesUnknownUnregistered(store):
    """
    With no registration for new stations, an unknown station's boot
    registers nothing and answers L{None}.
    """
    assert await store.recordBootNotification("CP1", BOOT, at(0), None) is None
    assert await store.getChargePoint("CP1") is None


@pytest.mark.parametrize("registrationIfNew", ["Accepted", None])
@pytest_twisted.ensureDeferred
async def test_bootNotificationKeepsExistingRegistration(store, registrationIfNew):
    """
    A registered station's boot replaces its boot information and times but
    not its registration.
    """
    await store.setRegistration("CP1", "Rejected")
    await store.recordBootNotification(
        "CP1", BootInfo("Acme", "One", firmwareVersion="1.0"), at(0), "Accepted"
    )
    chargePoint = await store.recordBootNotification("CP1", BOOT, at(10), registrationIfNew)
    assert chargePoint.registration == "Rejected"
    assert chargePoint.boot == BOOT
    assert chargePoint.lastBoot == chargePoint.lastSeen == at(10)
    assert await store.getChargePoint("CP1") == chargePoint


@pytest_twisted.ensureDeferred
async def test_recordSeenUpdatesOnlyRegisteredChargePoints(store):
    """
    Marking stations seen, several at once, sets their last seen times,
    keeping their last boot; an unregistered station stays unregistered.
    """
    await store.recordBootNotification("CP1", BOOT, at(0), "Accepted")
    await store.recordBootNotification("CP3", BOOT, at(1), "Accepted")
    assert await store.recordSeen({"CP1": at(30), "CP2": at(31), "CP3": at(32)}) is None
    await store.recordSeen({})
    chargePoint = await store.getChargePoint("CP1")
    assert (chargePoint.lastBoot, chargePoint.lastSeen) == (at(0), at(30))
    assert (await store.getChargePoint("CP3")).lastSeen == at(32)
    assert await store.getChargePoint("CP2") is None


@pytest_twisted.ensureDeferred
async def test_recordSeenWritesManyStationsInPieces(store, monkeypatch):
    """
    The last-seen times of many stations are written a piece at a time,
    every station's; a piece that fails fails the whole with its own error.
    """
    from kcsms.storage import store as storeModule

    monkeypatch.setattr(storeModule, "SEEN_PIECE", 2)
    stations = [f"CP{n}" for n in range(5)]
    for n, station in enumerate(stations):
        await store.recordBootNotification(station, BOOT, at(n), "Accepted")
    assert (
        await store.recordSeen({station: at(100 + n) for n, station in enumerate(stations)}) is None
    )
    for n, station in enumerate(stations):
        assert (await store.getChargePoint(station)).lastSeen == at(100 + n)
    with pytest.raises(AttributeError):
        await store.recordSeen({"CP1": at(200), "CP2": at(201), "CP3": "not a time"})


@pytest_twisted.ensureDeferred
async def test_timestampsComeBackAwareUtcWithMilliseconds(store):
    """
    Times come back as aware UTC datetimes, to the millisecond.
    """
    local = datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    chargePoint = await store.recordBootNotification("CP1", BOOT, local, "Accepted")
    assert chargePoint.lastSeen == datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC)
    assert chargePoint.lastSeen.utcoffset() == timedelta(0)


# Id tags


@pytest_twisted.ensureDeferred
async def test_putIdTagCreatesThenReplaces(store):
    """
    Putting an id tag creates it, then replaces it whole, spelling included.
    """
    assert await store.putIdTag(IdTag("AB12", "Accepted", at(60), "PARENT")) is True
    assert await store.putIdTag(IdTag("ab12", "Blocked")) is False
    assert await store.listIdTags() == [IdTag("ab12", "Blocked")]


@pytest_twisted.ensureDeferred
async def test_idTagLookupIsCaseInsensitive(store):
    """
    An id tag is found whatever the case, and comes back as stored.
    """
    tag = IdTag("AbC123", "Accepted", parentIdTag="Group1")
    await store.putIdTag(tag)
    assert await store.getIdTag("abc123") == tag
    assert await store.getIdTag("ABC123") == tag
    assert await store.getIdTag("other") is None


@pytest_twisted.ensureDeferred
async def test_idTagExpiryDateRoundTrips(store):
    """
    An id tag's expiry date comes back as stored.
    """
    await store.putIdTag(IdTag("TAG1", "Accepted", expiryDate=at(3600.5)))
    assert (await store.getIdTag("TAG1")).expiryDate == at(3600.5)


@pytest_twisted.ensureDeferred
async def test_listIdTagsOrderedByIdTag(store):
    """
    Id tags are listed by id tag, whatever their case.
    """
    for idTag in ("b", "C", "a"):
        await store.putIdTag(IdTag(idTag, "Accepted"))
    assert [tag.idTag for tag in await store.listIdTags()] == ["a", "b", "C"]


@pytest_twisted.ensureDeferred
async def test_deleteIdTagIsCaseInsensitive(store):
    """
    Deleting an id tag in another case deletes it; again finds none.
    """
    await store.putIdTag(IdTag("AB12", "Accepted"))
    assert await store.deleteIdTag("ab12") is True
    assert await store.deleteIdTag("AB12") is False
    assert await store.getIdTag("AB12") is None


@pytest.fixture(params=["sqlite", "postgresql"])
def sharedDatabase(request, tmp_path):
    """
    The C{[storage] database} of each engine that two stores can share.
    """
    if request.param == "postgresql":
        return request.getfixturevalue("postgresUrl")
    return f"sqlite:{tmp_path / 'var' / 'kcsms.sqlite'}"


@pytest_twisted.async_yield_fixture
async def twoStores(sharedDatabase):
    """
    Two stores on one database, as two nodes are: the first keeps id tags
    in memory for 60 s, the second keeps none.
    """
    from twisted.internet import reactor

    caching = openStore(sharedDatabase, reactor, idTagCacheSeconds=60)
    other = openStore(sharedDatabase, reactor)
    yield caching, other
    await caching.close()
    await other.close()


@pytest_twisted.ensureDeferred
async def test_idTagsReadAreKeptInMemory(twoStores):
    """
    An id tag read by getIdTag, or by an authorized start or stop, is not
    read again: a change made behind the caching store's back is not seen
    until it is told to forget the tag.  An unknown id tag is kept too.
    """
    caching, other = twoStores
    await other.putIdTag(IdTag("TAG1", "Accepted"))
    assert (await caching.getIdTag("TAG1")).status == "Accepted"
    tag, started = await caching.startAuthorizedTransaction("CP1", 1, "NEW", 0, at(0), None, at(0))
    assert (tag, started.idTagStatus) == (None, "Invalid")
    await other.putIdTag(IdTag("TAG1", "Blocked"))
    await other.putIdTag(IdTag("NEW", "Accepted"))
    assert (await caching.getIdTag("tag1")).status == "Accepted"
    tag, _ = await caching.startAuthorizedTransaction("CP1", 2, "TAG1", 0, at(0), None, at(0))
    assert tag.status == "Accepted"
    assert await caching.getIdTag("NEW") is None
    caching.forgetIdTag("TAG1")
    caching.forgetIdTag("new")
    assert (await caching.getIdTag("TAG1")).status == "Blocked"
    stopped, tag = await caching.stopAuthorizedTransaction(
        "CP1", started.transactionId, "NEW", 5, at(9), "Local", []
    )
    assert (stopped.meterStop, tag.status) == (5, "Accepted")
    await other.deleteIdTag("NEW")
    assert (await caching.getIdTag("NEW")).status == "Accepted"


@pytest_twisted.ensureDeferred
async def test_idTagChangesThroughTheStoreAreSeenAtOnce(twoStores):
    """
    Creating, replacing or deleting an id tag through the caching store
    itself is seen by its very next lookup, authorized start and stop.
    """
    caching, _ = twoStores
    assert await caching.getIdTag("TAG1") is None
    await caching.putIdTag(IdTag("TAG1", "Accepted"))
    tag, started = await caching.startAuthorizedTransaction("CP1", 1, "TAG1", 0, at(0), None, at(0))
    assert (tag.status, started.idTagStatus) == ("Accepted", "Accepted")
    await caching.putIdTag(IdTag("tag1", "Blocked"))
    _, tag = await caching.stopAuthorizedTransaction(
        "CP1", started.transactionId, "TAG1", 5, at(9), "Local", []
    )
    assert tag == IdTag("tag1", "Blocked")
    await caching.deleteIdTag("TAG1")
    assert await caching.getIdTag("TAG1") is None


# Transactions


@pytest_twisted.ensureDeferred
async def test_authorizedStartAndStopLookUpTheTagInTheSameTransaction(store):
    """
    The authorized start records the status the tag has at the given time
    (Invalid when unknown, Expired once its expiry date passed) and gives
    the tag back; the authorized stop gives back the stopped transaction and
    the tag, when one is named.
    """
    await store.putIdTag(IdTag("TAG1", "Accepted", expiryDate=at(60), parentIdTag="P"))
    tag, accepted = await store.startAuthorizedTransaction("CP1", 1, "tag1", 0, at(0), None, at(30))
    assert tag == IdTag("TAG1", "Accepted", at(60), "P")
    assert accepted.idTagStatus == "Accepted"
    _, expired = await store.startAuthorizedTransaction("CP1", 2, "TAG1", 0, at(0), None, at(60))
    assert expired.idTagStatus == "Expired"
    tag, unknown = await store.startAuthorizedTransaction("CP1", 3, "NOPE", 0, at(0), None, at(0))
    assert (tag, unknown.idTagStatus) == (None, "Invalid")
    assert unknown.transactionId not in (accepted.transactionId, expired.transactionId)
    stopped, tag = await store.stopAuthorizedTransaction(
        "CP1", accepted.transactionId, "TAG1", 10, at(90), "Local", []
    )
    assert (stopped.meterStop, tag.idTag) == (10, "TAG1")
    stopped, tag = await store.stopAuthorizedTransaction(
        "CP1", expired.transactionId, None, 10, at(90), "Local", []
    )
    assert (stopped.meterStop, tag) == (10, None)
    assert await store.stopAuthorizedTransaction("CP1", 999, "NOPE", 1, at(9), None, []) == (
        None,
        None,
    )


@pytest_twisted.ensureDeferred
async def test_startTransactionAllocatesUniquePositiveIds(store):
    """
    Each new transaction gets its own positive id, recorded as reported.
    """
    first = await store.startTransaction("CP1", 1, "TAG1", 100, at(0), 7, "Accepted")
    second = await start(store, connectorId=2)
    third = await start(store, chargePointId="CP2")
    ids = [first.transactionId, second.transactionId, third.transactionId]
    assert len(set(ids)) == 3 and all(isinstance(i, int) and i > 0 for i in ids)
    assert (first.chargePointId, first.connectorId, first.idTag, first.meterStart) == (
        "CP1",
        1,
        "TAG1",
        100,
    )
    assert (first.startTimestamp, first.reservationId, first.idTagStatus) == (at(0), 7, "Accepted")
    assert first.active and first.meterStop is None
    assert await store.getTransaction(first.transactionId) == first


@pytest_twisted.ensureDeferred
async def test_startTransactionRetryReturnsSameTransactionId(store):
    """
    A retried StartTransaction (same station, connector, id tag, meter start
    and time) returns the transaction already recorded.
    """
    first = await start(store, meterStart=100)
    retry = await start(store, meterStart=100)
    assert retry == first
    assert await store.listTransactions() == [first]


@pytest_twisted.ensureDeferred
async def test_startTransactionWithDifferentMeterStartIsNewTransaction(store):
    """
    A StartTransaction that differs in meter start is another transaction.
    """
    first = await start(store, meterStart=100)
    second = await start(store, meterStart=101)
    assert second.transactionId != first.transactionId


@pytest_twisted.ensureDeferred
async def test_getUnknownTransactionIsNone(store):
    """
    A transaction id never allocated is not found.
    """
    assert await store.getTransaction(12345) is None


@pytest_twisted.ensureDeferred
async def test_stopTransactionRecordsStop(store):
    """
    Stopping records the meter, time, reason and id tag, and keeps the
    transactionData as the transaction's meter values.
    """
    started = await start(store, connectorId=2)
    stopped = await store.stopTransaction(
        "CP1", started.transactionId, "TAG1", 500, at(60), "Local", [energy(30, "250")]
    )
    assert (stopped.meterStop, stopped.stopTimestamp) == (500, at(60))
    assert (stopped.stopReason, stopped.stopIdTag) == ("Local", "TAG1")
    assert not stopped.active
    assert stopped.startTimestamp == started.startTimestamp
    assert await store.getTransaction(started.transactionId) == stopped
    assert await store.getMeterValues(started.transactionId) == [energy(30, "250")]


@pytest_twisted.ensureDeferred
async def test_stopTransactionRetryKeepsTransactionDataOnce(store):
    """
    A retried StopTransaction returns the stopped transaction and does not
    add its transactionData again.
    """
    transactionId = (await start(store)).transactionId
    args = ("CP1", transactionId, None, 500, at(60), "EVDisconnected", [energy(30, "250")])
    first = await store.stopTransaction(*args)
    assert await store.stopTransaction(*args) == first
    assert await store.getMeterValues(transactionId) == [energy(30, "250")]


@pytest_twisted.ensureDeferred
async def test_stopTransactionForUnknownIdKeepsUnmatchedStop(store):
    """
    A stop for an unknown transaction id answers L{None} but is kept, once,
    with its meter values.
    """
    args = ("CP1", 999, "TAG1", 500, at(60), "Local", [energy(30, "250", "260")])
    assert await store.stopTransaction(*args) is None
    assert await store.stopTransaction(*args) is None
    assert await store.listUnmatchedStops("CP1") == [
        UnmatchedStop("CP1", 999, 500, at(60), "TAG1", "Local", (energy(30, "250", "260"),))
    ]
    assert await store.listUnmatchedStops("CP2") == []


@pytest_twisted.ensureDeferred
async def test_stopTransactionOfAnotherStationIsUnmatched(store):
    """
    A station cannot stop another station's transaction: its stop is unmatched.
    """
    transaction = await start(store, chargePointId="CP1")
    assert (
        await store.stopTransaction("CP2", transaction.transactionId, None, 1, at(9), None, [])
        is None
    )
    assert (await store.getTransaction(transaction.transactionId)).active
    [unmatched] = await store.listUnmatchedStops("CP2")
    assert unmatched.transactionId == transaction.transactionId


@pytest_twisted.ensureDeferred
async def test_failingInteractionIsRolledBack(store):
    """
    A database error fails the Deferred and undoes the whole transaction.
    """
    broken = MeterValue(at(30), (SampledValue(None),))
    with pytest.raises(Exception) as caught:
        await store.stopTransaction("CP1", 999, None, 500, at(60), "Local", [broken])
    assert "IntegrityError" in {cls.__name__ for cls in type(caught.value).__mro__}
    assert await store.listUnmatchedStops("CP1") == []


@pytest_twisted.ensureDeferred
async def test_concurrentWritesAreIsolated(store):
    """
    Many writes at once (on SQLite, committed together in one transaction)
    each succeed or fail on their own: a failing one undoes only itself.
    """
    broken = MeterValue(at(30), (SampledValue(None),))
    pending = [ensureDeferred(start(store, connectorId=c)) for c in range(1, 21)]
    failing = ensureDeferred(
        store.stopTransaction("CP1", 999, None, 500, at(60), "Local", [broken])
    )
    pending += [ensureDeferred(start(store, connectorId=c)) for c in range(21, 41)]
    started = [await d for d in pending]
    assert len({transaction.transactionId for transaction in started}) == 40
    with pytest.raises(Exception) as caught:  # noqa: B017 - each engine's own IntegrityError
        await failing
    assert "IntegrityError" in {cls.__name__ for cls in type(caught.value).__mro__}
    assert len(await store.listTransactions("CP1")) == 40
    assert await store.listUnmatchedStops("CP1") == []


@pytest_twisted.ensureDeferred
async def test_listTransactionsFilters(store):
    """
    Transactions are listed by id, optionally only a station's, only running
    or only stopped ones.
    """
    a = await start(store, chargePointId="CP1", connectorId=1)
    b = await start(store, chargePointId="CP1", connectorId=2)
    c = await start(store, chargePointId="CP2")
    b = await store.stopTransaction("CP1", b.transactionId, None, 10, at(60), "Local", [])
    assert await store.listTransactions() == [a, b, c]
    assert await store.listTransactions("CP1") == [a, b]
    assert await store.listTransactions(active=True) == [a, c]
    assert await store.listTransactions(active=False) == [b]
    assert await store.listTransactions(chargePointId="CP1", active=True) == [a]
    assert await store.listTransactions(chargePointId="CP3") == []


@pytest_twisted.ensureDeferred
async def test_getMeterValuesInOrderReceived(store):
    """
    A transaction's meter values, from MeterValues and from its stop's
    transactionData, come back grouped and in the order received.
    """
    transactionId = (await start(store)).transactionId
    sampled = MeterValue(
        at(10),
        (
            SampledValue("1.5", "Sample.Periodic", "Raw", "Current.Import", "L1", "Outlet", "A"),
            SampledValue("230", measurand="Voltage", phase="L1-N", unit="V"),
        ),
    )
    await store.addMeterValues("CP1", 1, transactionId, [sampled, energy(10, "100")])
    await store.addMeterValues("CP1", 1, None, [energy(15, "999")])
    await store.addMeterValues("CP1", 1, transactionId, [energy(20, "200")])
    await store.stopTransaction(
        "CP1", transactionId, None, 300, at(40), "Local", [energy(5, "50"), energy(30, "250")]
    )
    assert await store.getMeterValues(transactionId) == [
        sampled,
        energy(10, "100"),
        energy(20, "200"),
        energy(5, "50"),
        energy(30, "250"),
    ]


@pytest_twisted.ensureDeferred
async def test_manyMeterValuesAreAllKept(store):
    """
    More samples than one statement takes (L{kcsms.storage.common.MAX_PARAMETERS}) are all
    stored, in order.
    """
    transactionId = (await start(store)).transactionId
    many = [energy(i, *(str(i * 1000 + j) for j in range(40))) for i in range(10)]
    await store.addMeterValues("CP1", 1, transactionId, many)
    assert await store.getMeterValues(transactionId) == many


@pytest_twisted.ensureDeferred
async def test_getMeterValuesIgnoresOtherStations(store):
    """
    Meter values another station sent with a transaction's id are not its;
    an unknown transaction has none.
    """
    transactionId = (await start(store, chargePointId="CP1")).transactionId
    await store.addMeterValues("CP2", 1, transactionId, [energy(10, "100")])
    assert await store.getMeterValues(transactionId) == []
    await store.addMeterValues("CP1", 1, 999, [energy(10, "100")])
    assert await store.getMeterValues(999) == []


# Statuses


@pytest_twisted.ensureDeferred
async def test_connectorStatusesAreLatestPerConnector(store):
    """
    The latest status of each connector, connector 0 included, by connector id.
    """
    await store.recordStatusNotification(status(2, "Available", 0))
    await store.recordStatusNotification(status(0, "Available", 1))
    await store.recordStatusNotification(status(1, "Available", 2))
    latest = ConnectorStatus(
        chargePointId="CP1",
        connectorId=1,
        status="Faulted",
        errorCode="GroundFailure",
        receivedAt=at(3),
        info="trip",
        timestamp=at(3),
        vendorId="Acme",
        vendorErrorCode="E42",
    )
    await store.recordStatusNotification(latest)
    assert await store.getConnectorStatuses("CP1") == [
        status(0, "Available", 1),
        latest,
        status(2, "Available", 0),
    ]
    assert await store.getConnectorStatuses("CP2") == []


@pytest_twisted.ensureDeferred
async def test_olderStatusDoesNotReplaceLatest(store):
    """
    A status whose station timestamp is earlier than the latest's is kept in
    the history but does not become the latest; an equal one does.
    """
    await store.recordStatusNotification(status(1, "Charging", 10, timestamp=10))
    await store.recordStatusNotification(status(1, "Preparing", 11, timestamp=5))
    assert await store.getConnectorStatuses("CP1") == [status(1, "Charging", 10, timestamp=10)]
    await store.recordStatusNotification(status(1, "Finishing", 12, timestamp=10))
    assert await store.getConnectorStatuses("CP1") == [status(1, "Finishing", 12, timestamp=10)]
    assert [s.status for s in await store.getStatusHistory("CP1")] == [
        "Charging",
        "Preparing",
        "Finishing",
    ]


@pytest.mark.parametrize(("heldTimestamp", "newTimestamp"), [(None, 5), (10, None), (None, None)])
@pytest_twisted.ensureDeferred
async def test_statusWithoutBothTimestampsReplacesLatest(store, heldTimestamp, newTimestamp):
    """
    Unless both have a station timestamp, the new status is the latest.
    """
    await store.recordStatusNotification(status(1, "Charging", 10, heldTimestamp))
    await store.recordStatusNotification(status(1, "Available", 11, newTimestamp))
    assert await store.getConnectorStatuses("CP1") == [status(1, "Available", 11, newTimestamp)]


@pytest_twisted.ensureDeferred
async def test_statusHistoryInOrderReceived(store):
    """
    The history holds every status in the order received, for the station or
    one of its connectors.
    """
    statuses = [status(0, "Available", 0), status(1, "Preparing", 1), status(0, "Faulted", 2)]
    for each in statuses:
        await store.recordStatusNotification(each)
    await store.recordStatusNotification(
        ConnectorStatus("CP2", 0, "Available", "NoError", receivedAt=at(3))
    )
    assert await store.getStatusHistory("CP1") == statuses
    assert await store.getStatusHistory("CP1", 0) == [statuses[0], statuses[2]]
    assert await store.getStatusHistory("CP1", connectorId=2) == []


# Calls


@pytest_twisted.ensureDeferred
async def test_callsRoundTripJson(store):
    """
    Calls come back as recorded, JSON payloads included, oldest first.
    """
    answered = CallRecord(
        chargePointId="CP1",
        uniqueId="u2",
        action="ChangeConfiguration",
        request={"key": "MeterValueSampleInterval", "value": "60", "nested": [1, {"a": None}]},
        requestedAt=at(20),
        outcome="Answered",
        answeredAt=at(21),
        response={"status": "Accepted"},
    )
    failed = CallRecord(
        chargePointId="CP1",
        uniqueId="u1",
        action="Reset",
        request={"type": "Soft"},
        requestedAt=at(10),
        outcome="CallError",
        answeredAt=at(11),
        error={"errorCode": "NotSupported", "errorDescription": "", "errorDetails": {}},
    )
    timedOut = CallRecord("CP2", "u3", "Reset", {"type": "Hard"}, at(30), "Timeout")
    for call in (answered, failed, timedOut):
        assert await store.recordCall(call) is None
    assert await store.listCalls("CP1") == [failed, answered]
    assert await store.listCalls("CP2") == [timedOut]


# Message log


@pytest_twisted.ensureDeferred
async def test_messageLogKeepsOrderLimitsAndPrunes(store):
    """
    Logged frames come back per station, the last C{limit} of them newest
    last; pruning forgets the frames of each write whose frames are all
    before a time, and says how many frames it forgot.
    """
    messages = [
        LoggedMessage("CP1", at(i), "in" if i % 2 else "out", f'[2,"m{i}","Heartbeat",{{}}]')
        for i in range(5)
    ]
    await store.appendMessages(messages[:2])
    await store.appendMessages([LoggedMessage("CP2", at(1), "in", "garbage \u2603 \n")])
    await store.appendMessages(messages[2:4] + [LoggedMessage("CP2", at(3), "out", "[3]")])
    await store.appendMessages(messages[4:])
    await store.appendMessages([])
    assert await store.listMessages("CP1", 100) == messages
    assert await store.listMessages("CP1", 3) == messages[2:]
    assert await store.listMessages("CP1", 1) == messages[4:]
    assert await store.listMessages("CP2", 10) == [
        LoggedMessage("CP2", at(1), "in", "garbage \u2603 \n"),
        LoggedMessage("CP2", at(3), "out", "[3]"),
    ]
    assert await store.pruneMessages(at(3)) == 3
    assert await store.listMessages("CP1", 100) == messages[2:]
    assert await store.listMessages("CP2", 10) == [LoggedMessage("CP2", at(3), "out", "[3]")]


@pytest_twisted.ensureDeferred
async def test_pruningInPiecesForgetsTheOldestWritesFirst(store):
    """
    With a limit, pruning forgets the frames of at most that many writes,
    the oldest first, and nothing once no write is old enough.
    """
    for second in (4, 1, 3, 2, 9):
        await store.appendMessages(
            [LoggedMessage(f"CP{second}", at(second), "in", "[2]")] * (second % 4 + 1)
        )
    assert await store.pruneMessages(at(5), 2) == 2 + 3  # the writes at 1 s and 2 s
    assert await store.listMessages("CP1", 10) == []
    assert await store.listMessages("CP2", 10) == []
    assert len(await store.listMessages("CP3", 10)) == 4
    assert await store.pruneMessages(at(5), 2) == 4 + 1
    assert await store.pruneMessages(at(5), 2) == 0
    assert len(await store.listMessages("CP9", 10)) == 2


@pytest_twisted.ensureDeferred
async def test_messageLogReadsAsManyWritesAsItNeeds(store):
    """
    The latest frames of a station come from as many writes as it takes,
    however many that is.
    """
    messages = [LoggedMessage("CP1", at(i), "in", f"[{i}]") for i in range(100)]
    for message in messages:
        await store.appendMessages([message, LoggedMessage("CP2", at(0), "in", "[]")])
    assert await store.listMessages("CP1", 1000) == messages
    assert await store.listMessages("CP1", 70) == messages[30:]


@pytest_twisted.ensureDeferred
async def test_messageLogWriteOfManyStations(store):
    """
    One write of more stations than one statement takes (L{kcsms.storage.common.MAX_PARAMETERS})
    keeps every station's frames.
    """
    stations = [f"CP{i}" for i in range(600)]
    await store.appendMessages(
        [LoggedMessage(station, at(i), "in", f"[{i}]") for i in range(2) for station in stations]
    )
    for station in (stations[0], stations[249], stations[250], stations[599]):
        assert await store.listMessages(station, 10) == [
            LoggedMessage(station, at(0), "in", "[0]"),
            LoggedMessage(station, at(1), "in", "[1]"),
        ]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_messageLogOfAnOlderSchemaIsKept(engine, tmp_path, request):
    """
    Frames logged before the log was kept in chunks (schema 8 and older) are
    still there, in order, after the upgrade.
    """
    if engine == "sqlite":
        connection = sqlite3.connect(tmp_path / "kcsms.sqlite", isolation_level=None)
        dialect = SQLITE
    else:
        import psycopg2

        connection = psycopg2.connect(request.getfixturevalue("postgresUrl"))
        dialect = POSTGRESQL
    with closing(connection):
        transact(connection, dialect, appliedVersions_txn())
        for version, script in schemaScripts():
            if version < 9:
                transact(
                    connection, dialect, upgrade_txn(dialect.schemaStatements(script), version)
                )
        cursor = connection.cursor()
        for frame in [
            ("CP1", "1", "in", "[2]"),
            ("CP2", "2", "in", "x"),
            ("CP1", "3", "out", "[3]"),
        ]:
            cursor.execute(
                dialect.convert(
                    "INSERT INTO message_log (charge_point_id, timestamp, direction, message)"
                    " VALUES (?, ?, ?, ?)"
                ),
                (frame[0], f"2026-11-28T10:00:0{frame[1]}.000Z", *frame[2:]),
            )
        connection.commit()
        migrate(connection, dialect)
        logged = transact(connection, dialect, listMessages_txn("CP1", 10))
    assert logged == [
        LoggedMessage("CP1", datetime(2026, 11, 28, 10, 0, 1, tzinfo=UTC), "in", "[2]"),
        LoggedMessage("CP1", datetime(2026, 11, 28, 10, 0, 3, tzinfo=UTC), "out", "[3]"),
    ]


# Cluster


@pytest_twisted.ensureDeferred
async def test_presenceFollowsLiveNodes(store):
    """
    Presence says which live node holds a station; a station that moves
    reports the node it left; a node whose lease ran out holds nothing; a
    stale node cannot clear a presence that moved on.
    """
    await store.renewNode("A", at(30))
    await store.renewNode("B", at(30))
    assert await store.setPresence("CP1", "A", at(1)) is None
    assert await store.setPresence("CP2", "A", at(1)) is None
    assert await store.locate("CP1", at(2)) == "A"
    assert await store.setPresence("CP1", "B", at(3)) == "A"
    await store.clearPresence("CP1", "A")
    assert await store.locate("CP1", at(4)) == "B"
    assert await store.listPresence(at(4)) == {"CP1": "B", "CP2": "A"}
    assert await store.liveNodes(at(29)) == {"A", "B"}
    await store.renewNode("B", at(60))
    assert await store.liveNodes(at(31)) == {"B"}
    assert await store.locate("CP2", at(31)) is None
    assert await store.listPresence(at(31)) == {"CP1": "B"}
    await store.clearPresence("CP1", "B")
    assert await store.locate("CP1", at(32)) is None
    await store.setPresence("CP3", "B", at(33))
    await store.removeNode("B")
    assert await store.listPresence(at(34)) == {}


@pytest_twisted.ensureDeferred
async def test_clusterMessages(store):
    """
    A kept message body can be taken by id until it is pruned.
    """
    first = await store.putClusterMessage('{"big": 1}', at(1))
    second = await store.putClusterMessage("x" * 20000, at(5))
    assert await store.getClusterMessage(first) == '{"big": 1}'
    assert await store.getClusterMessage(second) == "x" * 20000
    await store.pruneClusterMessages(at(2))
    assert await store.getClusterMessage(first) is None
    assert await store.getClusterMessage(second) is not None


# Local authorization lists


@pytest_twisted.ensureDeferred
async def test_localListsAndAssignments(store):
    """
    Named lists are created, replaced, listed and deleted; stations follow a
    list; deleting a list leaves its stations following none.
    """
    entries = {"A": {"status": "Accepted"}, "B": {"status": "Blocked", "parentIdTag": "P"}}
    assert await store.putLocalList("fleet", entries, at(1)) is True
    assert await store.putLocalList("fleet", {"A": {"status": "Accepted"}}, at(2)) is False
    assert await store.putLocalList("depot", entries, at(3)) is True
    assert await store.getLocalList("fleet") == {"A": {"status": "Accepted"}}
    assert await store.getLocalList("depot") == entries
    assert await store.getLocalList("none") is None
    assert await store.listLocalLists() == ["depot", "fleet"]
    await store.assignLocalList("CP2", "fleet")
    await store.assignLocalList("CP1", "depot")
    await store.assignLocalList("CP1", "fleet")
    assert await store.getAssignment("CP1") == "fleet"
    assert await store.listMembers("fleet") == ["CP1", "CP2"]
    assert await store.deleteLocalList("fleet") is True
    assert await store.deleteLocalList("fleet") is False
    assert await store.getAssignment("CP1") is None
    assert await store.listMembers("fleet") == []


@pytest_twisted.ensureDeferred
async def test_installedLocalList(store):
    """
    Nothing recorded means unknown; what is recorded comes back whole.
    """
    assert await store.getInstalledLocalList("CP1") == InstalledLocalList("CP1")
    installed = InstalledLocalList(
        "CP1", True, 7, {"A": {"status": "Accepted"}}, 6, 20, "Accepted", at(5)
    )
    await store.putInstalledLocalList(installed)
    assert await store.getInstalledLocalList("CP1") == installed
    replaced = InstalledLocalList("CP1", False, 8, {}, None, None, "VersionMismatch", at(6))
    await store.putInstalledLocalList(replaced)
    assert await store.getInstalledLocalList("CP1") == replaced


# Reservations


async def reserved(store, chargePointId="CP1", expires=600):
    return await store.createReservation(chargePointId, 1, "TAG1", "P", at(expires), at(0))


@pytest_twisted.ensureDeferred
async def test_createReservationAllocatesIdsAsRequested(store):
    """
    Each new reservation gets a fresh positive id and starts C{Requested}.
    """
    first = await reserved(store)
    second = await reserved(store, "CP2")
    assert 0 < first.reservationId < second.reservationId
    assert first == Reservation(
        first.reservationId, "CP1", 1, "TAG1", at(600), "Requested", at(0), "P"
    )
    assert await store.getReservation(first.reservationId) == first
    assert await store.getReservation(999) is None


@pytest_twisted.ensureDeferred
async def test_allocatedIdsSkipIdsGivenByOperators(store):
    """
    Ids that operators gave their own ReserveNows are never allocated again.
    """
    given = Reservation(2, "CP1", 0, "X", at(60), "Accepted", at(0))
    assert await store.recordReservation(given) == given
    ids = {(await reserved(store)).reservationId for _ in range(3)}
    assert len(ids) == 3 and 2 not in ids


@pytest_twisted.ensureDeferred
async def test_recordReservationAnswersReplacesAndIgnoresRepeats(store):
    """
    The station's answer replaces C{Requested}; the same reservation
    recorded again is left as it is; a changed one replaces it.
    """
    requested = await reserved(store)
    answered = replace(requested, status="Accepted", updatedAt=at(1))
    assert await store.recordReservation(answered) == answered
    assert await store.recordReservation(replace(answered, updatedAt=at(2))) is None
    used = await store.endReservation(requested.reservationId, "Used", at(3), transactionId=5)
    assert await store.recordReservation(answered) is None
    assert await store.getReservation(requested.reservationId) == used
    moved = replace(answered, connectorId=2, parentIdTag=None, updatedAt=at(4))
    assert await store.recordReservation(moved) == moved


@pytest_twisted.ensureDeferred
async def test_endReservationOnlyOnceAndOnlyItsStation(store):
    """
    Only an active reservation ends, once; with a station given, only that
    station's.
    """
    reservation = await reserved(store)
    reservationId = reservation.reservationId
    assert await store.endReservation(reservationId, "Used", at(1), "CP2", 7) is None
    used = await store.endReservation(reservationId, "Used", at(1), "CP1", 7)
    assert (used.status, used.transactionId, used.updatedAt) == ("Used", 7, at(1))
    assert await store.endReservation(reservationId, "Expired", at(2)) is None
    assert await store.endReservation(999, "Expired", at(2)) is None


@pytest_twisted.ensureDeferred
async def test_deleteRequestedReservationOnly(store):
    """
    Only a reservation still C{Requested} is forgotten.
    """
    requested = await reserved(store)
    accepted = await store.recordReservation(replace(await reserved(store), status="Accepted"))
    assert await store.deleteRequestedReservation(requested.reservationId) is True
    assert await store.deleteRequestedReservation(requested.reservationId) is False
    assert await store.deleteRequestedReservation(accepted.reservationId) is False
    assert await store.listReservations() == [accepted]


@pytest_twisted.ensureDeferred
async def test_listReservationsFilters(store):
    """
    By station and by active (C{Requested} or C{Accepted}) or not, in id order.
    """
    a = await reserved(store)
    b = await store.recordReservation(replace(await reserved(store, "CP2"), status="Accepted"))
    c = await store.endReservation((await reserved(store)).reservationId, "Expired", at(9))
    assert await store.listReservations() == [a, b, c]
    assert await store.listReservations("CP1") == [a, c]
    assert await store.listReservations(active=True) == [a, b]
    assert await store.listReservations("CP1", active=False) == [c]


# Charging profiles


def chargingProfile(
    chargingProfileId, purpose="TxDefaultProfile", stackLevel=0, connectorId=1, **more
):
    """
    @return: an installed Relative profile of CP1 limiting to 16 A.
    """
    profile = {
        "chargingProfileId": chargingProfileId,
        "stackLevel": stackLevel,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
        },
    }
    return InstalledChargingProfile("CP1", connectorId, profile, at(chargingProfileId), **more)


@pytest_twisted.ensureDeferred
async def test_installChargingProfileReplacesByIdAndByPurposeAndStackLevel(store):
    """
    A profile replaces the station's profile with its id, and the one with its
    purpose and stackLevel on its connector; others are kept, and other
    stations' are untouched.
    """
    first, second = chargingProfile(1), chargingProfile(2, stackLevel=1)
    other = chargingProfile(3, connectorId=2)
    for installed in (first, second, other):
        assert await store.installChargingProfile(installed) == []
    elsewhere = replace(chargingProfile(1), chargePointId="CP2")
    assert await store.installChargingProfile(elsewhere) == []
    sameId = chargingProfile(1, stackLevel=5)
    assert await store.installChargingProfile(sameId) == [first]
    sameLevel = chargingProfile(9, stackLevel=1)
    assert await store.installChargingProfile(sameLevel) == [second]
    assert await store.listChargingProfiles("CP1") == [sameLevel, sameId, other]
    assert await store.listChargingProfiles("CP1", connectorId=2) == [other]
    assert await store.listChargingProfiles("CP2") == [elsewhere]


@pytest_twisted.ensureDeferred
async def test_clearChargingProfilesByIdCriteriaAndAll(store):
    """
    By id the other criteria are ignored; otherwise every given criterion
    must match; with none, all of the station's go.
    """
    profiles = [
        chargingProfile(1, "ChargePointMaxProfile", connectorId=0),
        chargingProfile(2),
        chargingProfile(3, stackLevel=1),
        chargingProfile(4, "TxProfile", transactionId=8),
    ]
    for installed in profiles:
        await store.installChargingProfile(installed)
    await store.installChargingProfile(replace(chargingProfile(5), chargePointId="CP2"))
    assert await store.clearChargingProfiles("CP1", 1, connectorId=5) == [profiles[0]]
    assert await store.clearChargingProfiles("CP1", 1) == []
    cleared = await store.clearChargingProfiles(
        "CP1", connectorId=1, purpose="TxDefaultProfile", stackLevel=1
    )
    assert cleared == [profiles[2]]
    assert await store.clearChargingProfiles("CP1", purpose="TxProfile", transactionId=9) == []
    assert await store.clearChargingProfiles("CP1", transactionId=8) == [profiles[3]]
    assert await store.clearChargingProfiles("CP1") == [profiles[1]]
    assert await store.listChargingProfiles("CP1") == []
    assert len(await store.listChargingProfiles("CP2")) == 1


@pytest_twisted.ensureDeferred
async def test_bindChargingProfilesGivesAwaitingTxProfilesTheirTransaction(store):
    """
    TxProfiles that await a transaction on the connector (or on no
    connector) get it; bound ones and other purposes stay as they are.
    """
    waiting = chargingProfile(1, "TxProfile")
    anywhere = chargingProfile(2, "TxProfile", connectorId=0, stackLevel=1)
    elsewhere = chargingProfile(3, "TxProfile", connectorId=2)
    bound = chargingProfile(4, "TxProfile", stackLevel=2, transactionId=6)
    default = chargingProfile(5)
    for installed in (waiting, anywhere, elsewhere, bound, default):
        await store.installChargingProfile(installed)
    expected = [
        replace(waiting, transactionId=7),
        replace(anywhere, connectorId=1, transactionId=7),
    ]
    assert await store.bindChargingProfiles("CP1", 1, 7) == expected
    assert await store.bindChargingProfiles("CP1", 1, 8) == []
    assert await store.listChargingProfiles("CP1", 1) == [default, *expected, bound]


# Opening and migrating


def sqliteDatabase(tmp_path) -> str:
    """
    @return: a C{sqlite:} database in C{tmp_path}.
    """
    return f"sqlite:{tmp_path / 'kcsms.sqlite'}"


@pytest_twisted.ensureDeferred
async def test_stationCredentials(store):
    """
    A station without credentials has neither profile nor password; profile
    and password hash are set apart, and a L{None} profile means the default.
    """
    assert await store.getStationCredentials("CP1") == StationCredentials("CP1")
    await store.setPasswordHash("CP1", "scrypt$1")
    await store.setSecurityProfile("CP1", 2)
    assert await store.getStationCredentials("CP1") == StationCredentials("CP1", 2, "scrypt$1")
    await store.setPasswordHash("CP1", "scrypt$2")
    await store.setSecurityProfile("CP1", None)
    assert await store.getStationCredentials("CP1") == StationCredentials("CP1", None, "scrypt$2")
    assert await store.getStationCredentials("CP2") == StationCredentials("CP2")


@pytest_twisted.ensureDeferred
async def test_apiTokens(store):
    """
    Tokens are found by hash, names are unique (also once revoked), and a
    revoked token is still found, with its revocation time.
    """
    assert await store.createApiToken("ops", "h1", "operate", at(0))
    assert not await store.createApiToken("ops", "h2", "admin", at(1))
    assert await store.createApiToken("audit", "h3", "read", at(2))
    assert await store.getApiToken("h1") == ApiToken("ops", "operate", at(0))
    assert await store.getApiToken("h2") is None
    assert await store.revokeApiToken("ops", at(5))
    assert not await store.revokeApiToken("ops", at(6))
    assert not await store.revokeApiToken("nobody", at(6))
    assert await store.getApiToken("h1") == ApiToken("ops", "operate", at(0), at(5))
    assert [token.name for token in await store.listApiTokens()] == ["audit", "ops"]


@pytest_twisted.ensureDeferred
async def test_auditLogNewestLast(store):
    """
    The audit log gives the latest entries, newest last.
    """
    entries = [AuditEntry(at(i), "ops", "PUT", f"/api/v1/idtags/T{i}", 200) for i in range(3)]
    for entry in entries:
        await store.recordAudit(entry)
    assert await store.listAudit(2) == entries[1:]
    assert await store.listAudit(10) == entries


@pytest_twisted.ensureDeferred
async def test_sqliteFilePersistsAcrossReopen(tmp_path):
    """
    What a file store committed is there after closing and opening it again.
    """
    from twisted.internet import reactor

    store = openStore(sqliteDatabase(tmp_path), reactor)
    await store.setRegistration("CP1", "Accepted")
    transaction = await start(store)
    await store.close()

    store = openStore(sqliteDatabase(tmp_path), reactor)
    try:
        assert (await store.getChargePoint("CP1")).registration == "Accepted"
        assert await store.getTransaction(transaction.transactionId) == transaction
    finally:
        await store.close()


def test_sqliteFileOpensWithoutRunningReactor(tmp_path):
    """
    A file store opens, and closes, on a reactor that is not running.
    """
    store = openStore(sqliteDatabase(tmp_path), MemoryReactorClock())
    results = []
    store.close().addCallback(results.append)
    assert results == [None]


def test_openRecordsSchemaVersion(tmp_path):
    """
    Opening a new database applies every schema file and records the last
    version; opening it again applies nothing.
    """
    for _ in range(2):
        openStore(sqliteDatabase(tmp_path), MemoryReactorClock()).close()
    with closing(sqlite3.connect(tmp_path / "kcsms.sqlite")) as connection, connection:
        versions = connection.execute("SELECT version FROM schema_version").fetchall()
    assert versions == [(number,) for number, _ in schemaScripts()]


@pytest_twisted.ensureDeferred
async def test_transactionDataTakesTheTransactionsConnector(tmp_path):
    """
    A stop's transactionData is stored with its transaction's connector, or
    with none for an unmatched stop.
    """
    from twisted.internet import reactor

    store = openStore(sqliteDatabase(tmp_path), reactor)
    transactionId = (await start(store, connectorId=2)).transactionId
    await store.stopTransaction("CP1", transactionId, None, 9, at(9), None, [energy(5, "5")])
    await store.stopTransaction("CP1", 999, None, 9, at(9), None, [energy(5, "5")])
    await store.close()
    with closing(sqlite3.connect(tmp_path / "kcsms.sqlite")) as connection:
        rows = connection.execute(
            "SELECT transaction_id, connector_id FROM meter_values ORDER BY id"
        ).fetchall()
    assert rows == [(transactionId, 2), (999, None)]


def test_schemaFileMergedBelowTheLatestIsApplied(tmp_path):
    """
    A schema file numbered below one already applied, but not applied itself
    (two lines of work merged), is applied at the next open.
    """
    openStore(sqliteDatabase(tmp_path), MemoryReactorClock()).close()
    with closing(sqlite3.connect(tmp_path / "kcsms.sqlite")) as connection, connection:
        connection.execute("DELETE FROM schema_version WHERE version = 3")
        connection.execute("DROP TABLE reservations")
    openStore(sqliteDatabase(tmp_path), MemoryReactorClock()).close()
    with closing(sqlite3.connect(tmp_path / "kcsms.sqlite")) as connection:
        assert connection.execute("SELECT count(*) FROM reservations").fetchone() == (0,)
        versions = connection.execute("SELECT version FROM schema_version ORDER BY version")
        assert versions.fetchall() == [(number,) for number, _ in schemaScripts()]


def test_newerSchemaVersionIsRefused(tmp_path):
    """
    A database whose schema is newer than the code's is not opened.
    """
    openStore(sqliteDatabase(tmp_path), MemoryReactorClock()).close()
    with closing(sqlite3.connect(tmp_path / "kcsms.sqlite")) as connection, connection:
        connection.execute("INSERT INTO schema_version (version) VALUES (999)")
    known = schemaScripts()[-1][0]
    with pytest.raises(StorageError) as caught:
        openStore(sqliteDatabase(tmp_path), MemoryReactorClock())
    assert str(caught.value) == (
        f"database schema version 999 is newer than this kcsms (knows up to {known})"
    )


@pytest.mark.parametrize("database", ["foo:bar", "sqlite:", "postgresql:kcsms", "mysql://x/y", ""])
def test_unsupportedDatabaseIsRefused(database):
    """
    A database that is not C{sqlite:PATH}, C{memory:} or a PostgreSQL URL is refused.
    """
    with pytest.raises(StorageError) as caught:
        openStore(database, MemoryReactorClock())
    assert str(caught.value) == (
        f"unsupported database {database!r}: use sqlite:PATH, memory: or postgresql://..."
    )


def test_uncreatableFileIsRefused(tmp_path):
    """
    A file that cannot be created is refused, with its path and the reason.
    """
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" / "var" / "kcsms.sqlite"
    with pytest.raises(StorageError) as caught:
        openStore(f"sqlite:{path}", MemoryReactorClock())
    assert str(caught.value) == f"cannot create {path}: Not a directory"


def test_fileThatIsNotADatabaseIsRefused(tmp_path):
    """
    A file that is not an SQLite database is refused, with its path.
    """
    path = tmp_path / "kcsms.sqlite"
    path.write_bytes(b"not a database, just some text " * 100)
    with pytest.raises(StorageError) as caught:
        openStore(f"sqlite:{path}", MemoryReactorClock())
    assert str(caught.value) == f"cannot use {path}: file is not a database"


def test_relativePathIsCreatedUnderCurrentDirectory(tmp_path, monkeypatch):
    """
    A relative path is taken from the current directory, missing directories made.
    """
    monkeypatch.chdir(tmp_path)
    openStore("sqlite:var/db/kcsms.sqlite", MemoryReactorClock()).close()
    assert (tmp_path / "var" / "db" / "kcsms.sqlite").is_file()


# The SQL layer


def test_sqliteDialectKeepsQuestionMarks():
    """
    SQLite takes the queries as written.
    """
    sql = "SELECT 1 FROM t WHERE a = ? AND b LIKE '%x'"
    assert SQLITE.convert(sql) == sql


def test_formatDialectConvertsPlaceholdersAndEscapesPercent():
    """
    A C{format} dialect turns C{?} into C{%s} and doubles literal C{%}.
    """
    dialect = Dialect("format", "format", {}, None)
    assert (
        dialect.convert("SELECT 1 FROM t WHERE a = ? AND b LIKE '%x'")
        == "SELECT 1 FROM t WHERE a = %s AND b LIKE '%%x'"
    )


def test_schemaStatementsFillDialectDdl():
    """
    A schema file becomes its statements, comments dropped and the dialect's
    DDL filled in.
    """
    dialect = Dialect(
        "test",
        "qmark",
        {"autoincrement_pk": "SERIAL PRIMARY KEY", "json_array": "json_array"},
        None,
    )
    script = "-- a comment; with {braces}\nCREATE TABLE a (id {autoincrement_pk});\n\nCREATE INDEX i ON a (id);\n"
    assert dialect.schemaStatements(script) == [
        "CREATE TABLE a (id SERIAL PRIMARY KEY)",
        "CREATE INDEX i ON a (id)",
    ]
    for _, text in schemaScripts():
        assert all("{" not in statement for statement in dialect.schemaStatements(text))


# Firmware management


@pytest_twisted.ensureDeferred
async def test_firmwareJobsFollowTheirEvents(store):
    """
    A job starts Requested; status events change its status, others only
    join its history; a report goes to the station's latest running job, or
    starts a job of its own after a completed one.
    """
    request = {"location": "ftp://h/", "retrieveDate": "2026-11-28T10:00:00.000Z"}
    job = await store.createFirmwareJob("CP1", "UpdateFirmware", request, at(0), at(60))
    assert (job.status, job.request, job.deadline, job.result) == (
        "Requested",
        request,
        at(60),
        None,
    )
    job = await store.recordFirmwareJobEvent(job.jobId, "Answered", at(1), at(61), "x", "f.log")
    assert (job.status, job.fileName) == ("Requested", "f.log")
    same = await store.reportFirmwareJobStatus(
        "CP1", "UpdateFirmware", "Downloading", at(2), at(62)
    )
    assert (same.jobId, same.status) == (job.jobId, "Downloading")
    done = await store.reportFirmwareJobStatus(
        "CP1", "UpdateFirmware", "DownloadFailed", at(3), None
    )
    assert (done.result, done.deadline) == ("DownloadFailed", None)
    assert [(e.event, e.at, e.detail) for e in done.history] == [
        ("Requested", at(0), None),
        ("Answered", at(1), "x"),
        ("Downloading", at(2), None),
        ("DownloadFailed", at(3), None),
    ]
    own = await store.reportFirmwareJobStatus("CP1", "UpdateFirmware", "Downloading", at(4), at(64))
    assert (own.jobId != job.jobId, own.request, own.status) == (True, None, "Downloading")
    assert await store.recordFirmwareJobEvent(999, "Answered", at(5), None) is None
    assert await store.getFirmwareJob(999) is None
    assert (await store.getFirmwareJob(own.jobId)) == own


@pytest_twisted.ensureDeferred
async def test_firmwareJobsTimeOutListAndFindByToken(store):
    """
    Jobs past their deadline time out once; jobs list by station, kind and
    rollout; a diagnostics job is found by its upload token.
    """
    first = await store.createFirmwareJob("CP1", "UpdateFirmware", {}, at(0), at(10), rolloutId=7)
    second = await store.createFirmwareJob("CP2", "GetDiagnostics", {}, at(0), at(20), "t0k3n")
    assert await store.timeOutFirmwareJobs(at(9)) == []
    [timedOut] = await store.timeOutFirmwareJobs(at(10))
    assert (timedOut.jobId, timedOut.status, timedOut.deadline) == (first.jobId, "TimedOut", None)
    assert timedOut.history[-1].event == "TimedOut"
    assert await store.timeOutFirmwareJobs(at(11)) == []
    assert [j.jobId for j in await store.listFirmwareJobs()] == [first.jobId, second.jobId]
    assert [j.jobId for j in await store.listFirmwareJobs("CP2")] == [second.jobId]
    assert [j.jobId for j in await store.listFirmwareJobs(kind="UpdateFirmware")] == [first.jobId]
    assert [j.jobId for j in await store.listFirmwareJobs(rolloutId=7)] == [first.jobId]
    assert (await store.findUploadJob("t0k3n")).jobId == second.jobId
    assert await store.findUploadJob("other") is None


@pytest_twisted.ensureDeferred
async def test_firmwareImagesDiagnosticsFilesAndRollouts(store):
    """
    Images are created then replaced by name; diagnostics files are kept per
    station and name; rollouts keep their request, stations and pace.
    """
    from kcsms.model import DiagnosticsFile, FirmwareImage

    assert await store.putFirmwareImage(FirmwareImage("b.bin", 3, "aa", at(0))) is True
    assert await store.putFirmwareImage(FirmwareImage("b.bin", 4, "bb", at(1))) is False
    await store.putFirmwareImage(FirmwareImage("a.bin", 1, "cc", at(2)))
    assert [i.name for i in await store.listFirmwareImages()] == ["a.bin", "b.bin"]
    assert await store.getFirmwareImage("b.bin") == FirmwareImage("b.bin", 4, "bb", at(1))
    assert await store.getFirmwareImage("c.bin") is None
    await store.recordDiagnosticsFile(DiagnosticsFile("CP1", "d.log", 5, "dd", at(0), 1))
    await store.recordDiagnosticsFile(DiagnosticsFile("CP1", "d.log", 6, "ee", at(3), 2))
    await store.recordDiagnosticsFile(DiagnosticsFile("CP2", "d.log", 7, "ff", at(4)))
    assert await store.listDiagnosticsFiles("CP1") == [
        DiagnosticsFile("CP1", "d.log", 6, "ee", at(3), 2)
    ]
    rollout = await store.createFirmwareRollout({"location": "x"}, ["CP1", "CP2"], 2.5, at(0))
    assert (rollout.request, rollout.stations, rollout.pace) == (
        {"location": "x"},
        ("CP1", "CP2"),
        2.5,
    )
    assert await store.getFirmwareRollout(rollout.rolloutId) == rollout
    assert await store.listFirmwareRollouts() == [rollout]
    assert await store.getFirmwareRollout(rollout.rolloutId + 1) is None


def test_groupCommitBatchesThatFailAtOnceDoNotRecurse():
    """
    When the database goes down under load, the batches waiting fail at once
    one after another without deepening the stack, however many wait; each
    interaction gets the failure and the runner still closes.
    """
    from twisted.internet.defer import fail

    from kcsms.storage.sql import GroupCommitRunner

    running = Deferred()
    batches = iter([running])

    def runBatch(interactions):
        return next(batches, None) or fail(ConnectionError("database down"))

    closed = []
    clock = Clock()
    runner = GroupCommitRunner(clock, runBatch, lambda: closed.append(True), maxBatch=1)
    failures = []
    for n in range(5000):
        runner.run(f"i{n}").addErrback(lambda f: failures.append(f.type))
    clock.advance(0)
    running.errback(ConnectionError("database down"))
    assert failures == [ConnectionError] * 5000
    runner.close()
    assert closed == [True]


def _sqliteRunner(tmp_path, reactor):
    """
    @return: a L{SQLiteRunner} on a new database file with the schema and a
        table C{t} of text values, and the file's path.
    """
    from kcsms.storage.sqlite import SQLiteRunner, migrateFile

    path = str(tmp_path / "kcsms.sqlite")
    migrateFile(path)
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("CREATE TABLE t (value TEXT NOT NULL)")
    return SQLiteRunner(path, reactor), path


def insert_txn(value):
    yield Query("INSERT INTO t (value) VALUES (?)", (value,))


def values_txn():
    rows = yield Query("SELECT value FROM t ORDER BY rowid")
    return [value for (value,) in rows]


def committedValues(path):
    """
    @return: the values of C{t} committed in the file, read on a new connection.
    """
    with closing(sqlite3.connect(path)) as connection:
        return [value for (value,) in connection.execute("SELECT value FROM t ORDER BY rowid")]


def test_sqliteRunnerCommitsEachReactorTurnOnce(tmp_path):
    """
    The interactions given during one turn of the reactor run at its end, in
    the reactor thread, as one transaction; one that fails is rolled back
    alone, and every Deferred fires after the commit.
    """
    clock = MemoryReactorClock()
    runner, path = _sqliteRunner(tmp_path, clock)
    seenByOthers = []

    def insertThenLook_txn(value):
        yield from insert_txn(value)
        # Another connection does not see what this transaction wrote yet.
        seenByOthers.append(committedValues(path))

    def fail_txn():
        yield from insert_txn("never")
        raise ValueError("no")

    answers = []
    runner.run(insert_txn("a")).addCallback(lambda _: answers.append(committedValues(path)))
    failed = runner.run(fail_txn())
    runner.run(insertThenLook_txn("b"))
    assert answers == [] and committedValues(path) == []

    clock.advance(0)
    assert seenByOthers == [[]]
    assert answers == [["a", "b"]]
    assert isinstance(failed.result.value, ValueError)
    failed.addErrback(lambda _: None)
    assert committedValues(path) == ["a", "b"]

    runner.run(insert_txn("c"))
    clock.advance(0)
    assert committedValues(path) == ["a", "b", "c"]
    runner.close()


def test_sqliteRunnerClosingRunsWhatWaits(tmp_path):
    """
    Closing commits the interactions still waiting for the turn's end, then
    closes the database.
    """
    clock = MemoryReactorClock()
    runner, path = _sqliteRunner(tmp_path, clock)
    answered = []
    runner.run(insert_txn("a")).addCallback(answered.append)
    runner.runIdle(insert_txn("log")).addCallback(answered.append)
    closed = runner.close()
    assert answered == [None, None]
    assert closed.called
    assert committedValues(path) == ["a", "log"]
    assert clock.getDelayedCalls() == []


def test_sqliteRunnerWaitsLittleForAnotherProcessesWrite(tmp_path):
    """
    While another process holds the database's write lock, a write waits
    L{WRITER_BUSY_TIMEOUT} at most in the reactor thread, then fails; once
    the lock is free writes succeed again.
    """
    import time

    from kcsms.storage.sqlite import WRITER_BUSY_TIMEOUT

    clock = MemoryReactorClock()
    runner, path = _sqliteRunner(tmp_path, clock)
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        failed = runner.run(insert_txn("a"))
        started = time.monotonic()
        clock.advance(0)
        waited = time.monotonic() - started
        other.execute("ROLLBACK")
    assert WRITER_BUSY_TIMEOUT / 1000 <= waited < 2 * WRITER_BUSY_TIMEOUT / 1000 + 0.5
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        failed.result.raiseException()
    failed.addErrback(lambda _: None)
    runner.run(insert_txn("b"))
    clock.advance(0)
    assert committedValues(path) == ["b"]
    runner.close()


@pytest_twisted.ensureDeferred
async def test_sqliteRunnerReadsInItsThreadWhatWasGivenBefore(tmp_path):
    """
    A read runs on a connection of its own in the database thread, after the
    commit of the writes given before it; that connection cannot write.
    """
    from twisted.internet import reactor

    runner, path = _sqliteRunner(tmp_path, reactor)
    try:
        written = runner.run(insert_txn("a"))
        read = runner.read(values_txn())
        assert await read == ["a"]
        assert written.called
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await runner.read(insert_txn("b"))
        assert await runner.run(values_txn()) == ["a"]
    finally:
        await runner.close()


@pytest_twisted.ensureDeferred
async def test_sqliteRunnerReusesTheLogWhileWritesGoOn(tmp_path):
    """
    The write-ahead log is checkpointed from the database thread, and it is
    reused (so does not grow) even while the writes never pause.
    """
    from twisted.internet import reactor
    from twisted.internet.task import LoopingCall, deferLater

    from kcsms.storage.sqlite import RESTART_FRAMES

    runner, path = _sqliteRunner(tmp_path, reactor)
    page = "x" * 3000
    writing = LoopingCall(lambda: [runner.run(insert_txn(page)) for _ in range(4)])
    writing.start(0.002)
    try:
        await deferLater(reactor, 3.0, lambda: None)
    finally:
        writing.stop()
    logSize = os.path.getsize(path + "-wal")
    written = len(await runner.run(values_txn()))
    await runner.close()
    # Each row takes a frame at least: far more frames were written than the
    # log held at any time.
    assert written > 3 * RESTART_FRAMES
    assert logSize < 2 * RESTART_FRAMES * 4200


def test_groupCommitBatchHoldsWhatOneTurnGave():
    """
    A batch starts at the end of the reactor turn, with every interaction
    given during the turn.  While one runs, another starts on a free
    connection only once half a full batch waits; when none runs, the next
    takes what waits.
    """
    from kcsms.storage.sql import GroupCommitRunner

    started = []

    def runBatch(interactions):
        d = Deferred()
        started.append((interactions, d))
        return d

    clock = Clock()
    runner = GroupCommitRunner(clock, runBatch, lambda: None, concurrency=5, maxBatch=4)
    answered = []

    def turn(names):
        for name in names:
            runner.run(name).addCallback(answered.append)
        clock.advance(0)
        return [batch for batch, _ in started]

    assert turn("abc") == [["a", "b", "c"]]
    assert turn("d") == [["a", "b", "c"]]
    assert turn("e") == [["a", "b", "c"], ["d", "e"]]
    assert turn("f") == [["a", "b", "c"], ["d", "e"]]
    started[0][1].callback([(True, name) for name in "abc"])
    assert answered == ["a", "b", "c"]
    assert len(started) == 2  # "d" and "e" still run
    started[1][1].callback([(True, name) for name in "de"])
    assert [batch for batch, _ in started][-1] == ["f"]


def test_readsGoAheadOfIdleWork():
    """
    A read runs in a batch of its own, as idle work does, but ahead of the
    idle work waiting; the stations' interactions go first.
    """
    from kcsms.storage.sql import GroupCommitRunner

    started = []

    def runBatch(interactions):
        started.append(interactions)
        return succeed([(True, name) for name in interactions])

    clock = Clock()
    runner = GroupCommitRunner(clock, runBatch, lambda: None)
    runner.runIdle("log1")
    runner.runIdle("log2")
    runner.read("list1")
    runner.run("a")
    runner.read("list2")
    runner.run("b")
    clock.advance(0)
    assert started == [["a", "b"], ["list1"], ["list2"], ["log1"], ["log2"]]


def test_idleWorkRunsWhenNothingElseWaits():
    """
    Idle work (the message log) runs alone, after the interactions waiting
    for their answers; while some always wait, it still gets a batch after
    every L{IDLE_EVERY} batches.
    """
    from kcsms.storage.sql import IDLE_EVERY, GroupCommitRunner

    started = []

    def runBatch(interactions):
        d = Deferred()
        started.append((interactions, d))
        return d

    def finishLatest():
        interactions, d = started[-1]
        d.callback([(True, name) for name in interactions])

    clock = Clock()
    runner = GroupCommitRunner(clock, runBatch, lambda: None)
    answered = []
    runner.run("a").addCallback(answered.append)
    clock.advance(0)
    runner.runIdle("log").addCallback(answered.append)
    runner.run("b").addCallback(answered.append)
    runner.run("c").addCallback(answered.append)
    assert [batch for batch, _ in started] == [["a"]]
    finishLatest()
    assert [batch for batch, _ in started] == [["a"], ["b", "c"]]
    finishLatest()
    assert started[-1][0] == ["log"]
    finishLatest()
    assert answered == ["a", "b", "c", "log"]

    runner.run("p0")
    clock.advance(0)
    runner.runIdle("log2")
    for k in range(1, IDLE_EVERY):
        runner.run(f"p{k}")
        finishLatest()
        assert started[-1][0] == [f"p{k}"]
    runner.run("q")
    finishLatest()
    assert started[-1][0] == ["log2"]
    finishLatest()
    assert started[-1][0] == ["q"]
