"""
Tests for the LocalAuthListManagement profile (L{kcsms.profiles.localauthlist})
and its API (L{kcsms.api.locallists}): a simulated station in memory, and
real HTTP in process.
"""

import pytest
import pytest_twisted
from twisted.internet.defer import ensureDeferred
from twisted.python.failure import Failure

from kcsms.errors import CallErrorReceived
from kcsms.testing import MemoryCentralSystem, resultOf
from tests.test_api import Live, startLive

ACCEPTED = {"status": "Accepted"}
BLOCKED = {"status": "Blocked"}


class Fleet:
    """
    A central system with the profile, a named list, and station CP001 following it.
    """

    def __init__(self, config=""):
        self.centralSystem = MemoryCentralSystem(
            "[profiles]\nenabled = Core, LocalAuthListManagement\n" + config
        )
        [self.profile] = [
            p for p in self.centralSystem.service.profiles if p.name == "LocalAuthListManagement"
        ]
        self.store = self.centralSystem.store
        self.station = self.centralSystem.connect("CP001")
        self.station.callResult(
            "BootNotification", {"chargePointVendor": "A", "chargePointModel": "B"}
        )

    def setList(self, entries, name="fleet"):
        resultOf(self.store.putLocalList(name, entries, self.centralSystem.service.now()))
        resultOf(self.store.assignLocalList("CP001", name))

    def sync(self, *answers):
        """
        Synchronise CP001, answering each SendLocalList in turn.

        @return: the sync's result and the requests the station got.
        """
        d = ensureDeferred(self.profile.sync("CP001"))
        requests = []
        for answer in answers:
            [call] = self.station.calls()
            assert call[2] == "SendLocalList"
            requests.append(call[3])
            if isinstance(answer, str):
                self.station.sendFrame([4, call[1], answer, "", {}])
            else:
                self.station.answer(call, answer)
        assert self.station.calls() == []
        return resultOf(d), requests

    def installed(self):
        return resultOf(self.store.getInstalledLocalList("CP001"))


def test_firstSyncIsFullThenDifferential():
    """
    Nothing known: a Full; a change then: a Differential with only the
    changes (a removal without idTagInfo) and a higher version; nothing
    changed: nothing sent.
    """
    fleet = Fleet()
    fleet.setList({"A": ACCEPTED, "B": ACCEPTED, "C": ACCEPTED})
    result, [full] = fleet.sync({"status": "Accepted"})
    assert result == {
        "result": "Accepted",
        "updates": [{"updateType": "Full", "listVersion": 1, "entries": 3, "status": "Accepted"}],
    }
    assert full["updateType"] == "Full"
    assert [e["idTag"] for e in full["localAuthorizationList"]] == ["A", "B", "C"]
    assert all(e["idTagInfo"] == ACCEPTED for e in full["localAuthorizationList"])
    fleet.setList({"A": ACCEPTED, "B": BLOCKED, "C": ACCEPTED, "D": ACCEPTED, "E": ACCEPTED})
    result, [differential] = fleet.sync({"status": "Accepted"})
    assert differential == {
        "listVersion": 2,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idTag": "B", "idTagInfo": BLOCKED},
            {"idTag": "D", "idTagInfo": ACCEPTED},
            {"idTag": "E", "idTagInfo": ACCEPTED},
        ],
    }
    fleet.setList({"A": ACCEPTED, "B": BLOCKED, "C": ACCEPTED, "D": ACCEPTED})
    _, [removal] = fleet.sync({"status": "Accepted"})
    assert removal["localAuthorizationList"] == [{"idTag": "E"}]
    installed = fleet.installed()
    assert (installed.known, installed.listVersion, installed.lastResult) == (True, 3, "Accepted")
    assert installed.entries == {"A": ACCEPTED, "B": BLOCKED, "C": ACCEPTED, "D": ACCEPTED}
    assert fleet.sync() == ({"result": "UpToDate", "updates": []}, [])


def test_versionMismatchLeadsToFull():
    """
    A VersionMismatch is recorded and the next sync sends a Full.
    """
    fleet = Fleet()
    fleet.setList({"A": ACCEPTED})
    fleet.sync({"status": "Accepted"})
    fleet.setList({"A": ACCEPTED, "B": ACCEPTED})
    result, [sent] = fleet.sync({"status": "VersionMismatch"})
    assert (result["result"], sent["updateType"]) == ("VersionMismatch", "Differential")
    assert fleet.installed().entries == {"A": ACCEPTED}
    result, [sent] = fleet.sync({"status": "Accepted"})
    assert (sent["updateType"], sent["listVersion"]) == ("Full", 2)
    assert fleet.installed().entries == {"A": ACCEPTED, "B": ACCEPTED}


