"""
The benchmark's scenarios and their runner: C{make bench} (L{FULL}, a few
minutes), C{make bench-quick} (L{QUICK}, under a minute) and C{make profile}
(one scenario with kcsms under cProfile).

Each scenario starts its own server (kcsms with a new database, or the bare
responder), starts the client processes, times the cold connect-and-boot
storm of all stations, takes each station a random number of steps into
its mix (unmeasured), drives the mix for a fixed time, then reads the
server's CPU seconds and memory from C{/proc}, stops everything and, for the
session mix, checks the database.  Results go to a JSON file and a Markdown
file in the output directory and the Markdown is printed.

kcsms's database is a SQLite file, or in the C{*-pg} scenarios a fresh
schema C{kcsms_bench_<random hex>} in the PostgreSQL database
C{$KCSMS_BENCH_POSTGRES} (default
C{postgresql://postgres@127.0.0.1:5432/test}), dropped afterwards.  There
the CPU seconds of every C{postgres} process on this machine over the load
phase are reported too, so that the cost per CALL is kcsms's plus the
database server's.  With C{--keep}, server logs, SQLite files and PostgreSQL
schemas stay (their names go to stderr).

Run: C{python -m bench.run [--quick] [--only NAME...] [--profile NAME] [--keep]}
"""

import argparse
import json
import multiprocessing
import pstats
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.report import judgeTargets, latencySummary, machine, markdown
from bench.servers import ServerProcess, checkDatabase, startBare, startKcsms
from bench.stations import WorkerPlan, workerMain

__all__ = ["Scenario", "FULL", "QUICK", "runScenario", "runSuite", "main"]

#: Seconds a station waits for an answer before counting a timeout.
CALL_TIMEOUT = 10.0


@dataclass(frozen=True)
class Scenario:
    """
    One measured run.

    @ivar server: C{"kcsms"} or C{"bare"}.
    @ivar mix: a name in L{bench.stations.MIXES}.
    @ivar interval: seconds between a station's CALLs, or L{None} for a
        closed loop.
    @ivar duration: seconds of load after the storm.
    @ivar engine: kcsms's database, C{"sqlite"} or C{"postgresql"}.
    """

    name: str
    server: str
    stations: int
    mix: str
    interval: float | None
    duration: float
    engine: str = "sqlite"

    @property
    def mode(self) -> str:
        return "closed loop" if self.interval is None else f"1 msg / {self.interval:g} s"


FULL = (
    Scenario("heartbeat-bare", "bare", 1000, "heartbeat", None, 20),
    Scenario("heartbeat", "kcsms", 1000, "heartbeat", None, 20),
    Scenario("authorize", "kcsms", 1000, "authorize", None, 15),
    Scenario("session-rate", "kcsms", 5000, "session", 2.0, 40),
    Scenario("session-closed", "kcsms", 2000, "session", None, 20),
    Scenario("storm", "kcsms", 10000, "heartbeat", 10.0, 15),
    Scenario("session-rate-pg", "kcsms", 5000, "session", 2.0, 40, "postgresql"),
    Scenario("session-closed-pg", "kcsms", 2000, "session", None, 20, "postgresql"),
)

QUICK = (
    Scenario("heartbeat-bare", "bare", 200, "heartbeat", None, 5),
    Scenario("heartbeat", "kcsms", 200, "heartbeat", None, 5),
    Scenario("session-rate", "kcsms", 500, "session", 2.0, 10),
    Scenario("session-closed", "kcsms", 200, "session", None, 5),
    Scenario("session-closed-pg", "kcsms", 200, "session", None, 5, "postgresql"),
)


def chargePointIds(count: int) -> list[str]:
    return [f"BENCH{n:05d}" for n in range(count)]


class _Clients:
    """
    The client processes of one scenario, and their pipes.
    """

    def __init__(self, scenario: Scenario, server: ServerProcess, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        ids = chargePointIds(scenario.stations)
        self.pipes = []
        self.processes = []
        for k in range(min(count, scenario.stations)):
            plan = WorkerPlan(
                "127.0.0.1",
                server.port,
                "/ocpp",
                tuple(ids[k::count]),
                scenario.mix,
                scenario.interval,
                CALL_TIMEOUT,
            )
            parentEnd, childEnd = context.Pipe()
            process = context.Process(target=workerMain, args=(plan, childEnd), daemon=True)
            process.start()
            self.pipes.append(parentEnd)
            self.processes.append(process)

    def send(self, command: Any) -> None:
        for pipe in self.pipes:
            pipe.send(command)

    def receive(self, expected: str, timeout: float) -> list[dict[str, Any]]:
        """
        @return: every client's report C{expected}.
        @raise RuntimeError: when one does not come within C{timeout} seconds.
        """
        deadline = time.monotonic() + timeout
        reports = []
        for pipe, process in zip(self.pipes, self.processes, strict=True):
            while not pipe.poll(0.2):
                if not process.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"client {process.pid} gave no {expected!r} report")
            name, report = pipe.recv()
            assert name == expected, name
            reports.append(report)
        return reports

    def stop(self) -> None:
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()


