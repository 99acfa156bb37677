"""
The load generator of C{bench/} against real processes, briefly, so that it
cannot silently rot: a few simulated stations drive the session mix against
C{twistd kcsms} (on SQLite and on PostgreSQL) and heartbeats against the bare
responder, and what they report is checked against the answers and the
database.
"""

import psycopg2
import pytest

from bench.run import Scenario, runScenario


def assertSessionMixAnsweredAndStored(result, stations):
    """
    Assert that C{stations} stations booted and ran the session mix without
    errors, that everything they saw acknowledged is in the database, and
    that kcsms stopped cleanly.
    """
    assert result["storm"]["booted"] == stations
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
    assert database["ackedStarts"] >= stations
    assert database["distinctTransactionIds"] == database["ackedStarts"]
    assert database["ackedMeterSamples"] > 0
    assert database["missingStarts"] == 0
    assert database["missingStops"] == 0
    assert database["missingMeterSamples"] == 0
    assert database["missingStatusNotifications"] == 0
    assert database["storedMeterSamples"] >= database["ackedMeterSamples"]
    assert result["serverExitStatus"] in (0, -15)


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

    assertSessionMixAnsweredAndStored(result, 6)
    assert "databaseCpuSeconds" not in result["load"]


def benchSchemas(url):
    """
    @return: the names of the benchmark's schemas in the database at C{url}.
    """
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT schema_name FROM information_schema.schemata"
                " WHERE schema_name LIKE 'kcsms\\_bench\\_%'"
            )
            return {name for (name,) in cursor.fetchall()}
    finally:
        connection.close()


def test_sessionMixOnPostgres(tmp_path, postgresDatabase, monkeypatch):
    """
    The session mix against kcsms on a PostgreSQL schema of its own: every
    action is answered and stored, the database server's CPU time is
    reported, and the schema is dropped afterwards.
    """
    monkeypatch.setenv("KCSMS_BENCH_POSTGRES", postgresDatabase)
    before = benchSchemas(postgresDatabase)
    scenario = Scenario("session-pg", "kcsms", 6, "session", None, 1.0, "postgresql")
    result = runScenario(scenario, tmp_path, clients=2)

    assertSessionMixAnsweredAndStored(result, 6)
    assert result["engine"] == "postgresql"
    assert result["load"]["databaseCpuSeconds"] >= 0
    assert benchSchemas(postgresDatabase) <= before


def test_bareResponderAnswersHeartbeats(tmp_path):
    """
    The baseline server boots stations and answers their Heartbeats.
    """
    result = runScenario(Scenario("bare", "bare", 4, "heartbeat", None, 0.5), tmp_path)

    assert result["storm"]["booted"] == 4
    assert result["load"]["actions"]["Heartbeat"]["count"] > 4
    assert sum(result["load"]["errors"]["callErrors"].values()) == 0
    assert [client["stations"] for client in result["clients"]] == [2, 2]
