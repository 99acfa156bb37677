"""
The SQL layer every engine shares: interactions, dialects, runners, and
schema migration.

An I{interaction} is a generator function whose name ends in C{_txn}: it
yields L{Query} objects, is sent back each query's rows (a list of tuples),
and returns its result.  It never touches the reactor or a connection, so the
same interaction serves a blocking DB-API cursor (L{transact} at once in
L{BlockingRunner}, or L{transactBatch} in a database thread, batched by
L{GroupCommitRunner}) and an asynchronous one whose C{execute} returns a
Deferred.  SQL is written once with C{?} placeholders; a L{Dialect}
converts them for its driver and fills in the few DDL differences of the
numbered schema files in C{schema/}.
"""

import re
from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, Protocol, TypeVar

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.python.failure import Failure

__all__ = [
    "StorageError",
    "Row",
    "Query",
    "Interaction",
    "Dialect",
    "drive",
    "transact",
    "Runner",
    "BlockingRunner",
    "GroupCommitRunner",
    "BatchTransaction",
    "deliver",
    "idleDue",
    "transactBatch",
    "schemaScripts",
    "appliedVersions_txn",
    "migrate",
]

T = TypeVar("T")

#: One fetched row.
Row = tuple[Any, ...]


class StorageError(Exception):
    """
    The database cannot be opened or used by this kcsms; the message is one
    line for an operator.
    """


@dataclass(frozen=True)
class Query:
    """
    One statement for an interaction to yield.

    @ivar sql: the statement, with C{?} placeholders.
    @ivar params: its parameters; with C{many}, a sequence of parameter
        sequences, one per execution (no rows come back then).
    """

    sql: str
    params: Sequence[Any] = ()
    many: bool = False


#: A generator that yields L{Query}s, is sent their rows and returns a T.
Interaction = Generator[Query, list[Row], T]

_COMMENT_LINE = re.compile(r"^\s*--.*$", re.MULTILINE)


@dataclass(frozen=True)
class Dialect:
    """
    What differs between database engines in the SQL kcsms sends.

    @ivar paramstyle: the driver's DB-API paramstyle: C{qmark} (C{?}, as
        written) or C{format} (C{%s}, with literal C{%} doubled).
    @ivar ddl: the values of the C{{name}} placeholders of the schema files.
    @ivar begin: the statement that opens a transaction on a DB-API
        connection, or L{None} when the driver opens one by itself.
    """

    name: str
    paramstyle: Literal["qmark", "format"]
    ddl: Mapping[str, str]
    begin: str | None

    def convert(self, sql: str) -> str:
        """
        @param sql: a statement with C{?} placeholders and no C{?} in literals.
        @return: the statement in this dialect's paramstyle.
        """
        if self.paramstyle == "qmark":
            return sql
        return sql.replace("%", "%%").replace("?", "%s")

    def schemaStatements(self, script: str) -> list[str]:
        """
        @param script: a schema file: statements ending with C{;} (none
            inside), whole-line C{--} comments, C{{name}} placeholders.
        @return: its statements for this dialect, in order.
        """
        rendered = _COMMENT_LINE.sub("", script).format_map(self.ddl)
        return [statement.strip() for statement in rendered.split(";") if statement.strip()]


def drive(interaction: Interaction[T], execute: Callable[[Query], list[Row]]) -> T:
    """
    Run an interaction synchronously.

    @param execute: runs one query and returns its rows.
    @return: the interaction's result.
    """
    try:
        query = next(interaction)
        while True:
            query = interaction.send(execute(query))
    except StopIteration as stop:
        return stop.value


def _execute(cursor: Any, dialect: Dialect, query: Query) -> list[Row]:
    sql = dialect.convert(query.sql)
    if query.many:
        cursor.executemany(sql, query.params)
        return []
    cursor.execute(sql, query.params)
    return cursor.fetchall() if cursor.description is not None else []


def transact(connection: Any, dialect: Dialect, interaction: Interaction[T]) -> T:
    """
    Run an interaction as one transaction on a blocking DB-API connection:
    committed when it returns, rolled back when it raises.

    @return: the interaction's result.
    """
    cursor = connection.cursor()
    try:
        if dialect.begin is not None:
            cursor.execute(dialect.begin)
        result = drive(interaction, lambda query: _execute(cursor, dialect, query))
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        cursor.close()
    return result


