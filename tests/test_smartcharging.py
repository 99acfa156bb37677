"""
Tests for the SmartCharging profile (L{kcsms.profiles.smartcharging}) and
its API (L{kcsms.api.smartcharging}): every OCTT smart-charging case with a
simulated station in memory on a fake clock, the mirror, the API over real
HTTP, and a real twistd process restarted with profiles installed.
"""

import json

import pytest
import pytest_twisted
from openapi_spec_validator import validate
from twisted.internet.defer import ensureDeferred

from kcsms.schedule import ProfileRuleError
from kcsms.testing import MemoryCentralSystem, resultOf
from tests.clients import Station, http
from tests.test_api import BOOT, Live, startLive
from tests.test_twistd import Kcsms

T0 = "2026-11-28T10:00:00.000Z"
ENABLED = "[profiles]\nenabled = Core, SmartCharging\n"


def chargingProfile(
    chargingProfileId=1,
    purpose="TxDefaultProfile",
    stackLevel=0,
    limit=6.0,
    kind="Absolute",
    unit="A",
    **fields,
):
    """
    A ChargingProfile; Absolute ones start at L{T0}.
    """
    schedule = {
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        **fields.pop("schedule", {}),
    }
    if kind != "Relative":
        schedule.setdefault("startSchedule", T0)
    return {
        "chargingProfileId": chargingProfileId,
        "stackLevel": stackLevel,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": schedule,
        **fields,
    }


class Site:
    """
    A central system with SmartCharging and a booted station CP001, at L{T0}.
    """

    def __init__(self, config=ENABLED):
        self.centralSystem = MemoryCentralSystem(config)
        self.centralSystem.advance(1795860000)
        self.service = self.centralSystem.service
        self.store = self.centralSystem.store
        self.station = self.centralSystem.connect("CP001")
        self.station.callResult("BootNotification", BOOT)

    @property
    def profile(self):
        [profile] = [p for p in self.service.profiles if p.name == "SmartCharging"]
        return profile

    def answered(self, work, answer):
        """
        Run C{work} (a coroutine that calls the station once), the station
        answering C{answer}.

        @return: its result, and the CALL the station got.
        """
        d = ensureDeferred(work)
        [call] = self.station.calls()
        self.station.answer(call, answer)
        return resultOf(d), call

    def set(self, connectorId, profile, status="Accepted"):
        return self.answered(
            self.profile.setChargingProfile("CP001", connectorId, profile), {"status": status}
        )

    def clear(self, request, status="Accepted"):
        return self.answered(
            self.profile.clearChargingProfile("CP001", request), {"status": status}
        )

    def raw(self, action, payload, answer):
        """
        Call as the calls route does, the station answering C{answer}.
        """
        d = self.service.call("CP001", action, payload)
        [call] = self.station.calls()
        self.station.answer(call, answer)
        return resultOf(d)

    def start(self, connectorId=1, idTag="TAG1"):
        request = {"connectorId": connectorId, "idTag": idTag, "meterStart": 0, "timestamp": T0}
        return self.station.callResult("StartTransaction", request)["transactionId"]

    def stop(self, transactionId):
        self.station.callResult(
            "StopTransaction", {"transactionId": transactionId, "meterStop": 10, "timestamp": T0}
        )

    def mirror(self, connectorId=None):
        """
        The mirror as C{(connectorId, chargingProfileId, transactionId)}.
        """
        return [
            (p.connectorId, p.chargingProfileId, p.transactionId)
            for p in resultOf(self.store.listChargingProfiles("CP001", connectorId))
        ]


# The OCTT cases, with a simulated station


