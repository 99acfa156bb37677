"""
SQLite, the embedded engine: a database file written in the reactor thread
(L{SQLiteRunner}: group commit per reactor turn, WAL journal) and read, for
the operator's lists, and checkpointed in one database thread; or a database
in memory used synchronously in the calling thread for tests.  Both are
opened, and their schema brought up to date, synchronously, so no running
reactor is needed.
"""

import os
import sqlite3
from collections import deque
from dataclasses import replace
from typing import Any, TypeVar

from twisted.enterprise.adbapi import ConnectionPool
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from kcsms.storage.cache import IdTagCache
from kcsms.storage.sql import (
    BlockingRunner,
    Dialect,
    Interaction,
    StorageError,
    deliver,
    idleDue,
    migrate,
    transact,
    transactBatch,
)
from kcsms.storage.store import Store

__all__ = ["SQLITE", "openMemory", "migrateFile", "SQLiteRunner", "openFile"]

T = TypeVar("T")

#: An interaction given to L{SQLiteRunner}, and the Deferred of its result.
_Given = tuple[Interaction[Any], Deferred[Any]]

#: SQLite's dialect.  Connections are in autocommit mode (C{isolation_level}
#: L{None}) so that every transaction, DDL included, is begun explicitly; and
#: IMMEDIATE, so that a transaction never fails to upgrade its read lock while
#: another process writes.
SQLITE = Dialect(
    name="sqlite",
    paramstyle="qmark",
    ddl={"autoincrement_pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "json_array": "json_array"},
    begin="BEGIN IMMEDIATE",
)

#: SQLite's dialect for the connection that only reads: a DEFERRED
#: transaction takes no lock until it reads, and never the writer's.
SQLITE_READ = replace(SQLITE, begin="BEGIN DEFERRED")

#: Milliseconds a statement waits for another process's lock.
BUSY_TIMEOUT = 5000

#: Milliseconds the writer of L{SQLiteRunner} waits for another process's
#: lock: it waits in the reactor thread, where every station waits with it,
#: so a write that another process holds up longer fails (InternalError).
WRITER_BUSY_TIMEOUT = 250

#: Seconds from a commit to the checkpoint, in the database thread, that
#: copies it from the write-ahead log into the database file.
CHECKPOINT_DELAY = 0.25

#: Frames in the write-ahead log (SQLite's own threshold for its automatic
#: checkpoints) from which the writer checkpoints what is left after the
#: database thread's checkpoint, so that its next write restarts the log.
RESTART_FRAMES = 1000


def _configure(connection: sqlite3.Connection, *pragmas: str) -> None:
    # Later pragmas override earlier ones.
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        f"busy_timeout={BUSY_TIMEOUT}",
        *pragmas,
    ):
        connection.execute(f"PRAGMA {pragma}")


def _configureReader(connection: sqlite3.Connection) -> None:
    _configure(connection, "query_only=ON")


def _checkpoint(connection: sqlite3.Connection) -> int:
    """
    Copy into the database file what the write-ahead log holds and no reader
    still needs, without the writer's lock (PASSIVE).

    @return: the frames in the log.
    """
    _, frames, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(frames)


def openMemory(idTags: IdTagCache | None = None) -> Store:
    """
    @param idTags: the store's id tags kept in memory; none by default.
    @return: a store over a new database in memory, whose Deferreds have
        already fired when returned.
    """
    connection = sqlite3.connect(":memory:", isolation_level=None)
    _configure(connection)
    migrate(connection, SQLITE)
    return Store(BlockingRunner(connection, SQLITE), idTags)


def migrateFile(path: str) -> int:
    """
    Bring a database file's schema up to date, creating the file and its
    directory when missing.

    @param path: the file, relative to the current directory.
    @return: the schema version.
    @raise StorageError: when the file cannot be created or used, or its
        schema is newer than this kcsms.
    """
    path = os.path.abspath(path)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # Creating the file first reports a problem with the OS's reason.
        open(path, "ab").close()
    except OSError as e:
        raise StorageError(f"cannot create {path}: {e.strerror or e}") from None
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        _configure(connection)
        return migrate(connection, SQLITE)
    except sqlite3.Error as e:
        raise StorageError(f"cannot use {path}: {e}") from None
    finally:
        connection.close()