class Runner(Protocol):
    """
    Runs interactions against one database, each as one transaction.
    """

    def run(self, interaction: Interaction[T]) -> Deferred[T]:
        """
        @return: a Deferred of the interaction's result, fired once committed.
        """

    def runIdle(self, interaction: Interaction[T]) -> Deferred[T]:
        """
        As L{run}, for work nobody waits on (the message log): it may be
        put after the interactions given to L{run}.
        """

    def read(self, interaction: Interaction[T]) -> Deferred[T]:
        """
        As L{run}, for an interaction that only reads and may read many
        rows (the operator's lists): an engine may run it away from its
        writes.  It sees every interaction whose Deferred fired before it
        was given.
        """

    def close(self) -> Deferred[None]:
        """
        Close the database once every pending interaction has run.
        """


class BlockingRunner:
    """
    Runs interactions at once in the calling thread: every Deferred it
    returns has already fired.  For in-memory databases in tests.
    """

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self._connection = connection
        self._dialect = dialect

    def run(self, interaction: Interaction[T]) -> Deferred[T]:
        return maybeDeferred(transact, self._connection, self._dialect, interaction)

    runIdle = read = run

    def close(self) -> Deferred[None]:
        self._connection.close()
        return succeed(None)


def transactBatch(
    connection: Any, dialect: Dialect, interactions: Sequence[Interaction[Any]]
) -> list[tuple[bool, Any]]:
    """
    Run several interactions in one transaction on a blocking DB-API
    connection, each inside a savepoint so that one that raises is rolled
    back alone; commit once at the end.

    @return: per interaction, C{(True, result)} or C{(False, Failure)}.
    @raise Exception: when the transaction itself fails (then nothing is committed).
    """
    cursor = connection.cursor()
    results: list[tuple[bool, Any]] = []
    try:
        if dialect.begin is not None:
            cursor.execute(dialect.begin)
        for interaction in interactions:
            cursor.execute("SAVEPOINT interaction")
            try:
                value = drive(interaction, lambda query: _execute(cursor, dialect, query))
            except Exception:
                results.append((False, Failure()))
                cursor.execute("ROLLBACK TO SAVEPOINT interaction")
            else:
                results.append((True, value))
            cursor.execute("RELEASE SAVEPOINT interaction")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        cursor.close()
    return results


def deliver(outcome: list[tuple[bool, Any]] | Failure, waiting: Sequence[Deferred[Any]]) -> None:
    """
    Fire the Deferreds of a batch's interactions.

    @param outcome: what L{transactBatch} returned, or the failure of the
        whole transaction.
    """
    if isinstance(outcome, Failure):
        for d in waiting:
            d.errback(outcome)
        return
    for d, (succeeded, value) in zip(waiting, outcome, strict=True):
        if succeeded:
            d.callback(value)
        else:
            d.errback(value)


#: Batches that may run while idle work waits, before it gets one.
IDLE_EVERY = 8


def idleDue(othersWaiting: bool, batchesSinceIdle: int) -> bool:
    """
    @return: whether waiting idle work goes next: when nothing else waits,
        or after L{IDLE_EVERY} batches while something always does.
    """
    return not othersWaiting or batchesSinceIdle >= IDLE_EVERY


#: Runs interactions in one transaction: per interaction C{(True, result)}
#: or C{(False, Failure)}; fails as a whole when the transaction does.
BatchTransaction = Callable[[list[Interaction[Any]]], Deferred[list[tuple[bool, Any]]]]