def test_tc056TxDefaultProfileIsSentAsGiven():
    """
    TC_056: a TxDefaultProfile, Absolute, with validFrom, validTo and
    startSchedule, limit 6.0 A, goes out as given (the limit as 6.0, no
    transactionId, no recurrencyKind) and is mirrored once Accepted.
    """
    site = Site()
    profile = chargingProfile(
        7,
        stackLevel=2,
        validFrom=T0,
        validTo="2026-11-29T10:00:00.000Z",
        schedule={"duration": 3600},
    )
    (status, sent), call = site.set(1, profile)
    assert status == "Accepted"
    assert call[2:] == ["SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}]
    assert sent == profile
    frame = json.dumps(call[3])
    assert (
        '"limit": 6.0' in frame and "transactionId" not in frame and "recurrencyKind" not in frame
    )
    assert site.mirror() == [(1, 7, None)]


@pytest.mark.parametrize("status", ["Rejected", "NotSupported"])
def test_refusedProfileIsNotMirrored(status):
    """
    Only Accepted changes the mirror.
    """
    site = Site()
    (answer, _), _ = site.set(1, chargingProfile())
    assert answer == "Accepted"
    (answer, _), _ = site.set(1, chargingProfile(2, stackLevel=1), status)
    assert answer == status
    assert site.mirror() == [(1, 1, None)]


def test_tc057TxProfileGetsTheRunningTransaction():
    """
    TC_057: a TxProfile on a charging connector gets the running
    transaction's id filled in; it is mirrored with it and dropped when the
    transaction stops.
    """
    site = Site()
    transactionId = site.start()
    profile = chargingProfile(3, "TxProfile", kind="Relative")
    (_, sent), call = site.set(1, profile)
    assert call[3]["csChargingProfiles"] == {**profile, "transactionId": transactionId}
    assert sent["transactionId"] == transactionId
    site.set(0, chargingProfile(4, "ChargePointMaxProfile", limit=32.0))
    assert site.mirror() == [(0, 4, None), (1, 3, transactionId)]
    site.stop(transactionId)
    assert site.mirror() == [(0, 4, None)]


def test_txProfileNeedsARunningTransaction():
    """
    Without a running transaction a TxProfile breaks a rule: nothing is sent.
    """
    site = Site()
    d = ensureDeferred(
        site.profile.setChargingProfile("CP001", 1, chargingProfile(purpose="TxProfile"))
    )
    assert resultOf(d).check(ProfileRuleError)
    assert site.station.calls() == []


def test_tc059RemoteStartWithTxProfile():
    """
    TC_059: RemoteStartTransaction with a Relative TxProfile without
    transactionId; accepted, it awaits its transaction, joins it when the
    transaction starts and goes when it stops.
    """
    site = Site()
    request = {
        "connectorId": 1,
        "idTag": "TAG1",
        "chargingProfile": chargingProfile(9, "TxProfile", kind="Relative", limit=16.0),
    }
    status, call = site.answered(site.profile.remoteStart("CP001", request), {"status": "Accepted"})
    assert (status, call[2:]) == ("Accepted", ["RemoteStartTransaction", request])
    assert site.mirror() == [(1, 9, None)]
    site.station.callResult("Authorize", {"idTag": "TAG1"})
    transactionId = site.start()
    assert site.mirror() == [(1, 9, transactionId)]
    composite = resultOf(ensureDeferred(site.profile.composite("CP001", 1, 60, "A")))
    assert [(p.startPeriod, p.limit) for p in composite.periods] == [(0, 16.0)]
    site.stop(transactionId)
    assert site.mirror() == []


def test_remoteStartWithoutConnectorJoinsTheConnectorItStartsOn():
    """
    A RemoteStartTransaction that names no connector keeps its profile on
    connector 0 until the transaction starts on a connector; a rejected one
    keeps nothing.
    """
    site = Site()
    request = {"idTag": "TAG1", "chargingProfile": chargingProfile(9, "TxProfile", kind="Relative")}
    site.answered(
        site.profile.remoteStart("CP001", {**request, "idTag": "T2"}), {"status": "Rejected"}
    )
    assert site.mirror() == []
    site.answered(site.profile.remoteStart("CP001", request), {"status": "Accepted"})
    assert site.mirror() == [(0, 9, None)]
    transactionId = site.start(connectorId=2)
    assert site.mirror() == [(2, 9, transactionId)]


def test_remoteStartProfileBreakingARuleIsNotSent():
    """
    A RemoteStartTransaction profile must be a TxProfile without transactionId.
    """
    site = Site()
    for profile in (chargingProfile(), chargingProfile(purpose="TxProfile", transactionId=1)):
        d = ensureDeferred(
            site.profile.remoteStart("CP001", {"idTag": "T", "chargingProfile": profile})
        )
        assert resultOf(d).check(ProfileRuleError)
    assert site.station.calls() == []


def test_tc066StationCompositeThroughTheCallsRoute():
    """
    TC_066: GetCompositeSchedule goes out with the connector, duration and
    unit given; the station's hard-coded answer comes back as it is.
    """
    site = Site()
    answer = {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": T0,
        "chargingSchedule": {
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6000.0}],
        },
    }
    payload = {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"}
    assert site.raw("GetCompositeSchedule", payload, answer) == answer


def test_tc067ClearByIdCriteriaAndAll():
    """
    TC_067 (2024-04): three TxDefaultProfiles at stack levels L, L+1, L+2;
    clearing by id, by criteria (connector, purpose, L+1) and all leaves the
    mirror as the station.
    """
    site = Site()
    for offset in range(3):
        site.set(1, chargingProfile(10 + offset, stackLevel=4 + offset))
    (status, cleared), call = site.clear({"id": 10})
    assert (status, [p.chargingProfileId for p in cleared]) == ("Accepted", [10])
    assert call[3] == {"id": 10}
    assert site.mirror() == [(1, 11, None), (1, 12, None)]
    criteria = {"connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 5}
    (_, cleared), call = site.clear(criteria)
    assert call[3] == criteria
    assert [p.chargingProfileId for p in cleared] == [11]
    (_, cleared), call = site.clear({})
    assert call[3] == {}
    assert [p.chargingProfileId for p in cleared] == [12]
    assert site.mirror() == []


def test_tc067ThreePurposesSameStackLevel():
    """
    TC_067 (2025): a ChargePointMaxProfile on connector 0, a TxDefaultProfile
    and a TxProfile on a charging connector, at the same stack level;
    clear profile 1 by id, then by criteria the TxDefaultProfile, then all.
    """
    site = Site()
    transactionId = site.start()
    site.set(0, chargingProfile(1, "ChargePointMaxProfile", stackLevel=3, limit=32.0))
    site.set(1, chargingProfile(2, stackLevel=3))
    site.set(1, chargingProfile(3, "TxProfile", stackLevel=3, kind="Relative"))
    assert site.mirror() == [(0, 1, None), (1, 2, None), (1, 3, transactionId)]
    site.clear({"id": 1})
    assert site.mirror() == [(1, 2, None), (1, 3, transactionId)]
    site.clear({"connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 3})
    assert site.mirror() == [(1, 3, transactionId)]
    site.clear({})
    assert site.mirror() == []


def test_unknownClearLeavesTheMirror():
    """
    A ClearChargingProfile answered Unknown clears nothing.
    """
    site = Site()
    site.set(1, chargingProfile(1))
    (status, cleared), _ = site.clear({"id": 1}, "Unknown")
    assert (status, cleared) == ("Unknown", [])
    assert site.mirror() == [(1, 1, None)]


def test_rawCallsUpdateTheMirror():
    """
    SetChargingProfile, ClearChargingProfile and RemoteStartTransaction sent
    as given (the calls route) update the mirror: replacement by id and by
    purpose and stack level, a raw TxProfile joining the running transaction.
    """
    site = Site()
    setProfile = {"connectorId": 1, "csChargingProfiles": chargingProfile(1)}
    site.raw("SetChargingProfile", setProfile, {"status": "Accepted"})
    sameLevel = {"connectorId": 1, "csChargingProfiles": chargingProfile(2)}
    site.raw("SetChargingProfile", sameLevel, {"status": "Accepted"})
    assert site.mirror() == [(1, 2, None)]
    moved = {"connectorId": 0, "csChargingProfiles": chargingProfile(2)}
    site.raw("SetChargingProfile", moved, {"status": "Accepted"})
    assert site.mirror() == [(0, 2, None)]
    transactionId = site.start()
    txProfile = {
        "connectorId": 1,
        "csChargingProfiles": chargingProfile(5, "TxProfile", kind="Relative"),
    }
    site.raw("SetChargingProfile", txProfile, {"status": "Accepted"})
    assert site.mirror(1) == [(1, 5, transactionId)]
    site.raw(
        "ClearChargingProfile", {"chargingProfilePurpose": "TxProfile"}, {"status": "Accepted"}
    )
    assert site.mirror() == [(0, 2, None)]
    site.raw(
        "RemoteStartTransaction",
        {
            "idTag": "T",
            "connectorId": 2,
            "chargingProfile": chargingProfile(6, "TxProfile", kind="Relative"),
        },
        {"status": "Accepted"},
    )
    assert site.mirror(2) == [(2, 6, None)]


def test_disabledSmartCharging():
    """
    Without the profile its actions are refused and there is no mirror work.
    """
    site = Site("[profiles]\nenabled = Core\n")
    failure = resultOf(site.service.call("CP001", "ClearChargingProfile", {}))
    assert failure.value.__class__.__name__ == "ProfileDisabled"
    assert [p.name for p in site.service.profiles] == ["Core"]


# The worked example of the README

SITE_CAP = {
    "connectorId": 0,
    "csChargingProfiles": {
        "chargingProfileId": 100,
        "stackLevel": 0,
        "chargingProfilePurpose": "ChargePointMaxProfile",
        "chargingProfileKind": "Recurring",
        "recurrencyKind": "Daily",
        "chargingSchedule": {
            "startSchedule": "2026-01-01T00:00:00.000Z",
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 22080.0},
                {"startPeriod": 61200, "limit": 11040.0},
                {"startPeriod": 79200, "limit": 22080.0},
            ],
        },
    },
}
SESSION = {
    "connectorId": 1,
    "csChargingProfiles": {
        "chargingProfileId": 200,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "duration": 7200,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 32.0},
                {"startPeriod": 3600, "limit": 20.0},
            ],
        },
    },
}
WORKED_COMPOSITE = {
    "status": "Accepted",
    "connectorId": 1,
    "scheduleStart": "2026-11-28T16:00:00.000Z",
    "chargingSchedule": {
        "duration": 10800,
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 32.0, "numberPhases": 3},
            {"startPeriod": 1800, "limit": 20.0, "numberPhases": 3},
            {"startPeriod": 3600, "limit": 16.0, "numberPhases": 3},
        ],
    },
}