class SQLiteRunner:
    """
    Runs interactions on a database file with one connection that writes,
    used in the reactor thread: the interactions given during one turn of
    the reactor run at its end as one transaction (group commit), each in a
    savepoint of its own, and their Deferreds fire once it is committed.
    Idle work runs alone in a turn when nothing else waits, or with the
    others after every L{kcsms.storage.sql.IDLE_EVERY} turns while something
    always does.

    A commit in WAL mode with C{synchronous=NORMAL} appends to the log and
    does not wait for the disk, so running it in the reactor thread costs
    less than handing it to a thread and back (the session mix: about a
    quarter less CPU per message).  What does wait runs in one database
    thread, on a second connection that only reads: the operator's long
    reads (L{read}) and checkpoints, which copy the log into the database
    file and sync both, L{CHECKPOINT_DELAY} after a commit.  The writer's
    automatic checkpoints are off; once the log holds L{RESTART_FRAMES} it
    copies what the thread's checkpoint left, so that the log is reused.

    @param path: the database file, its schema up to date.
    @param reactor: the reactor whose thread writes; runs the database thread.
    """

    log = Logger()

    def __init__(self, path: str, reactor: Any) -> None:
        self._reactor = reactor
        self._writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        _configure(self._writer, "wal_autocheckpoint=0", f"busy_timeout={WRITER_BUSY_TIMEOUT}")
        self._pool = ConnectionPool(
            "sqlite3",
            path,
            isolation_level=None,
            check_same_thread=False,
            cp_min=1,
            cp_max=1,
            cp_reactor=reactor,
            cp_openfun=_configureReader,
        )
        self._waiting: list[_Given] = []
        self._waitingIdle: deque[_Given] = deque()
        self._reads: list[_Given] = []
        self._turnsSinceIdle = 0
        self._commitCall: IDelayedCall | None = None
        self._checkpointCall: IDelayedCall | None = None
        # Deferreds of the work given to the database thread, not done yet.
        self._working: set[Deferred[Any]] = set()

    def run(self, interaction: Interaction[T]) -> Deferred[T]:
        return self._give(self._waiting, interaction)

    def runIdle(self, interaction: Interaction[T]) -> Deferred[T]:
        return self._give(self._waitingIdle, interaction)

    def read(self, interaction: Interaction[T]) -> Deferred[T]:
        # Started after this turn's commit, so that it sees what was given before it.
        return self._give(self._reads, interaction)

    def _give(
        self, queue: list[_Given] | deque[_Given], interaction: Interaction[T]
    ) -> Deferred[T]:
        d: Deferred[T] = Deferred()
        queue.append((interaction, d))
        if self._commitCall is None:
            self._commitCall = self._reactor.callLater(0, self._commit)
        return d

    def _commit(self) -> None:
        self._commitCall = None
        batch, self._waiting = self._waiting, []
        if self._waitingIdle and idleDue(bool(batch), self._turnsSinceIdle):
            batch.append(self._waitingIdle.popleft())
            self._turnsSinceIdle = 0
        else:
            self._turnsSinceIdle += 1
        reads, self._reads = self._reads, []
        if batch:
            outcome: list[tuple[bool, Any]] | Failure
            try:
                outcome = transactBatch(self._writer, SQLITE, [i for i, _ in batch])
            except Exception:
                outcome = Failure()
            if self._checkpointCall is None:
                self._checkpointCall = self._reactor.callLater(CHECKPOINT_DELAY, self._checkpoint)
            deliver(outcome, [d for _, d in batch])
        for interaction, d in reads:
            self._inThread(transact, SQLITE_READ, interaction).chainDeferred(d)
        if (self._waiting or self._waitingIdle or self._reads) and self._commitCall is None:
            self._commitCall = self._reactor.callLater(0, self._commit)

    def _checkpoint(self) -> None:
        d = self._inThread(_checkpoint).addCallback(self._checkpointed)
        d.addErrback(lambda f: self.log.failure("Checkpointing the database", f))
        d.addCallback(self._checkpointDone)

    def _checkpointed(self, frames: int) -> None:
        # A log that another connection checkpoints is only restarted by a
        # write that begins once it is all copied, which a busy writer
        # seldom waits for: the writer copies the rest itself, a few frames.
        if frames >= RESTART_FRAMES:
            _checkpoint(self._writer)

    def _checkpointDone(self, _: object) -> None:
        self._checkpointCall = None

    def _inThread(self, function: Any, *args: Any) -> Deferred[Any]:
        d = self._pool.runWithConnection(function, *args)
        self._working.add(d)
        return d.addBoth(self._worked, d)

    def _worked(self, result: T, d: Deferred[Any]) -> T:
        self._working.discard(d)
        return result

    def close(self) -> Deferred[None]:
        """
        Run what waits, then close the database once the database thread has
        finished its work; the writer's connection last, whose closing
        checkpoints what is left in the log.
        """
        while True:
            for call in (self._commitCall, self._checkpointCall):
                if call is not None and call.active():
                    call.cancel()
            self._commitCall = self._checkpointCall = None
            if not (self._waiting or self._waitingIdle or self._reads):
                break
            self._commit()
        working = DeferredList(list(self._working), consumeErrors=True)
        return working.addCallback(lambda _: self._closeConnections())

    def _closeConnections(self) -> None:
        self._pool.close()
        self._writer.close()


def openFile(path: str, reactor: Any, idTags: IdTagCache | None = None) -> Store:
    """
    Open a database file (see L{migrateFile}) for L{SQLiteRunner}.

    @param reactor: the reactor whose thread writes; runs the database thread.
    @param idTags: the store's id tags kept in memory; none by default.
    @raise StorageError: as L{migrateFile} does.
    """
    path = os.path.abspath(path)
    migrateFile(path)
    return Store(SQLiteRunner(path, reactor), idTags)
