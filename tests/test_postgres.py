"""
PostgreSQL-only behaviour of L{kcsms.storage.postgresql}: refusing bad
URLs, surviving broken connections, and migrating on its own.  (The whole
store suite in C{test_storage.py} runs on PostgreSQL too.)
"""

import re
import subprocess
import sys

import psycopg2
import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater

from kcsms.storage import StorageError, migrateDatabase, openStore
from kcsms.storage.postgresql import PostgresRunner, _Connection
from kcsms.storage.sql import Query, schemaScripts
from tests.conftest import POSTGRES_URL
from tests.test_storage import at


@pytest.mark.parametrize(
    "url, reason",
    [
        (
            "postgresql://postgres@127.0.0.1:1/test",
            "cannot connect to postgresql://postgres@127.0.0.1:1/test",
        ),
        ("postgresql://nobody_here@127.0.0.1:5432/test", 'role "nobody_here" does not exist'),
        (
            "postgresql://postgres:secret@127.0.0.1:1/test",
            "postgresql://postgres:***@127.0.0.1:1/test",
        ),
    ],
)
def test_unreachableDatabaseIsOneClearLine(postgresUrl, url, reason):
    """
    A refused connection or bad credentials raise L{StorageError} with one
    line naming the URL (password hidden) and the reason.
    """
    with pytest.raises(StorageError) as caught:
        openStore(url, reactor)
    message = str(caught.value)
    assert reason in message
    assert "\n" not in message
    assert "secret" not in message


def test_migrateAlone(postgresUrl):
    """
    L{migrateDatabase} and C{python -m kcsms.migrate} create the schema and
    report its version, and refuse a database newer than the code.
    """
    latest = schemaScripts()[-1][0]
    assert migrateDatabase(postgresUrl) == latest
    assert migrateDatabase(postgresUrl) == latest
    connection = psycopg2.connect(postgresUrl)
    with connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO schema_version (version) VALUES (999)")
    connection.close()
    with pytest.raises(StorageError) as caught:
        migrateDatabase(postgresUrl)
    assert "database schema version 999 is newer than this kcsms" in str(caught.value)


