"""
SQLite, the embedded engine: a database file used through one adbapi thread
(one writer, WAL journal), or a database in memory used synchronously in the
calling thread for tests.  Both are opened, and their schema brought up to
date, synchronously, so no running reactor is needed.
"""

import os
import sqlite3
from typing import Any

from twisted.enterprise.adbapi import ConnectionPool

from kcsms.storage.cache import IdTagCache
from kcsms.storage.sql import (
    BlockingRunner,
    Dialect,
    GroupCommitRunner,
    StorageError,
    migrate,
    transactBatch,
)
from kcsms.storage.store import Store

__all__ = ["SQLITE", "openMemory", "migrateFile", "openFile"]

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

#: Milliseconds a statement waits for another process's lock.
BUSY_TIMEOUT = 5000


def _configure(connection: sqlite3.Connection) -> None:
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        f"busy_timeout={BUSY_TIMEOUT}",
    ):
        connection.execute(f"PRAGMA {pragma}")


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


def openFile(path: str, reactor: Any, idTags: IdTagCache | None = None) -> Store:
    """
    Open a database file (see L{migrateFile}) on one database thread.

    @param reactor: runs the database thread.
    @param idTags: the store's id tags kept in memory; none by default.
    @raise StorageError: as L{migrateFile} does.
    """
    path = os.path.abspath(path)
    migrateFile(path)
    pool = ConnectionPool(
        "sqlite3",
        path,
        isolation_level=None,
        check_same_thread=False,
        cp_min=1,
        cp_max=1,
        cp_reactor=reactor,
        cp_openfun=_configure,
    )
    return Store(
        GroupCommitRunner(
            lambda interactions: pool.runWithConnection(transactBatch, SQLITE, interactions),
            pool.close,
        ),
        idTags,
    )
