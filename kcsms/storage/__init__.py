"""
Storage: one SQL layer (L{kcsms.storage.sql}) whose interactions
(L{kcsms.storage.store}) serve every engine, with numbered schema files
applied at open.  SQLite (L{kcsms.storage.sqlite}) is the engine today.

L{openStore} opens the database named by C{[storage] database} and returns
its L{kcsms.interfaces.IStore}.
"""

from typing import Any

from kcsms.storage.cache import IdTagCache
from kcsms.storage.sql import StorageError
from kcsms.storage.sqlite import migrateFile, openFile, openMemory
from kcsms.storage.store import Store

__all__ = ["StorageError", "Store", "openStore", "migrateDatabase"]


def openStore(
    database: str, reactor: Any, poolSize: int = 5, idTagCacheSeconds: float = 0
) -> Store:
    """
    Open a database and bring its schema up to date, synchronously: the
    reactor need not be running.

    @param database: C{sqlite:PATH} for a file (relative to the current
        directory), or C{memory:} for a database in memory whose Deferreds
        fire at once (for tests).
        C{postgresql://user@host:port/dbname} for PostgreSQL.
    @param reactor: runs the database threads or connections.
    @param poolSize: how many connections PostgreSQL gets.
    @param idTagCacheSeconds: how long id tags read are kept in memory
        (L{kcsms.storage.cache.IdTagCache}); C{0} reads them every time.
    @raise StorageError: when C{database} is not supported, cannot be opened,
        or has a newer schema than this kcsms.
    """
    idTags = IdTagCache(idTagCacheSeconds, reactor)
    if database == "memory:":
        return openMemory(idTags)
    scheme, _, path = database.partition(":")
    if scheme == "sqlite" and path:
        return openFile(path, reactor, idTags)
    if scheme in ("postgresql", "postgres") and path.startswith("//"):
        from kcsms.storage.postgresql import openPostgres

        return openPostgres(database, poolSize, reactor, idTags)
    raise StorageError(
        f"unsupported database {database!r}: use sqlite:PATH, memory: or postgresql://..."
    )


def migrateDatabase(database: str) -> int:
    """
    Only create or upgrade a database's schema, for operators who migrate
    before they deploy.

    @param database: as for L{openStore}.
    @return: the schema version.
    @raise StorageError: as L{openStore} does, or for C{memory:}.
    """
    scheme, _, path = database.partition(":")
    if scheme == "sqlite" and path:
        return migrateFile(path)
    if scheme in ("postgresql", "postgres") and path.startswith("//"):
        from kcsms.storage.postgresql import migratePostgres

        return migratePostgres(database)
    raise StorageError(f"cannot migrate {database!r}: use sqlite:PATH or postgresql://...")