def test_readmeWorkedExample():
    """
    The README's example: a daily site cap of 22 kW, 11 kW from 17:00 to
    22:00, and a transaction's profile of 32 A then 20 A for two hours; at
    16:00, half an hour into the transaction, the composite of the next three
    hours.
    """
    site = Site()
    site.centralSystem.advance(6 * 3600)
    site.set(SITE_CAP["connectorId"], SITE_CAP["csChargingProfiles"])
    transactionId = site.station.callResult(
        "StartTransaction",
        {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": "2026-11-28T15:30:00Z"},
    )["transactionId"]
    (_, sent), _ = site.set(SESSION["connectorId"], SESSION["csChargingProfiles"])
    assert sent["transactionId"] == transactionId
    composite = resultOf(ensureDeferred(site.profile.composite("CP001", 1, 10800, "A")))
    assert composite.toJson() == WORKED_COMPOSITE
    station = resultOf(ensureDeferred(site.profile.composite("CP001", 0, 10800, "W")))
    assert [(p.startPeriod, p.limit) for p in station.periods] == [(0, 22080.0), (3600, 11040.0)]


# The API, over real HTTP


@pytest_twisted.async_yield_fixture
async def live():
    service = await startLive(profiles="Core, SmartCharging")
    yield Live(service)
    await service.stopService()


async def answering(live, station, method, path, answer, body=None):
    """
    Make a request that calls the station once, the station answering C{answer}.

    @return: the CALL and the API's C{(status, body)}.
    """
    pending = live.request(method, path, body)
    call = await station.nextCall()
    station.answer(call, answer)
    return call, await pending


@pytest_twisted.ensureDeferred
async def test_apiProfilesLifecycle(live):
    """
    POST installs (the transactionId filled in), GET lists the mirror,
    DELETE by id and by criteria clear and say what went.
    """
    station = await live.station()
    start = await station.call(
        "StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": T0}
    )
    path = "/chargepoints/CP001/chargingprofiles"
    txProfile = chargingProfile(3, "TxProfile", kind="Relative")
    call, (status, body) = await answering(
        live,
        station,
        "POST",
        path,
        {"status": "Accepted"},
        {"connectorId": 1, "csChargingProfiles": txProfile},
    )
    assert status == 200
    assert body == {
        "status": "Accepted",
        "connectorId": 1,
        "csChargingProfiles": {**txProfile, "transactionId": start["transactionId"]},
    }
    assert call[3] == {"connectorId": 1, "csChargingProfiles": body["csChargingProfiles"]}
    await answering(
        live,
        station,
        "POST",
        path,
        {"status": "Accepted"},
        {"connectorId": 0, "csChargingProfiles": chargingProfile(4)},
    )
    status, listed = await live.request("GET", path)
    assert status == 200
    assert [
        (p["connectorId"], p["transactionId"], p["csChargingProfiles"]["chargingProfileId"])
        for p in listed
    ] == [
        (0, None, 4),
        (1, start["transactionId"], 3),
    ]
    assert [p["connectorId"] for p in (await live.request("GET", path + "?connectorId=1"))[1]] == [
        1
    ]
    call, (status, body) = await answering(
        live, station, "DELETE", path + "/4", {"status": "Accepted"}
    )
    assert call[2:] == ["ClearChargingProfile", {"id": 4}]
    assert (status, body["status"], [p["connectorId"] for p in body["cleared"]]) == (
        200,
        "Accepted",
        [0],
    )
    call, (status, body) = await answering(
        live,
        station,
        "DELETE",
        path + "?connectorId=1&purpose=TxProfile&stackLevel=0",
        {"status": "Accepted"},
    )
    assert call[3] == {"connectorId": 1, "chargingProfilePurpose": "TxProfile", "stackLevel": 0}
    assert len(body["cleared"]) == 1
    call, (status, body) = await answering(live, station, "DELETE", path, {"status": "Unknown"})
    assert (call[3], body) == ({}, {"status": "Unknown", "cleared": []})
    assert await live.request("GET", path) == (200, [])