@pytest.mark.parametrize("status", ["Failed", "NotSupported"])
def test_refusalIsRecordedAndChangesNothing(status):
    """
    Failed and NotSupported are recorded; the installed state stays as it was.
    """
    fleet = Fleet()
    fleet.setList({"A": ACCEPTED})
    result, _ = fleet.sync({"status": status})
    assert result["result"] == status
    installed = fleet.installed()
    assert (installed.known, installed.listVersion, installed.lastResult) == (False, 0, status)


def test_callErrorIsRecorded():
    """
    A CALLERROR fails the sync and is recorded as the last result.
    """
    fleet = Fleet()
    fleet.setList({"A": ACCEPTED})
    failure = fleet.sync("NotSupported")[0]
    assert isinstance(failure, Failure) and failure.check(CallErrorReceived)
    assert fleet.installed().lastResult == "NotSupported"


def test_splitToTheStationsMaxLength():
    """
    The station's SendLocalListMaxLength, learnt from GetConfiguration,
    splits an update into messages with increasing versions; a refusal
    midway stops there.
    """
    fleet = Fleet()
    answer = fleet.centralSystem.service.call(
        "CP001", "GetConfiguration", {"key": ["SendLocalListMaxLength"]}
    )
    [call] = fleet.station.calls()
    fleet.station.answer(
        call,
        {"configurationKey": [{"key": "SendLocalListMaxLength", "readonly": True, "value": "2"}]},
    )
    resultOf(answer)
    assert fleet.installed().maxLength == 2
    fleet.setList({tag: ACCEPTED for tag in "ABCDE"})
    result, sent = fleet.sync(
        {"status": "Accepted"}, {"status": "Accepted"}, {"status": "Accepted"}
    )
    assert [
        (s["updateType"], s["listVersion"], len(s["localAuthorizationList"])) for s in sent
    ] == [
        ("Full", 1, 2),
        ("Differential", 2, 2),
        ("Differential", 3, 1),
    ]
    assert fleet.installed().entries == {tag: ACCEPTED for tag in "ABCDE"}
    fleet.setList({tag: BLOCKED for tag in "ABCDE"})
    # Every entry changed: a Full is no larger, so a Full (split) is sent.
    result, sent = fleet.sync({"status": "Accepted"}, {"status": "Failed"})
    assert [s["updateType"] for s in sent] == ["Full", "Differential"]
    assert result["result"] == "Failed"
    installed = fleet.installed()
    assert (installed.listVersion, installed.lastResult) == (4, "Failed")
    assert installed.entries == {"A": BLOCKED, "B": BLOCKED}


def test_rawCallsUpdateTheInstalledState():
    """
    SendLocalList and GetLocalListVersion sent through the calls route are
    recorded: an accepted list becomes the installed one; the reported
    version is kept and the next version is above it.
    """
    fleet = Fleet()
    service = fleet.centralSystem.service
    request = {
        "listVersion": 41,
        "updateType": "Full",
        "localAuthorizationList": [{"idTag": "Z", "idTagInfo": ACCEPTED}],
    }
    d = service.call("CP001", "SendLocalList", request)
    [call] = fleet.station.calls()
    fleet.station.answer(call, {"status": "Accepted"})
    resultOf(d)
    installed = fleet.installed()
    assert (installed.known, installed.listVersion, installed.entries) == (
        True,
        41,
        {"Z": ACCEPTED},
    )
    d = service.call("CP001", "GetLocalListVersion", {})
    [call] = fleet.station.calls()
    fleet.station.answer(call, {"listVersion": 50})
    resultOf(d)
    assert fleet.installed().reportedVersion == 50
    fleet.setList({"Z": ACCEPTED, "Y": ACCEPTED})
    _, [sent] = fleet.sync({"status": "Accepted"})
    assert (sent["updateType"], sent["listVersion"]) == ("Differential", 51)


def test_namedListChangeSyncsEveryConnectedMember():
    """
    Changing a named list synchronises its connected members one after
    another, C{sync_interval} seconds apart.
    """
    fleet = Fleet("[profile:LocalAuthListManagement]\nsync_interval = 5\n")
    other = fleet.centralSystem.connect("CP002")
    resultOf(fleet.store.assignLocalList("CP002", "fleet"))
    resultOf(fleet.store.assignLocalList("CP001", "fleet"))
    resultOf(fleet.store.assignLocalList("CP003", "fleet"))
    resultOf(fleet.store.putLocalList("fleet", {"A": ACCEPTED}, fleet.centralSystem.service.now()))
    done = fleet.profile.syncMembers("fleet")
    [call] = fleet.station.calls()
    assert other.calls() == []
    fleet.station.answer(call, {"status": "Accepted"})
    fleet.centralSystem.advance(4.9)
    assert other.calls() == []
    fleet.centralSystem.advance(0.1)
    [call] = other.calls()
    other.answer(call, {"status": "Accepted"})
    fleet.centralSystem.advance(5)
    assert resultOf(done) is None