def test_migrateCommand(tmp_path):
    """
    C{python -m kcsms.migrate --config FILE} migrates the configured database and exits 0;
    a bad configuration exits 1 with one line.
    """
    config = tmp_path / "kcsms.ini"
    config.write_text(f"[storage]\ndatabase = sqlite:{tmp_path}/k.sqlite\n")
    done = subprocess.run(
        [sys.executable, "-m", "kcsms.migrate", "--config", str(config)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"schema is at version {schemaScripts()[-1][0]}" in done.stdout
    config.write_text("[storage]\ndatabase = memory:\n")
    done = subprocess.run(
        [sys.executable, "-m", "kcsms.migrate", "--config", str(config)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("kcsms.migrate: cannot migrate 'memory:'")


def terminateBackends(applicationName):
    """
    Have the server terminate the connections of one application.

    @return: how many it terminated.
    """
    connection = psycopg2.connect(POSTGRES_URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
            (applicationName,),
        )
        count = cursor.fetchone()[0]
    connection.close()
    return count


@pytest_twisted.ensureDeferred
async def test_survivesTerminatedConnections(postgresUrl):
    """
    When the server terminates every connection mid-run, writes fail for a
    moment (never falsely acknowledged) and then work again by themselves;
    everything acknowledged is in the database.
    """
    name = f"kcsms-{postgresUrl[-12:]}"
    store = openStore(f"{postgresUrl}&application_name={name}", reactor, poolSize=3)
    acknowledged, failed = [], 0
    try:
        for i in range(60):
            if i == 20:
                assert terminateBackends(name) == 3
            try:
                transaction = await store.startTransaction(
                    "CP1", 1, "TAG", i, at(i), None, "Accepted"
                )
                acknowledged.append(transaction.transactionId)
            except Exception:
                failed += 1
                await deferLater(reactor, 0.05, lambda: None)
        assert failed <= 10
        assert len(acknowledged) >= 50
        assert acknowledged[-10:] == sorted(acknowledged[-10:])
        stored = [t.transactionId for t in await store.listTransactions("CP1")]
        assert stored == sorted(acknowledged)
    finally:
        await store.close()


def insert_txn(key):
    yield Query("INSERT INTO keys (k) VALUES (?)", (key,))
    return key


def insertThenCount_txn(key):
    yield Query("INSERT INTO keys (k) VALUES (?)", (key,))
    [(count,)] = yield Query("SELECT count(*) FROM keys WHERE k <= ?", (key,))
    return count


def insertThenRaise_txn(key):
    yield Query("INSERT INTO keys (k) VALUES (?)", (key,))
    raise ValueError("the interaction's own error")


def insertCountInsert_txn(key, then):
    count = yield from insertThenCount_txn(key)
    yield Query("INSERT INTO keys (k) VALUES (?)", (then,))
    return count


def keys_txn():
    rows = yield Query("SELECT k FROM keys ORDER BY k")
    return [key for (key,) in rows]


async def outcomes(deferreds):
    results = []
    for d in deferreds:
        try:
            results.append(await d)
        except Exception as e:
            results.append(type(e).__name__)
    return results


@pytest_twisted.ensureDeferred
async def test_batchFailuresAreEachInteractionsOwn(postgresUrl):
    """
    Writes wait to go with the next statement whose rows are needed (or with
    the commit), several interactions' in one round trip; when one of them
    fails, only the interaction it belongs to fails, whether it had
    returned already, is being driven, raised itself or gave a value that
    cannot be sent, and the others' statements run and commit.
    """
    keysTable(postgresUrl)
    runner = PostgresRunner(reactor, postgresUrl, 1)
    try:
        first = runner.run(insert_txn(100))
        batch = [  # given in the same reactor turn: one batch
            runner.run(insert_txn(1)),
            runner.run(insert_txn(1)),  # fails, deferred: found with the SELECT below
            runner.run(insertThenRaise_txn(7)),
            runner.run(insert_txn({"not": "a key"})),  # cannot be sent: fails when queued
            runner.run(insertThenCount_txn(3)),  # counts 1 and 3
            runner.run(insertThenCount_txn(3)),  # fails at its own INSERT
            runner.run(insertCountInsert_txn(50, 1)),  # fails after its count: 50 undone
            runner.run(insert_txn(4)),
            runner.run(insert_txn(4)),  # fails with the commit's round trip
        ]
        assert await first == 100
        assert await outcomes(batch) == [
            1,
            "UniqueViolation",
            "ValueError",
            "ProgrammingError",
            2,
            "UniqueViolation",
            "UniqueViolation",
            4,
            "UniqueViolation",
        ]
        assert await runner.run(keys_txn()) == [1, 3, 4, 100]
    finally:
        await runner.close()


def keysTable(url, keys=()):
    setup = psycopg2.connect(url)
    with setup, setup.cursor() as cursor:
        cursor.execute("CREATE TABLE keys (k INTEGER PRIMARY KEY)")
        cursor.executemany("INSERT INTO keys (k) VALUES (%s)", [(k,) for k in keys])
    setup.close()


def countThenInsert_txn(key):
    [(count,)] = yield Query("SELECT count(*) FROM keys")
    yield Query("INSERT INTO keys (k) VALUES (?)", (key,))
    return count


def find_txn(key):
    rows = yield Query("SELECT k FROM keys WHERE k = ?", (key,))
    return [k for (k,) in rows]


def findThenDelete_txn(key):
    rows = yield Query("SELECT k FROM keys WHERE k = ?", (key,))
    yield Query("DELETE FROM keys WHERE k = ?", (key,))
    return len(rows)


def insertThenFind_txn(key):
    yield Query("INSERT INTO keys (k) VALUES (?)", (key,))
    return (yield from find_txn(key))


def descending_txn():
    rows = yield Query(
        "SELECT k, 'key ' || k, NULL, (k / 2.0)::float8, k::bigint * 1000000000000"
        " FROM keys ORDER BY k DESC"
    )
    return rows


@pytest_twisted.ensureDeferred
async def test_batchRunsAsIfOneAfterAnother(postgresUrl):
    """
    The statements of a batch's interactions go to the server together, but
    the outcome is that of running them one after the other: an
    interaction sees what those before it did after their first query, and
    a statement that fails only because it ran early is run again.  Rows
    come back whole, in order, and as their own query gives them.
    """
    keysTable(postgresUrl, range(1, 201))
    runner = PostgresRunner(reactor, postgresUrl, 1)
    try:
        alone = await runner.run(descending_txn())
        batch = [  # given in one reactor turn: one batch
            runner.run(countThenInsert_txn(1000)),  # goes on after its rows...
            runner.run(find_txn(1000)),  # ...so this sees its INSERT
            runner.run(insert_txn(500)),  # ran early too: undone, run again
            runner.run(findThenDelete_txn(5)),
            runner.run(insertThenFind_txn(5)),  # fails if run before the DELETE
            runner.run(descending_txn()),
            runner.run(find_txn(5)),
        ]
        together = await outcomes(batch)
        assert together[:5] == [200, [1000], 500, 1, [5]]
        assert together[5][:2] == [
            (1000, "key 1000", None, 500.0, 10**15),
            (500, "key 500", None, 250.0, 5 * 10**14),
        ]
        assert together[5][2:] == alone
        assert together[6] == [5]
    finally:
        await runner.close()


def insertReturning_txn(key):
    [(inserted,)] = yield Query("INSERT INTO keys (k) VALUES (?) RETURNING k", (key,))
    return inserted


@pytest.fixture
def sent(monkeypatch):
    """
    The texts the PostgreSQL connections send, in order.
    """
    texts = []
    execute = _Connection.execute
    monkeypatch.setattr(
        _Connection,
        "execute",
        lambda self, sql, params=None: texts.append(sql) or execute(self, sql, params),
    )
    return texts


@pytest_twisted.ensureDeferred
async def test_batchOfOneQueryEachIsTwoRoundTrips(postgresUrl, sent):
    """
    A batch whose interactions each need one query's rows, and write the
    rest, costs two round trips: the statements with every interaction's
    rows, then the commit.
    """
    keysTable(postgresUrl)
    runner = PostgresRunner(reactor, postgresUrl, 1)
    try:
        await runner.run(keys_txn())
        sent.clear()
        batch = [  # given in one reactor turn: one batch
            runner.run(insertReturning_txn(k) if k % 3 else insert_txn(k)) for k in range(1, 31)
        ]
        assert await outcomes(batch) == list(range(1, 31))
        assert len(sent) == 2
        assert sent[-1].endswith(b"COMMIT")
        assert await runner.run(keys_txn()) == list(range(1, 31))
    finally:
        await runner.close()


@pytest_twisted.ensureDeferred
async def test_savepointsOnlyWhereAnInteractionMayBeUndoneApart(postgresUrl, sent):
    """
    Interactions that only write share the savepoint before them; one that
    asks for rows, and the one right after it, get their own.  A statement
    of a shared stretch that fails still fails its own interaction alone.
    """
    keysTable(postgresUrl, [2])
    runner = PostgresRunner(reactor, postgresUrl, 1)
    try:
        await runner.run(keys_txn())
        sent.clear()
        batch = [  # given in one reactor turn: one batch
            runner.run(insert_txn(1)),
            runner.run(insert_txn(2)),  # a duplicate: fails alone
            runner.run(insertReturning_txn(3)),
            runner.run(insert_txn(4)),
            runner.run(insert_txn(5)),
        ]
        assert await outcomes(batch) == [1, "UniqueViolation", 3, 4, 5]
        assert re.findall(rb"SAVEPOINT (\w+)", sent[0]) == [b"r1", b"s2", b"s3"]
        assert await runner.run(keys_txn()) == [1, 2, 3, 4, 5]
    finally:
        await runner.close()


def halves_txn():
    rows = yield Query("SELECT k / 2.0::float8 FROM keys ORDER BY k")
    return [half for (half,) in rows]


@pytest_twisted.ensureDeferred
async def test_readsRunAlone(postgresUrl):
    """
    A read (the operator's lists) runs in a batch of its own, its rows as
    the driver gives them, even when given with other interactions (whose
    rows come back through JSON: 2.0 as 2).
    """
    keysTable(postgresUrl, [2, 3])
    runner = PostgresRunner(reactor, postgresUrl, 1)
    try:
        together = [runner.run(halves_txn()), runner.run(halves_txn()), runner.read(halves_txn())]
        batched, _, read = await outcomes(together)
        assert batched == read == [1.0, 1.5]
        assert [type(half) for half in read] == [float, float]
        assert [type(half) for half in batched] == [int, float]
    finally:
        await runner.close()


def randomInteraction(random):
    """
    @return: the steps of an interaction on C{keys (k, v)}: writes that may
        fail (a key inserted twice), reads whose rows decide what it does
        next, and an error of its own.
    """
    steps = []
    for _ in range(random.randint(1, 4)):
        key = random.randint(0, 7)
        steps.append(
            random.choice(["insert", "bump", "read", "count", "delete", "raise"]) + f" {key}"
        )
    return steps


def steps_txn(steps):
    seen = []
    for step in steps:
        action, key = step.split()
        key = int(key)
        if action == "insert":
            yield Query("INSERT INTO keys (k, v) VALUES (?, 0)", (key,))
        elif action == "bump":
            yield Query("UPDATE keys SET v = v + 1 WHERE k = ?", (key,))
        elif action == "read":
            seen.append((yield Query("SELECT v FROM keys WHERE k = ?", (key,))))
        elif action == "count":
            seen.append((yield Query("SELECT count(*), coalesce(sum(v), 0) FROM keys")))
        elif action == "delete":
            seen.append((yield Query("DELETE FROM keys WHERE k = ? RETURNING k, v", (key,))))
        elif seen and len(seen[-1]) % 2 == key % 2:
            raise ValueError(step)
    return seen


@pytest.mark.parametrize("seed", range(32))
@pytest_twisted.ensureDeferred
async def test_batchIsAsOneAtATime(postgresUrl, seed):
    """
    Random interactions given in one turn, run as a batch, have the outcomes
    and leave the table that running them one at a time does.
    """
    import random as randomModule

    random = randomModule.Random(seed)
    interactions = [randomInteraction(random) for _ in range(24)]
    setup = psycopg2.connect(postgresUrl)
    with setup, setup.cursor() as cursor:
        cursor.execute("CREATE TABLE keys (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
    setup.close()
    runner = PostgresRunner(reactor, postgresUrl, 1)

    async def table():
        rows = await runner.run(_select_txn("SELECT k, v FROM keys ORDER BY k"))
        return rows

    async def reset():
        await runner.run(_select_txn("DELETE FROM keys"))
        await runner.run(_select_txn("INSERT INTO keys (k, v) VALUES (1, 0), (3, 5), (6, 2)"))

    try:
        await reset()
        alone = [await outcomes([runner.run(steps_txn(steps))]) for steps in interactions]
        aloneTable = await table()
        await reset()
        batched = await outcomes([runner.run(steps_txn(steps)) for steps in interactions])
        assert batched == [outcome for [outcome] in alone]
        assert await table() == aloneTable
    finally:
        await runner.close()


def _select_txn(sql):
    rows = yield Query(sql)
    return rows