@pytest_twisted.ensureDeferred
async def test_apiCompositeFromKcsmsStationAndBoth(live):
    """
    The composite computed by kcsms, the station's own, and both with where
    they differ (on kcsms's time line, in its unit).
    """
    station = await live.station()
    path = "/chargepoints/CP001/chargingprofiles"
    profile = chargingProfile(1, limit=16.0, schedule={"startSchedule": "2020-01-01T00:00:00Z"})
    await answering(
        live,
        station,
        "POST",
        path,
        {"status": "Accepted"},
        {"connectorId": 1, "csChargingProfiles": profile},
    )
    query = "/chargepoints/CP001/compositeschedule?connectorId=1&duration=600"
    status, ours = await live.request("GET", query)
    assert status == 200
    assert ours["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16.0, "numberPhases": 3}
    ]
    assert ours["chargingSchedule"]["chargingRateUnit"] == "A"
    reported = {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": ours["scheduleStart"],
        "chargingSchedule": {
            "duration": 1200,
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 11040.0},
                {"startPeriod": 300, "limit": 6900.0},
            ],
        },
    }
    call, (status, body) = await answering(
        live, station, "GET", query + "&source=station&chargingRateUnit=W", reported
    )
    assert call[3] == {"connectorId": 1, "duration": 600, "chargingRateUnit": "W"}
    assert (status, body) == (200, reported)
    call, (status, both) = await answering(live, station, "GET", query + "&source=both", reported)
    assert call[3] == {"connectorId": 1, "duration": 600}
    assert both["station"] == reported
    assert both["kcsms"]["chargingSchedule"]["chargingRateUnit"] == "W"
    assert both["same"] is False
    [difference] = both["differences"]
    assert (difference["kcsms"], difference["station"], difference["endPeriod"]) == (
        11040.0,
        6900.0,
        600,
    )
    assert 295 <= difference["startPeriod"] <= 300
    _, (_, rejected) = await answering(
        live, station, "GET", query + "&source=both", {"status": "Rejected"}
    )
    assert (rejected["same"], rejected["differences"]) == (False, None)


