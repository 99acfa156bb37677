"""
The load generator of C{bench/} against real processes, briefly, so that it
cannot silently rot: a few simulated stations drive the session mix against
C{twistd kcsms} and heartbeats against the bare responder, and what they
report is checked against the answers and the database.
"""

import pytest

from bench.run import Scenario, runScenario


@pytest.mark.parametrize("interval", [None, 0.05])
def test_sessionMixIsAnsweredAndStored(tmp_path, interval):
    """
    Six stations boot from cold, run charging sessions for a second in a
    closed loop or at a fixed rate, and every action is answered without
    errors; every StartTransaction, MeterValues and StopTransaction they saw
    acknowledged is in kcsms's database, and kcsms stops cleanly.
    """
    scenario = Scenario("session", "kcsms", 6, "session", interval, 1.0)
    result = runScenario(scenario, tmp_path, clients=2)

    assert result["storm"]["booted"] == 6
    assert result["storm"]["failed"] == 0
    load = result["load"]
    assert load["errors"] == {"callErrors": {}, "timeouts": {}, "dropped": 0, "lateAnswers": 0}
    assert {"Authorize", "StatusNotification", "StartTransaction", "MeterValues"} <= set(
        load["actions"]
    )
    assert load["answered"] == sum(a["count"] for a in load["actions"].values())
    assert 0 < load["all"]["p50"] <= load["all"]["p99"] <= load["all"]["max"]
    assert load["serverCpuPerCallUs"] > 0
    assert result["memory"]["rssMB"] > 0
    database = result["database"]
    assert database["ackedStarts"] >= 6
    assert database["distinctTransactionIds"] == database["ackedStarts"]
    assert database["ackedMeterSamples"] > 0
    assert database["missingStarts"] == 0
    assert database["missingStops"] == 0
    assert database["missingMeterSamples"] == 0
    assert database["missingStatusNotifications"] == 0
    assert database["storedMeterSamples"] >= database["ackedMeterSamples"]
    assert result["serverExitStatus"] in (0, -15)


def test_bareResponderAnswersHeartbeats(tmp_path):
    """
    The baseline server boots stations and answers their Heartbeats.
    """
    result = runScenario(Scenario("bare", "bare", 4, "heartbeat", None, 0.5), tmp_path)

    assert result["storm"]["booted"] == 4
    assert result["load"]["actions"]["Heartbeat"]["count"] > 4
    assert sum(result["load"]["errors"]["callErrors"].values()) == 0
    assert [client["stations"] for client in result["clients"]] == [2, 2]
