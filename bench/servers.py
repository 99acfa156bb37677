"""
The servers under load, each a process of its own on a free loopback port:
a real C{twistd -n kcsms} with a generated configuration and its own SQLite
database, or the bare Autobahn responder of L{bench.bare_responder}.  Their
CPU time and memory are read from C{/proc/<pid>}; the kcsms database is
prepared before start (schema, one Accepted id tag per station) and checked
after stop against what the stations saw acknowledged.
"""

import dataclasses
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.stations import idTagFor, raiseFileLimit

__all__ = ["ServerProcess", "startKcsms", "startBare", "prepareDatabase", "checkDatabase"]

BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

#: Pending connections the listening socket queues (the kernel caps it at
#: net.core.somaxconn); Twisted's default of 50 refuses a reconnect storm.
BACKLOG = 4096


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


class ServerProcess:
    """
    A server process listening on C{127.0.0.1:port}; its output goes to
    C{log} in its directory.
    """

    def __init__(self, name: str, argv: Sequence[str], directory: Path, port: int) -> None:
        self.name = name
        self.directory = directory
        self.port = port
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
            (C{total}) and of its main thread, the reactor's (C{reactor}).
        """
        return {
            "total": _cpuSeconds(Path(f"/proc/{self.pid}/stat")),
            "reactor": _cpuSeconds(Path(f"/proc/{self.pid}/task/{self.pid}/stat")),
        }

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


def _kcsmsConfig(port: int, database: Path) -> str:
    from kcsms.config import Config

    config = (
        "[ocpp]\n"
        f"endpoint = tcp:{port}:interface=127.0.0.1:backlog={BACKLOG}\n"
        "heartbeat_interval = 300\n"
        "call_timeout = 60\n"
        "unknown_chargepoints = accept\n"
        "[storage]\n"
        f"database = sqlite:{database}\n"
        "[profiles]\n"
        "enabled = Core\n"
    )
    # kcsms versions with an operator API listen on a fixed port by default: switch it off.
    if "api" in {f.name for f in dataclasses.fields(Config)}:
        config += "[api]\nendpoint =\n"
    return config


def prepareDatabase(database: Path, chargePointIds: Iterable[str]) -> None:
    """
    Create a kcsms SQLite database with one Accepted id tag per station,
    using kcsms's own schema and SQL.
    """
    from kcsms.model import IdTag
    from kcsms.storage.chargepoints import putIdTag_txn
    from kcsms.storage.sql import migrate, transact
    from kcsms.storage.sqlite import SQLITE

    def putTags_txn() -> Any:
        for chargePointId in chargePointIds:
            yield from putIdTag_txn(IdTag(idTagFor(chargePointId), "Accepted"))

    connection = sqlite3.connect(database, isolation_level=None)
    try:
        migrate(connection, SQLITE)
        transact(connection, SQLITE, putTags_txn())
    finally:
        connection.close()


def startKcsms(
    directory: Path,
    chargePointIds: Sequence[str],
    profile: Path | None = None,
) -> ServerProcess:
    """
    Start C{twistd -n kcsms} on a free port with a new database in C{directory}.

    @param profile: when given, run it under cProfile and save the stats there.
    @return: the started L{ServerProcess}, listening.
    """
    port = freePort()
    database = directory / "kcsms.sqlite"
    prepareDatabase(database, chargePointIds)
    configPath = directory / "kcsms.ini"
    configPath.write_text(_kcsmsConfig(port, database))
    argv = [str(BIN / "twistd"), "-n", "--pidfile="]
    if profile is not None:
        argv += [f"--profile={profile}", "--profiler=cprofile", "--savestats"]
    server = ServerProcess("kcsms", [*argv, "kcsms", "--config", str(configPath)], directory, port)
    server.waitListening()
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


def checkDatabase(database: Path, ledgers: Sequence[dict[str, Any]]) -> dict[str, Any]:
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
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT transaction_id, meter_stop FROM transactions")
        meterStops = dict(rows.fetchall())
        stored = dict(
            connection.execute(
                "SELECT transaction_id, count(*) FROM meter_values GROUP BY transaction_id"
            ).fetchall()
        )
        (storedStatuses,) = connection.execute("SELECT count(*) FROM status_history").fetchone()
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