RECURRING_WITHOUT_START = {
    **chargingProfile(kind="Recurring", recurrencyKind="Daily"),
    "chargingSchedule": {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0}],
    },
}


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"connectorId": 1}, 400, "missing field 'csChargingProfiles'"),
        ({"connectorId": -1, "csChargingProfiles": {}}, 400, "connectorId must be a whole number"),
        ({"connectorId": "1", "csChargingProfiles": {}}, 400, "connectorId must be a whole number"),
        ({"connectorId": 1, "csChargingProfiles": []}, 400, "csChargingProfiles must be an object"),
        ({"connectorId": 1, "csChargingProfiles": {}, "x": 1}, 400, "unknown field 'x'"),
        (
            {"connectorId": 1, "csChargingProfiles": {"stackLevel": "high"}},
            400,
            "SetChargingProfile",
        ),
        (
            {
                "connectorId": 1,
                "csChargingProfiles": chargingProfile(purpose="ChargePointMaxProfile"),
            },
            422,
            "ChargePointMaxProfile only on connector 0",
        ),
        (
            {"connectorId": 1, "csChargingProfiles": chargingProfile(purpose="TxProfile")},
            422,
            "TxProfile only on a connector with a running transaction",
        ),
        (
            {
                "connectorId": 1,
                "csChargingProfiles": chargingProfile(schedule={"startSchedule": None}),
            },
            400,
            "startSchedule",
        ),
        (
            {"connectorId": 1, "csChargingProfiles": RECURRING_WITHOUT_START},
            422,
            "Recurring needs chargingSchedule.startSchedule",
        ),
        (
            {"connectorId": 1, "csChargingProfiles": chargingProfile(recurrencyKind="Daily")},
            422,
            "recurrencyKind only with Recurring",
        ),
        (
            {"connectorId": 1, "csChargingProfiles": chargingProfile(limit=6.05)},
            422,
            "limit is a multiple of 0.1",
        ),
        (
            {"connectorId": 1, "csChargingProfiles": chargingProfile(stackLevel=-1)},
            422,
            "stackLevel must be 0 or more",
        ),
        (
            {
                "connectorId": 1,
                "csChargingProfiles": chargingProfile(validFrom="2026-11-29T00:00:00Z", validTo=T0),
            },
            422,
            "validFrom must be before validTo",
        ),
    ],
)
@pytest_twisted.ensureDeferred
async def test_apiBadProfiles(live, body, status, message):
    """
    A bad body is 400; a profile breaking an OCPP rule is 422 naming it;
    either way nothing is sent or mirrored.
    """
    await live.station()
    answerStatus, answer = await live.request("POST", "/chargepoints/CP001/chargingprofiles", body)
    assert answerStatus == status, answer
    assert message in answer["message"]
    if status == 422:
        assert (answer["error"], answer["rule"][: len(message)]) == ("RuleViolation", message)
    assert await live.request("GET", "/chargepoints/CP001/chargingprofiles") == (200, [])


