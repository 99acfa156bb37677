"""
The servers under load, each a process of its own on a free loopback port:
a real C{twistd -n kcsms} with a generated configuration and a database of
its own (a SQLite file, or a fresh schema in a PostgreSQL database), or the
bare Autobahn responder of L{bench.bare_responder}.  Their CPU time and
memory are read from C{/proc/<pid>}, and so is the CPU time of a PostgreSQL
server on this machine; the kcsms database is prepared before start (schema,
one Accepted id tag per station) and checked after stop against what the
stations saw acknowledged.
"""

import dataclasses
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from bench.stations import idTagFor, raiseFileLimit

__all__ = [
    "ServerProcess",
    "KcsmsDatabase",
    "SqliteDatabase",
    "PostgresDatabase",
    "newDatabase",
    "postgresCpuSeconds",
    "startKcsms",
    "startBare",
    "prepareDatabase",
    "checkDatabase",
]

BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

#: Pending connections the listening socket queues (the kernel caps it at
#: net.core.somaxconn); Twisted's default of 50 refuses a reconnect storm.
BACKLOG = 4096

#: The PostgreSQL database the benchmark makes its schemas in, unless the
#: environment variable C{KCSMS_BENCH_POSTGRES} names another.
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

#: PostgreSQL connections kcsms opens (its default, written out so that the
#: generated configuration shows it).
POOL_SIZE = 5