@pytest.mark.parametrize(
    "options",
    ["send_local_list_max_length = 0", "sync_interval = soon", "colour = red"],
)
def test_badOptions(options):
    """
    Bad profile options stop startup naming the key.
    """
    from kcsms.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        MemoryCentralSystem(
            "[profiles]\nenabled = Core, LocalAuthListManagement\n"
            f"[profile:LocalAuthListManagement]\n{options}\n"
        )
    assert str(caught.value).startswith(f"[profile:LocalAuthListManagement] {options.split()[0]}:")


@pytest_twisted.ensureDeferred
async def test_api():
    """
    Lists through the API: created, shown, followed, synchronised, deleted;
    bad bodies are 400, a station with no list 409.
    """
    service = await startLive(profiles="Core, LocalAuthListManagement")
    try:
        live = Live(service)
        entries = [{"idTag": "A", "idTagInfo": ACCEPTED}, {"idTag": "B", "idTagInfo": BLOCKED}]
        status, body = await live.request("PUT", "/locallists/fleet", {"entries": entries})
        assert (status, body["entries"], body["members"]) == (201, entries, [])
        assert (await live.request("PUT", "/locallists/fleet", {"entries": entries}))[0] == 200
        assert await live.request("GET", "/locallists") == (200, ["fleet"])
        station = await live.station()
        status, _ = await live.request("POST", "/chargepoints/CP001/locallist/sync")
        assert status == 409
        status, view = await live.request("PUT", "/chargepoints/CP001/locallist", {"list": "fleet"})
        assert (status, view["desired"]["list"], view["installed"]["known"]) == (
            200,
            "fleet",
            False,
        )
        pending = live.request("POST", "/chargepoints/CP001/locallist/sync")
        call = await station.nextCall()
        assert call[2:] == [
            "SendLocalList",
            {"listVersion": 1, "updateType": "Full", "localAuthorizationList": entries},
        ]
        station.answer(call, {"status": "Accepted"})
        status, result = await pending
        assert (status, result["result"]) == (200, "Accepted")
        status, view = await live.request("GET", "/chargepoints/CP001/locallist")
        assert view["installed"] == {"known": True, "listVersion": 1, "entries": entries}
        assert view["lastSync"]["result"] == "Accepted"
        assert (await live.request("GET", "/locallists/fleet"))[1]["members"] == ["CP001"]

        pending = live.request("POST", "/chargepoints/CP001/calls/GetLocalListVersion", {})
        call = await station.nextCall()
        station.answer(call, {"listVersion": 3})
        await pending
        _, view = await live.request("GET", "/chargepoints/CP001/locallist")
        assert (view["reportedVersion"], view["mismatch"]) == (3, True)

        own = [{"idTag": "OWN", "idTagInfo": ACCEPTED}]
        status, view = await live.request("PUT", "/chargepoints/CP001/locallist", {"entries": own})
        assert (view["desired"]["list"], view["desired"]["entries"]) == ("chargepoint:CP001", own)
        pending = live.request("POST", "/chargepoints/CP001/locallist/sync")
        call = await station.nextCall()
        station.send([4, call[1], "InternalError", "flash full", {}])
        status, body = await pending
        assert (status, body["error"], body["errorCode"]) == (502, "CallError", "InternalError")

        for path, body in [
            ("/locallists/fleet", {"entries": [{"idTag": "A"}]}),
            ("/locallists/fleet", {"entries": [{"idTag": "A", "idTagInfo": {"status": "Maybe"}}]}),
            ("/locallists/fleet", {"entries": [{"idTag": "x" * 21, "idTagInfo": ACCEPTED}]}),
            ("/locallists/fleet", {"entries": entries + entries}),
            ("/locallists/fleet", {"entries": "A"}),
            ("/locallists/no%20spaces", {"entries": []}),
            ("/chargepoints/CP001/locallist", {"list": "fleet", "entries": []}),
            ("/chargepoints/CP001/locallist", {}),
        ]:
            status, answer = await live.request("PUT", path, body)
            assert (status, answer["error"]) == (400, "BadRequest"), (path, body, answer)
        assert (await live.request("PUT", "/chargepoints/CP001/locallist", {"list": "none"}))[
            0
        ] == 404
        assert (await live.request("DELETE", "/locallists/fleet"))[0] == 204
        assert (await live.request("GET", "/locallists/fleet"))[0] == 404
        assert (await live.request("DELETE", "/locallists/fleet"))[0] == 404
    finally:
        await service.stopService()
