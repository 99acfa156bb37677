"""
Figures from raw measurements: percentiles, the machine a run came from, the
issue's targets judged against a suite's results, and the Markdown tables of
C{bench/RESULTS.md}.
"""

import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["latencySummary", "machine", "judgeTargets", "markdown"]

#: Latency target of the session mix at a fixed rate, per action (ms).
P99_TARGET_MS = 20.0

#: The session mix's scenarios per database: at a fixed rate, closed loop,
#: and the closed loop's target (messages per second).
SESSION_TARGETS = (
    ("session-rate", "session-closed", 5000),
    ("session-rate-pg", "session-closed-pg", 4000),
)

#: How the database engines are named in the tables.
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    # Nearest rank.
    index = max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


def latencySummary(seconds: Sequence[float]) -> dict[str, float]:
    """
    @param seconds: latencies in seconds.
    @return: count and p50, p95, p99 and max in milliseconds.
    """
    ordered = sorted(seconds)
    if not ordered:
        return {"count": 0}
    summary: dict[str, float] = {"count": len(ordered)}
    for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        summary[name] = round(_percentile(ordered, fraction) * 1000, 2)
    summary["max"] = round(ordered[-1] * 1000, 2)
    return summary


def machine() -> dict[str, Any]:
    """
    @return: what a reader needs to compare figures between machines.
    """
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    import autobahn

    import twisted

    return {
        "nproc": os.cpu_count(),
        "cpuModel": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "twisted": twisted.__version__,
        "autobahn": autobahn.__version__,
        "kcsmsCommit": commit,
    }


def _errorCount(result: dict[str, Any]) -> int:
    errors = result["load"]["errors"]
    return (
        sum(errors["callErrors"].values())
        + sum(errors["timeouts"].values())
        + errors["dropped"]
        + result["storm"]["failed"]
        + sum(result["storm"]["connectFailures"].values())
        + sum(result["storm"]["bootCallErrors"].values())
    )