def freePort() -> int:
    """
    @return: a TCP port on 127.0.0.1 that nothing listens on right now.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpuSeconds(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgresCpuSeconds() -> float | None:
    """
    @return: user plus system CPU seconds of every process on this machine
        whose C{/proc/<pid>/comm} is C{postgres} (the server, its background
        processes and every backend, whoever's), or L{None} when there is
        none (the server runs elsewhere).  A process that has exited no
        longer counts.
    """
    seconds = []
    for process in Path("/proc").iterdir():
        try:
            if process.name.isdigit() and (process / "comm").read_text().strip() == "postgres":
                seconds.append(_cpuSeconds(process / "stat"))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return sum(seconds) if seconds else None


class KcsmsDatabase(Protocol):
    """
    A database of kcsms's own for one scenario.

    @ivar url: kcsms's C{[storage] database} setting for it.
    """

    url: str

    @property
    def dialect(self) -> Any:
        """
        kcsms's L{kcsms.storage.sql.Dialect} for it.
        """

    def connect(self) -> Any:
        """
        @return: a new blocking DB-API connection to it.
        """

    def serverCpuSeconds(self) -> float | None:
        """
        @return: CPU seconds used so far by its database server, or L{None}
            when it has none of its own to measure.
        """

    def drop(self, keep: bool) -> None:
        """
        Remove it, or with C{keep} say where it is kept.
        """


class SqliteDatabase:
    """
    A new SQLite file; it goes (or stays) with the server's directory.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:{path}"

    @property
    def dialect(self) -> Any:
        from kcsms.storage.sqlite import SQLITE

        return SQLITE

    def connect(self) -> Any:
        return sqlite3.connect(self.path, isolation_level=None)

    def serverCpuSeconds(self) -> None:
        """
        SQLite runs inside kcsms: its CPU time is kcsms's.
        """

    def drop(self, keep: bool) -> None:
        """
        Nothing to do: the file is in the server's directory, which the
        runner removes or keeps.
        """


class PostgresDatabase:
    """
    A fresh schema C{kcsms_bench_<random hex>} in a PostgreSQL database,
    which kcsms's connections use through their C{search_path}.
    """

    def __init__(self, base: str) -> None:
        """
        Create the schema.

        @param base: the database's URL, C{postgresql://user@host:port/dbname}.
        """
        self.base = base
        self.schema = f"kcsms_bench_{secrets.token_hex(6)}"
        separator = "&" if "?" in base else "?"
        self.url = f"{base}{separator}options={quote(f'-csearch_path={self.schema}')}"
        self._administer(f"CREATE SCHEMA {self.schema}")

    def _administer(self, statement: str) -> None:
        import psycopg2

        connection = psycopg2.connect(self.base)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    @property
    def dialect(self) -> Any:
        from kcsms.storage.postgresql import POSTGRESQL

        return POSTGRESQL

    def connect(self) -> Any:
        import psycopg2

        return psycopg2.connect(self.url)

    def serverCpuSeconds(self) -> float | None:
        return postgresCpuSeconds()

    def drop(self, keep: bool) -> None:
        if keep:
            from kcsms.storage.postgresql import safeUrl

            print(f"PostgreSQL schema {self.schema} kept in {safeUrl(self.base)}", file=sys.stderr)
        else:
            self._administer(f"DROP SCHEMA {self.schema} CASCADE")


def newDatabase(engine: str, directory: Path) -> KcsmsDatabase:
    """
    @param engine: C{"sqlite"} (a file in C{directory}) or C{"postgresql"}
        (a schema in L{POSTGRES_URL} or C{$KCSMS_BENCH_POSTGRES}).
    @return: a new, empty database.
    """
    if engine == "sqlite":
        return SqliteDatabase(directory / "kcsms.sqlite")
    if engine == "postgresql":
        return PostgresDatabase(os.environ.get("KCSMS_BENCH_POSTGRES", POSTGRES_URL))
    raise ValueError(f"unknown database engine {engine!r}")


class ServerProcess:
    """
    A server process listening on C{127.0.0.1:port}; its output goes to
    C{log} in its directory.

    @ivar database: kcsms's database, L{None} for the bare responder.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        directory: Path,
        port: int,
        database: KcsmsDatabase | None = None,
    ) -> None:
        self.name = name
        self.directory = directory
        self.port = port
        self.database = database
        self.logPath = directory / f"{name}.log"
        with open(self.logPath, "ab") as log:
            self.process = subprocess.Popen(
                list(argv),
                cwd=directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=raiseFileLimit,
            )
        self.pid = self.process.pid

    def waitListening(self, timeout: float = 30) -> None:
        """
        Wait until the port accepts connections.

        @raise RuntimeError: when the process exits or does not listen in time.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.output()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen on {self.port}: {self.output()[-2000:]}")

    def output(self) -> str:
        return self.logPath.read_text(errors="replace")

    def cpuSeconds(self) -> dict[str, float]:
        """
        @return: user plus system CPU seconds of the whole process
            (C{total}), of its main thread, the reactor's (C{reactor}), and
            when its database has a server of its own, of that (C{database}).
        """
        seconds = {
            "total": _cpuSeconds(Path(f"/proc/{self.pid}/stat")),
            "reactor": _cpuSeconds(Path(f"/proc/{self.pid}/task/{self.pid}/stat")),
        }
        database = None if self.database is None else self.database.serverCpuSeconds()
        if database is not None:
            seconds["database"] = database
        return seconds

    def memory(self) -> dict[str, float]:
        """
        @return: C{rssMB} (now) and C{peakRssMB} (VmHWM) in MiB.
        """
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{self.pid}/status").read_text().splitlines()
        )
        return {
            "rssMB": int(status["VmRSS"].split()[0]) / 1024,
            "peakRssMB": int(status["VmHWM"].split()[0]) / 1024,
        }

    def stop(self, timeout: float = 30) -> int | None:
        """
        SIGTERM the process and wait for it (SIGKILL after C{timeout}).

        @return: its exit status.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _kcsmsConfig(port: int, database: str) -> str:
    from kcsms.config import Config

    config = (
        "[ocpp]\n"
        f"endpoint = tcp:{port}:interface=127.0.0.1:backlog={BACKLOG}\n"
        "heartbeat_interval = 300\n"
        "call_timeout = 60\n"
        "unknown_chargepoints = accept\n"
        "[storage]\n"
        f"database = {database}\n"
        f"pool_size = {POOL_SIZE}\n"
        "[profiles]\n"
        "enabled = Core\n"
    )
    # kcsms versions with an operator API listen on a fixed port by default: switch it off.
    if "api" in {f.name for f in dataclasses.fields(Config)}:
        config += "[api]\nendpoint =\n"
    return config


def prepareDatabase(database: KcsmsDatabase, chargePointIds: Iterable[str]) -> None:
    """
    Give a new kcsms database its schema and one Accepted id tag per
    station, using kcsms's own schema and SQL.
    """
    from kcsms.model import IdTag
    from kcsms.storage.chargepoints import putIdTag_txn
    from kcsms.storage.sql import migrate, transact

    def putTags_txn() -> Any:
        for chargePointId in chargePointIds:
            yield from putIdTag_txn(IdTag(idTagFor(chargePointId), "Accepted"))

    connection = database.connect()
    try:
        migrate(connection, database.dialect)
        transact(connection, database.dialect, putTags_txn())
    finally:
        connection.close()


def startKcsms(
    directory: Path,
    chargePointIds: Sequence[str],
    engine: str = "sqlite",
    profile: Path | None = None,
) -> ServerProcess:
    """
    Start C{twistd -n kcsms} on a free port with a new database (see
    L{newDatabase}); its files go in C{directory}.

    @param engine: C{"sqlite"} or C{"postgresql"}.
    @param profile: when given, run it under cProfile and save the stats there.
    @return: the started L{ServerProcess}, listening; drop its C{database}
        after stopping it.
    """
    port = freePort()
    database = newDatabase(engine, directory)
    try:
        prepareDatabase(database, chargePointIds)
        configPath = directory / "kcsms.ini"
        configPath.write_text(_kcsmsConfig(port, database.url))
        argv = [str(BIN / "twistd"), "-n", "--pidfile="]
        if profile is not None:
            argv += [f"--profile={profile}", "--profiler=cprofile", "--savestats"]
        argv += ["kcsms", "--config", str(configPath)]
        server = ServerProcess("kcsms", argv, directory, port, database)
        try:
            server.waitListening()
        except BaseException:
            server.stop()
            raise
    except BaseException:
        database.drop(keep=False)
        raise
    return server


def startBare(directory: Path) -> ServerProcess:
    """
    Start the bare Autobahn responder on a free port.

    @return: the started L{ServerProcess}, listening.
    """
    port = freePort()
    argv = [
        sys.executable,
        "-m",
        "bench.bare_responder",
        f"tcp:{port}:interface=127.0.0.1:backlog={BACKLOG}",
    ]
    server = ServerProcess("bare", argv, directory, port)
    server.waitListening()
    return server


def checkDatabase(database: KcsmsDatabase, ledgers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """
    Compare what the stations saw acknowledged with what the (stopped)
    kcsms's database holds.

    @param ledgers: the workers' L{bench.stations.Ledger}s as dicts.
    @return: acknowledged and missing counts; all C{missing*} are 0 when
        every acknowledged message is in the database.
    """
    started = [t for ledger in ledgers for t in ledger["started"]]
    stopped = [t for ledger in ledgers for t in ledger["stopped"]]
    samples: dict[int, int] = {}
    for ledger in ledgers:
        for transactionId, count in ledger["meterSamples"].items():
            samples[int(transactionId)] = samples.get(int(transactionId), 0) + count
    statuses = sum(ledger["statusNotifications"] for ledger in ledgers)
    connection = database.connect()
    try:
        cursor = connection.cursor()

        def select(sql: str) -> list[Any]:
            cursor.execute(sql)
            return cursor.fetchall()

        meterStops = dict(select("SELECT transaction_id, meter_stop FROM transactions"))
        stored = dict(
            select("SELECT transaction_id, count(*) FROM meter_values GROUP BY transaction_id")
        )
        ((storedStatuses,),) = select("SELECT count(*) FROM status_history")
    finally:
        connection.close()
    return {
        "ackedStarts": len(started),
        "distinctTransactionIds": len(set(started)),
        "missingStarts": sum(1 for t in started if t not in meterStops),
        "ackedStops": len(stopped),
        "missingStops": sum(1 for t in stopped if meterStops.get(t) is None),
        "ackedMeterSamples": sum(samples.values()),
        "storedMeterSamples": sum(stored.values()),
        "missingMeterSamples": sum(max(0, n - stored.get(t, 0)) for t, n in samples.items()),
        "ackedStatusNotifications": statuses,
        "storedStatusNotifications": storedStatuses,
        "missingStatusNotifications": max(0, statuses - storedStatuses),
    }