def _cpuSpent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in before}


def _stormFigures(reports: list[dict[str, Any]], serverCpu: dict[str, float]) -> dict[str, Any]:
    lastBooted = [r["lastBooted"] for r in reports if r["lastBooted"] is not None]
    connectFailures: dict[str, int] = {}
    bootCallErrors: dict[str, int] = {}
    for report in reports:
        for key, n in report["connectFailures"].items():
            connectFailures[key] = connectFailures.get(key, 0) + n
        for key, n in report["bootCallErrors"].items():
            bootCallErrors[key] = bootCallErrors.get(key, 0) + n
    booted = sum(r["booted"] for r in reports)
    return {
        "seconds": (max(lastBooted) - min(r["start"] for r in reports) if lastBooted else None),
        "booted": booted,
        "failed": sum(r["failed"] for r in reports),
        "connectFailures": connectFailures,
        "bootCallErrors": bootCallErrors,
        "serverCpuSeconds": round(serverCpu["total"], 2),
        "serverCpuPerBootUs": round(serverCpu["total"] / booted * 1e6) if booted else None,
    }


def _loadFigures(reports: list[dict[str, Any]], serverCpu: dict[str, float]) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {}
    callErrors: dict[str, int] = {}
    timeouts: dict[str, int] = {}
    sendLags: list[float] = []
    for report in reports:
        tally = report["tally"]
        for action, values in tally["latencies"].items():
            latencies.setdefault(action, []).extend(values)
        for key, n in tally["callErrors"].items():
            callErrors[key] = callErrors.get(key, 0) + n
        for key, n in tally["timeouts"].items():
            timeouts[key] = timeouts.get(key, 0) + n
        sendLags.extend(tally["sendLags"])
    answered = sum(len(values) for values in latencies.values())
    wall = max(report["wall"] for report in reports)
    figures: dict[str, Any] = {
        "seconds": round(wall, 2),
        "answered": answered,
        "messagesPerSecond": round(answered / wall, 1),
        "serverCpuSeconds": round(serverCpu["total"], 2),
        "serverCpuPerCallUs": round(serverCpu["total"] / answered * 1e6, 1) if answered else 0.0,
        "reactorCpuPerCallUs": round(serverCpu["reactor"] / answered * 1e6, 1) if answered else 0.0,
        "serverCpuUtilisation": round(serverCpu["total"] / wall, 3),
        "all": latencySummary([v for values in latencies.values() for v in values]),
        "actions": {action: latencySummary(values) for action, values in latencies.items()},
        "sendLag": latencySummary(sendLags),
        "errors": {
            "callErrors": callErrors,
            "timeouts": timeouts,
            "dropped": sum(report["tally"]["dropped"] for report in reports),
            "lateAnswers": sum(report["tally"]["lateAnswers"] for report in reports),
        },
    }
    if "database" in serverCpu:
        figures["databaseCpuSeconds"] = round(serverCpu["database"], 2)
        figures["databaseCpuPerCallUs"] = (
            round(serverCpu["database"] / answered * 1e6, 1) if answered else 0.0
        )
        figures["databaseCpuUtilisation"] = round(serverCpu["database"] / wall, 3)
    return figures


def runScenario(
    scenario: Scenario,
    workDir: Path,
    clients: int = 2,
    profile: Path | None = None,
    keep: bool = False,
) -> dict[str, Any]:
    """
    Run one scenario against a server of its own.

    @param workDir: where the server's directory (log, database) is made.
    @param clients: how many client processes share the stations.
    @param profile: run kcsms under cProfile, saving its stats here.
    @param keep: keep a PostgreSQL schema instead of dropping it.
    @return: the scenario's figures.
    """
    directory = workDir / scenario.name
    directory.mkdir(parents=True, exist_ok=True)
    if scenario.server == "kcsms":
        ids = chargePointIds(scenario.stations)
        server = startKcsms(directory, ids, scenario.engine, profile)
    else:
        server = startBare(directory)
    try:
        return _measure(scenario, server, clients, profile is not None)
    finally:
        if server.database is not None:
            server.database.drop(keep)


