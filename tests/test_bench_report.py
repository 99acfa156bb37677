"""
The benchmark's verdicts on the issue's targets (L{bench.report}): a run
that answered nothing or failed must never read as a pass.
"""

from bench.report import judgeTargets, markdown


def heartbeatResult(name, server, cpuPerCall, answered=200_000, errors=None, booted=1000):
    """
    The figures of a heartbeat scenario of 1,000 stations, as L{bench.run} reports them.
    """
    return {
        "name": name,
        "server": server,
        "stations": 1000,
        "engine": "sqlite",
        "mode": "closed loop",
        "profiled": False,
        "storm": {
            "seconds": 0.8 if booted else None,
            "booted": booted,
            "failed": 1000 - booted,
            "connectFailures": {},
            "bootCallErrors": {},
        },
        "load": {
            "answered": answered,
            "messagesPerSecond": answered / 20,
            "serverCpuPerCallUs": cpuPerCall,
            "reactorCpuPerCallUs": cpuPerCall,
            "serverCpuUtilisation": 1.0,
            "all": {"count": answered, "p50": 80.0, "p95": 90.0, "p99": 100.0, "max": 120.0}
            if answered
            else {"count": 0},
            "actions": {},
            "errors": {
                "callErrors": {},
                "timeouts": errors or {},
                "dropped": 0,
                "lateAnswers": 0,
            },
        },
        "memory": {"rssMB": 80.0, "peakRssMB": 80.0},
        "clients": [{"utilisation": 0.2}, {"utilisation": 0.2}],
    }


def suite(results):
    return {
        "machine": {
            "nproc": 2,
            "cpuModel": "test",
            "python": "3",
            "twisted": "t",
            "autobahn": "a",
            "kcsmsCommit": "c",
        },
        "clients": 2,
        "results": results,
        "targets": judgeTargets(results),
    }


def test_heartbeatRatio():
    """
    kcsms's CPU per heartbeat is judged against the bare responder's.
    """
    bare = heartbeatResult("heartbeat-bare", "bare", 64.0)
    [within] = judgeTargets([bare, heartbeatResult("heartbeat", "kcsms", 90.0)])
    [beyond] = judgeTargets([bare, heartbeatResult("heartbeat", "kcsms", 100.0)])

    assert (within["passed"], within["measured"]) == (True, "90 us vs 64 us = 1.41x")
    assert (beyond["passed"], beyond["measured"]) == (False, "100 us vs 64 us = 1.56x")


def test_failedHeartbeatRunIsAMiss():
    """
    A kcsms that answered nothing (0 us per CALL) is a miss, not a ratio of 0.
    """
    failed = heartbeatResult(
        "heartbeat", "kcsms", 0.0, answered=0, errors={"Heartbeat": 1000}, booted=0
    )
    bare = heartbeatResult("heartbeat-bare", "bare", 64.0)
    [verdict] = judgeTargets([bare, failed])

    assert verdict["passed"] is False
    assert verdict["measured"] == "heartbeat: 0 answered, 2000 errors"
    assert "| heartbeat | kcsms (SQLite) | 1,000 | closed loop | 0 |" in markdown(
        suite([bare, failed])
    )


def test_stormThatDidNotBootIsAMiss():
    """
    A storm in which no station booted has no duration and is a miss.
    """
    storm = heartbeatResult("storm", "kcsms", 0.0, answered=0, booted=0)
    verdicts = {v["target"]: v for v in judgeTargets([storm])}
    verdict = verdicts["cold storm of 1000: all booted within 30 s, none refused"]

    assert verdict["passed"] is False
    assert verdict["measured"] == "- s, 0 booted, 1000 refused/failed"
    assert markdown(suite([storm])).splitlines()[4].endswith("| 80 (80) | - |")


def test_clientSendLagIsReportedForAnOfferedRate():
    """
    At an offered rate, how late the clients sent their CALLs is reported,
    so that a reader can tell the client's delays from the server's; a
    closed loop (no schedule) reports none.
    """
    atRate = heartbeatResult("heartbeat", "kcsms", 90.0)
    atRate["load"]["sendLag"] = {"count": 10, "p50": 0.5, "p95": 1.25, "p99": 4.0, "max": 9.5}
    closed = heartbeatResult("heartbeat", "kcsms", 90.0)
    closed["load"]["sendLag"] = {"count": 0}
    assert (
        "Client send lag, heartbeat (how late the clients sent their CALLs against the offered "
        "schedule; part of every latency above): p50 0.5 ms, p95 1.2 ms, p99 4.0 ms, max 9.5 ms."
    ) in markdown(suite([atRate]))
    assert "Client send lag" not in markdown(suite([closed]))