@pytest.mark.parametrize(
    "query, message",
    [
        ("duration=60", "connectorId and duration are required"),
        ("connectorId=1", "connectorId and duration are required"),
        ("connectorId=-1&duration=60", "connectorId must be a whole number, 0 or more"),
        ("connectorId=1&duration=0", "duration must be a whole number, 1 or more"),
        ("connectorId=1&duration=x", "duration must be a whole number, 1 or more"),
        ("connectorId=1&duration=60&chargingRateUnit=kW", "chargingRateUnit must be one of A, W"),
        ("connectorId=1&duration=60&source=guess", "source must be one of kcsms, station, both"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_apiBadCompositeQueries(live, query, message):
    """
    Each bad query is a 400 naming the problem.
    """
    status, answer = await live.request("GET", f"/chargepoints/CP001/compositeschedule?{query}")
    assert (status, answer["message"]) == (400, message)


@pytest_twisted.ensureDeferred
async def test_apiOtherErrors(live):
    """
    Bad criteria and ids are 400; an unknown station 404; a station not
    connected 409; a CALLERROR 502; bad RemoteStart bodies 400 or 422.
    """
    path = "/chargepoints/CP001/chargingprofiles"
    for query in ("?connectorId=a", "?purpose=Max", "?stackLevel=-2"):
        assert (await live.request("DELETE", path + query))[0] == 400
    assert (await live.request("DELETE", path + "/abc"))[0] == 400
    assert (await live.request("GET", path + "?connectorId=x"))[0] == 400
    for method, route in (
        ("GET", path),
        ("GET", "/chargepoints/CP001/compositeschedule?connectorId=1&duration=5"),
    ):
        status, answer = await live.request(method, route)
        assert (status, answer["error"]) == (404, "NotFound")
    status, answer = await live.request("DELETE", path + "/1")
    assert (status, answer["error"]) == (404, "UnknownChargePoint")
    await live.request("PUT", "/chargepoints/CP001", {"registration": "Accepted"})
    status, answer = await live.request("DELETE", path)
    assert (status, answer["error"]) == (409, "NotConnected")
    station = await live.station()
    pending = live.request(
        "POST", path, {"connectorId": 1, "csChargingProfiles": chargingProfile()}
    )
    call = await station.nextCall()
    station.send([4, call[1], "NotSupported", "no smart charging", {}])
    status, answer = await pending
    assert (status, answer["errorCode"]) == (502, "NotSupported")
    start = "/chargepoints/CP001/remotestart"
    for body, expected in (
        ({}, 400),
        ({"idTag": "T", "connectorId": 0}, 400),
        ({"idTag": "T", "chargingProfile": "x"}, 400),
        ({"idTag": "T", "chargingProfile": chargingProfile()}, 422),
    ):
        assert (await live.request("POST", start, body))[0] == expected
    assert await live.request("GET", path) == (200, [])


@pytest_twisted.ensureDeferred
async def test_apiRemoteStart(live):
    """
    TC_059 through the API: the RemoteStartTransaction goes out as given and
    its profile is mirrored once accepted.
    """
    station = await live.station()
    body = {
        "idTag": "TAG1",
        "connectorId": 1,
        "chargingProfile": chargingProfile(8, "TxProfile", kind="Relative"),
    }
    call, (status, answer) = await answering(
        live, station, "POST", "/chargepoints/CP001/remotestart", {"status": "Accepted"}, body
    )
    assert (call[2:], status, answer) == (
        ["RemoteStartTransaction", body],
        200,
        {"status": "Accepted"},
    )
    [installed] = (await live.request("GET", "/chargepoints/CP001/chargingprofiles"))[1]
    assert (installed["connectorId"], installed["transactionId"]) == (1, None)


@pytest_twisted.ensureDeferred
async def test_openApiDocumentsSmartCharging(live):
    """
    The OpenAPI document has the smart-charging routes and stays valid.
    """
    status, document = await live.request("GET", "/openapi.json")
    validate(document)
    paths = document["paths"]
    assert set(paths["/api/v1/chargepoints/{chargePointId}/chargingprofiles"]) == {
        "get",
        "post",
        "delete",
    }
    assert set(
        paths["/api/v1/chargepoints/{chargePointId}/chargingprofiles/{chargingProfileId}"]
    ) == {"delete"}
    assert set(paths["/api/v1/chargepoints/{chargePointId}/compositeschedule"]) == {"get"}
    assert set(paths["/api/v1/chargepoints/{chargePointId}/remotestart"]) == {"post"}


@pytest_twisted.ensureDeferred
async def test_apiWithSmartChargingDisabled():
    """
    Without the profile its routes and its actions are 403.
    """
    service = await startLive()
    try:
        live = Live(service)
        await live.station()
        status, answer = await live.request(
            "POST", "/chargepoints/CP001/calls/ClearChargingProfile", {}
        )
        assert (status, answer["error"]) == (403, "ProfileDisabled")
        status, answer = await live.request("GET", "/chargepoints/CP001/chargingprofiles")
        assert (status, answer["error"]) == (403, "ProfileDisabled")
    finally:
        await service.stopService()


# A real process


@pytest_twisted.ensureDeferred
async def test_mirrorSurvivesRestart(tmp_path):
    """
    With the shipped profiles (SmartCharging among them), a profile installed
    through the API of a real twistd is still mirrored, and in the composite,
    after a restart.
    """
    server = Kcsms(tmp_path, "")
    base = f"http://127.0.0.1:{server.apiPort}/api/v1/chargepoints/CP001"
    server.run()
    try:
        station = await Station(server.port, "CP001").connect()
        await station.call("BootNotification", BOOT)
        body = {
            "connectorId": 0,
            "csChargingProfiles": chargingProfile(5, "ChargePointMaxProfile", limit=40.0),
        }
        pending = ensureDeferred(http("POST", base + "/chargingprofiles", body))
        station.answer(await station.nextCall(), {"status": "Accepted"})
        assert (await pending)[1]["status"] == "Accepted"
        await station.close()
        server.stop()
        server.run()
        status, listed = await http("GET", base + "/chargingprofiles")
        assert (status, [p["csChargingProfiles"] for p in listed]) == (
            200,
            [body["csChargingProfiles"]],
        )
        status, composite = await http("GET", base + "/compositeschedule?connectorId=0&duration=60")
        assert composite["chargingSchedule"]["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 40.0, "numberPhases": 3}
        ]
    finally:
        server.stop()