def _measure(
    scenario: Scenario, server: ServerProcess, clients: int, profiled: bool
) -> dict[str, Any]:
    """
    Drive a scenario against its started server, stop the server and check
    its database.

    @return: the scenario's figures.
    """
    stormTimeout = 60 + scenario.stations / 100
    try:
        stations = _Clients(scenario, server, clients)
        try:
            cpu = server.cpuSeconds()
            stations.send("boot")
            booted = stations.receive("booted", stormTimeout)
            afterStorm = server.cpuSeconds()
            stations.send("warm")
            stations.receive("warmed", stormTimeout)
            beforeLoad = server.cpuSeconds()
            stations.send(("go", scenario.duration))
            done = stations.receive("done", scenario.duration + CALL_TIMEOUT + 60)
            afterLoad = server.cpuSeconds()
            memory = server.memory()
            stations.send("close")
        finally:
            stations.stop()
    finally:
        exitStatus = server.stop()
    result: dict[str, Any] = {
        **asdict(scenario),
        "mode": scenario.mode,
        "profiled": profiled,
        "storm": _stormFigures(booted, _cpuSpent(cpu, afterStorm)),
        "load": _loadFigures(done, _cpuSpent(beforeLoad, afterLoad)),
        "memory": {key: round(value, 1) for key, value in memory.items()},
        "clients": [
            {
                "stations": report["stations"],
                "cpuSeconds": round(report["clientCpu"], 2),
                "utilisation": round(report["clientCpu"] / report["wall"], 3),
            }
            for report in done
        ],
        "serverExitStatus": exitStatus,
    }
    if server.database is not None and scenario.mix == "session":
        result["database"] = checkDatabase(server.database, [report["ledger"] for report in done])
    return result


def runSuite(
    scenarios: tuple[Scenario, ...],
    workDir: Path,
    clients: int,
    quiet: bool = False,
    keep: bool = False,
) -> dict[str, Any]:
    """
    Run scenarios one after another.

    @param keep: keep PostgreSQL schemas instead of dropping them.
    @return: the machine, every scenario's figures and the targets' verdicts.
    """
    results = []
    for scenario in scenarios:
        if not quiet:
            print(f"{scenario.name}: {scenario.stations} stations, {scenario.mode}...", flush=True)
        results.append(runScenario(scenario, workDir, clients, keep=keep))
    return {
        "machine": machine(),
        "clients": clients,
        "results": results,
        "targets": judgeTargets(results),
    }


def printProfile(path: Path, limit: int = 30) -> None:
    """
    Print the functions with the most own time, then the most cumulative time.
    """
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short suite (under a minute)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scenarios")
    parser.add_argument(
        "--profile", metavar="NAME", help="run scenario NAME with kcsms under cProfile"
    )
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--output", type=Path, default=Path("var/bench"), help="result directory")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep server logs and databases (PostgreSQL schemas too)",
    )
    options = parser.parse_args(argv)

    scenarios: tuple[Scenario, ...] = QUICK if options.quick else FULL
    byName = {scenario.name: scenario for scenario in FULL + QUICK if scenario in scenarios}
    names = [options.profile] if options.profile else options.only
    if names:
        unknown = [name for name in names if name not in byName]
        if unknown:
            parser.error(f"unknown scenario {unknown}; choose from {sorted(byName)}")
        scenarios = tuple(byName[name] for name in names)

    options.output.mkdir(parents=True, exist_ok=True)
    workDir = Path(tempfile.mkdtemp(prefix="kcsms-bench-"))
    try:
        if options.profile:
            statsPath = (options.output / f"{options.profile}.prof").resolve()
            result = runScenario(scenarios[0], workDir, options.clients, statsPath, options.keep)
            suite = {
                "machine": machine(),
                "clients": options.clients,
                "results": [result],
                "targets": [],
            }
            print(markdown(suite))
            printProfile(statsPath)
            return
        suite = runSuite(scenarios, workDir, options.clients, keep=options.keep)
    finally:
        if options.keep:
            print(f"server logs and databases kept in {workDir}", file=sys.stderr)
        else:
            shutil.rmtree(workDir, ignore_errors=True)
    stem = "quick" if options.quick else "full"
    (options.output / f"{stem}.json").write_text(json.dumps(suite, indent=2))
    table = markdown(suite)
    (options.output / f"{stem}.md").write_text(table)
    print(table)
    print(f"written: {options.output / (stem + '.json')}, {options.output / (stem + '.md')}")


if __name__ == "__main__":
    main()