class GroupCommitRunner:
    """
    Runs interactions in batches, each batch one transaction (group commit):
    with many stations writing at once, each commit serves many of them.
    Every interaction still succeeds or fails on its own, and its Deferred
    fires only after the transaction holding it is committed.  Batches
    start at the end of a reactor turn, holding what the turn gave, so that
    stations' messages read together go together.  Up to C{concurrency}
    batches run at once, but while one runs another starts only once half
    a full batch waits: each batch costs its round trips and commit
    whatever its size, so under moderate load a few larger batches cost
    less and answer sooner than many small ones.  Idle work (L{runIdle})
    and reads (L{read}, ahead of idle work) run in transactions of their own
    when nothing else waits, or one after every L{IDLE_EVERY} batches while
    something always does.

    @param reactor: the reactor whose turns batches start at the end of.
    @param runBatch: runs one batch as one transaction.
    @param closeDatabase: closes the database once every interaction has run.
    @param maxBatch: the most interactions in one transaction.
    """

    def __init__(
        self,
        reactor: Any,
        runBatch: BatchTransaction,
        closeDatabase: Callable[[], object],
        concurrency: int = 1,
        maxBatch: int = 256,
    ) -> None:
        self.maxBatch = maxBatch
        self._reactor = reactor
        self._runBatch = runBatch
        self._closeDatabase = closeDatabase
        self._concurrency = concurrency
        self._waiting: list[tuple[Interaction[Any], Deferred[Any]]] = []
        self._waitingIdle: deque[tuple[Interaction[Any], Deferred[Any]]] = deque()
        self._waitingReads: deque[tuple[Interaction[Any], Deferred[Any]]] = deque()
        self._batchesSinceIdle = 0
        self._running = 0
        self._starting = False
        self._turnEnd: Any = None
        # Deferreds of close(), fired once nothing waits or runs.
        self._drained: list[Deferred[None]] = []

    def run(self, interaction: Interaction[T]) -> Deferred[T]:
        return self._queue(self._waiting, interaction)

    def runIdle(self, interaction: Interaction[T]) -> Deferred[T]:
        return self._queue(self._waitingIdle, interaction)

    def read(self, interaction: Interaction[T]) -> Deferred[T]:
        """
        As L{runIdle}, ahead of the idle work waiting: someone waits for it.
        """
        return self._queue(self._waitingReads, interaction)

    def _queue(
        self,
        waiting: list[tuple[Interaction[Any], Deferred[Any]]]
        | deque[tuple[Interaction[Any], Deferred[Any]]],
        interaction: Interaction[T],
    ) -> Deferred[T]:
        d: Deferred[T] = Deferred()
        waiting.append((interaction, d))
        if self._turnEnd is None:
            self._turnEnd = self._reactor.callLater(0, self._turnEnded)
        return d

    def _turnEnded(self) -> None:
        self._turnEnd = None
        self._runWaiting()

    def _runWaiting(self) -> None:
        # A batch may end at once (failing on a database that is down), and
        # its end calls back here: the loop below goes on instead, so that
        # thousands of waiting interactions do not deepen the stack.
        if self._starting:
            return
        self._starting = True
        try:
            self._startBatches()
        finally:
            self._starting = False
        if not (self._waiting or self._waitingIdle or self._waitingReads or self._running):
            drained, self._drained = self._drained, []
            for d in drained:
                d.callback(None)

    def _startBatches(self) -> None:
        while self._running < self._concurrency:
            alone = self._waitingReads or self._waitingIdle
            if alone and idleDue(bool(self._waiting), self._batchesSinceIdle):
                batch = [alone.popleft()]
                self._batchesSinceIdle = 0
            elif self._waiting and (not self._running or len(self._waiting) >= self.maxBatch // 2):
                batch = self._waiting[: self.maxBatch]
                del self._waiting[: self.maxBatch]
                self._batchesSinceIdle += 1
            else:
                break
            self._running += 1
            done = maybeDeferred(self._runBatch, [interaction for interaction, _ in batch])
            done.addBoth(self._finished, [d for _, d in batch])

    def _finished(self, outcome: Any, waiting: list[Deferred[Any]]) -> None:
        self._running -= 1
        deliver(outcome, waiting)
        self._runWaiting()

    def close(self) -> Deferred[None]:
        drained: Deferred[None] = Deferred()
        self._drained.append(drained)
        self._runWaiting()
        drained.addCallback(lambda _: self._closeDatabase())
        return drained


def schemaScripts() -> list[tuple[int, str]]:
    """
    @return: the numbered schema files (C{NNN_name.sql}) as C{(number,
        text)}, in order.
    """
    scripts = []
    for entry in (resources.files(__package__) / "schema").iterdir():
        match = re.fullmatch(r"(\d+)_\w+\.sql", entry.name)
        if match is not None:
            scripts.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(scripts)


def appliedVersions_txn() -> Interaction[set[int]]:
    """
    @return: the schema files already applied to the database.
    """
    yield Query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")
    rows = yield Query("SELECT version FROM schema_version")
    return {version for (version,) in rows}


def upgrade_txn(statements: Sequence[str], version: int) -> Interaction[None]:
    """
    Apply one schema file's statements and record its version.
    """
    for statement in statements:
        yield Query(statement)
    yield Query("INSERT INTO schema_version (version) VALUES (?)", (version,))


def migrate(connection: Any, dialect: Dialect) -> int:
    """
    Bring a database's schema up to date: apply, in order and each in its
    own transaction, every schema file not applied yet (a file numbered
    below one already applied too, as happens when work merges).

    @param connection: a blocking DB-API connection.
    @return: the schema version the database now has.
    @raise StorageError: when the database's schema is newer than the code's.
    """
    applied = transact(connection, dialect, appliedVersions_txn())
    scripts = schemaScripts()
    latest = scripts[-1][0]
    if applied and max(applied) > latest:
        raise StorageError(
            f"database schema version {max(applied)} is newer than this kcsms "
            f"(knows up to {latest})"
        )
    for version, script in scripts:
        if version not in applied:
            transact(connection, dialect, upgrade_txn(dialect.schemaStatements(script), version))
    return latest