def _byName(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {result["name"]: result for result in results}


def _verdict(target: str, measured: str, passed: bool) -> dict[str, Any]:
    return {"target": target, "measured": measured, "passed": passed}


def _heartbeatVerdict(kcsms: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    """
    @return: the verdict on kcsms's CPU per heartbeat against the bare
        responder's; a miss when either answered nothing or had errors.
    """
    target = f"heartbeat {kcsms['stations']} closed loop: CPU/CALL <= 1.5x bare"
    broken = [
        f"{result['name']}: {result['load']['answered']} answered, {_errorCount(result)} errors"
        for result in (kcsms, bare)
        if not result["load"]["answered"] or _errorCount(result)
    ]
    if broken:
        return _verdict(target, "; ".join(broken), False)
    ratio = kcsms["load"]["serverCpuPerCallUs"] / bare["load"]["serverCpuPerCallUs"]
    return _verdict(
        target,
        f"{kcsms['load']['serverCpuPerCallUs']:.0f} us vs "
        f"{bare['load']['serverCpuPerCallUs']:.0f} us = {ratio:.2f}x",
        ratio <= 1.5,
    )


def _sessionRateVerdicts(rate: dict[str, Any]) -> list[dict[str, Any]]:
    """
    @param rate: the figures of the session mix at a fixed rate.
    @return: the verdicts on its latency, its errors and its database.
    """
    engine = ENGINE_NAMES[rate["engine"]]
    prefix = f"session {rate['stations']} at {rate['mode']} on {engine}"
    worst = max(
        (summary["p99"], action)
        for action, summary in rate["load"]["actions"].items()
        if summary["count"]
    )
    errors = _errorCount(rate)
    database = rate["database"]
    missing = sum(v for k, v in database.items() if k.startswith("missing"))
    return [
        _verdict(
            f"{prefix}: p99 <= {P99_TARGET_MS:g} ms per action",
            f"worst p99 {worst[0]:.1f} ms ({worst[1]})",
            worst[0] <= P99_TARGET_MS,
        ),
        _verdict(f"{prefix}: zero errors", str(errors), not errors),
        _verdict(
            f"every acknowledged start, stop, meter value in the {engine} database",
            f"{missing} missing of {database['ackedStarts']} starts, "
            f"{database['ackedStops']} stops, {database['ackedMeterSamples']} samples",
            missing == 0,
        ),
    ]


def _sessionClosedVerdict(closed: dict[str, Any], target: int) -> dict[str, Any]:
    """
    @param closed: the figures of the session mix in a closed loop.
    @param target: the messages per second it must reach.
    """
    load = closed["load"]
    rate = load["messagesPerSecond"]
    clients = ", ".join(f"{c['utilisation']:.0%}" for c in closed["clients"])
    database = (
        f", database server CPU {load['databaseCpuUtilisation']:.0%}"
        if "databaseCpuUtilisation" in load
        else ""
    )
    return _verdict(
        f"session {closed['stations']} closed loop on {ENGINE_NAMES[closed['engine']]}: "
        f">= {target:,} msg/s (or client-bound)",
        f"{rate:,.0f} msg/s; server CPU {load['serverCpuUtilisation']:.0%}{database}, "
        f"clients {clients} of a core",
        rate >= target,
    )


def judgeTargets(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """
    @return: one verdict (C{target}, C{measured}, C{verdict}) per issue
        target whose scenarios were run.
    """
    byName = _byName(results)
    verdicts = []
    kcsms, bare = byName.get("heartbeat"), byName.get("heartbeat-bare")
    if kcsms and bare:
        verdicts.append(_heartbeatVerdict(kcsms, bare))
    for rateName, closedName, target in SESSION_TARGETS:
        if rateName in byName:
            verdicts += _sessionRateVerdicts(byName[rateName])
        if closedName in byName:
            verdicts.append(_sessionClosedVerdict(byName[closedName], target))
    storm = byName.get("storm")
    if storm:
        rss = storm["memory"]["peakRssMB"]
        verdicts.append(
            _verdict(
                f"{storm['stations']} stations connected: RSS <= 400 MB",
                f"{rss:.0f} MB peak",
                rss <= 400,
            )
        )
        seconds = storm["storm"]["seconds"]
        booted = storm["storm"]["booted"]
        refused = sum(storm["storm"]["connectFailures"].values()) + storm["storm"]["failed"]
        verdicts.append(
            _verdict(
                f"cold storm of {storm['stations']}: all booted within 30 s, none refused",
                f"{_seconds(seconds)} s, {booted} booted, {refused} refused/failed",
                booted == storm["stations"] and seconds <= 30 and not refused,
            )
        )
    return verdicts


def _ms(summary: dict[str, float], key: str) -> str:
    return f"{summary[key]:.1f}" if key in summary else "-"


def _seconds(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}"


def _server(result: dict[str, Any]) -> str:
    if result["server"] == "kcsms":
        return f"kcsms ({ENGINE_NAMES[result['engine']]})"
    return str(result["server"])


def markdown(suite: dict[str, Any]) -> str:
    """
    @return: the Markdown tables of a suite's results.
    """
    lines = [
        f"Machine: {suite['machine']['nproc']} cores, {suite['machine']['cpuModel']}, "
        f"Python {suite['machine']['python']}, Twisted {suite['machine']['twisted']}, "
        f"Autobahn {suite['machine']['autobahn']}, kcsms {suite['machine']['kcsmsCommit']}, "
        f"{suite['clients']} client processes."
        + (
            " Server under cProfile (CPU figures inflated)."
            if any(r["profiled"] for r in suite["results"])
            else ""
        ),
        "",
        "| scenario | server | stations | offered | CALLs/s | p50 ms | p95 ms | p99 ms | max ms "
        "| errors | server CPU us/CALL (reactor thread) | server CPU | clients CPU | RSS MB (peak) "
        "| storm s |",
        "|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for result in suite["results"]:
        load, every = result["load"], result["load"]["all"]
        clients = " ".join(f"{c['utilisation']:.0%}" for c in result["clients"])
        lines.append(
            f"| {result['name']} | {_server(result)} | {result['stations']:,} | {result['mode']} "
            f"| {load['messagesPerSecond']:,.0f} | {_ms(every, 'p50')} | {_ms(every, 'p95')} "
            f"| {_ms(every, 'p99')} | {_ms(every, 'max')} | {_errorCount(result)} "
            f"| {load['serverCpuPerCallUs']:.0f} ({load['reactorCpuPerCallUs']:.0f}) "
            f"| {load['serverCpuUtilisation']:.0%} | {clients} "
            f"| {result['memory']['rssMB']:.0f} "
            f"({result['memory']['peakRssMB']:.0f}) | {_seconds(result['storm']['seconds'])} |"
        )
    for result in suite["results"]:
        load, actions = result["load"], result["load"]["actions"]
        if len(actions) >= 2:
            lines += [
                "",
                f"Per action, {result['name']} ({result['stations']:,} stations, {result['mode']}):",
                "",
                "| action | count | p50 ms | p95 ms | p99 ms | max ms |",
                "|---|--:|--:|--:|--:|--:|",
            ]
            for action, summary in sorted(actions.items()):
                lines.append(
                    f"| {action} | {summary['count']:,} | {_ms(summary, 'p50')} "
                    f"| {_ms(summary, 'p95')} | {_ms(summary, 'p99')} | {_ms(summary, 'max')} |"
                )
        sendLag = load.get("sendLag", {})
        if sendLag.get("count"):
            lines += [
                "",
                f"Client send lag, {result['name']} (how late the clients sent their CALLs "
                f"against the offered schedule; part of every latency above): "
                f"p50 {_ms(sendLag, 'p50')} ms, p95 {_ms(sendLag, 'p95')} ms, "
                f"p99 {_ms(sendLag, 'p99')} ms, max {_ms(sendLag, 'max')} ms.",
            ]
        if result.get("database"):
            database = result["database"]
            lines += [
                "",
                "Database check: "
                + ", ".join(f"{key} {value:,}" for key, value in database.items()),
            ]
        if "databaseCpuSeconds" in load:
            lines += [
                "",
                f"Database server CPU, {result['name']} (every postgres process, load phase): "
                f"{load['databaseCpuSeconds']:.1f} s, {load['databaseCpuUtilisation']:.0%} of a "
                f"core, {load['databaseCpuPerCallUs']:.0f} us/CALL; with kcsms's "
                f"{load['serverCpuPerCallUs']:.0f} us/CALL, "
                f"{load['serverCpuPerCallUs'] + load['databaseCpuPerCallUs']:.0f} us/CALL in all.",
            ]
    if suite["targets"]:
        lines += ["", "| target | measured | verdict |", "|---|---|---|"]
        for verdict in suite["targets"]:
            mark = "pass" if verdict["passed"] else "**miss**"
            lines.append(f"| {verdict['target']} | {verdict['measured']} | {mark} |")
    return "\n".join(lines) + "\n"
