"""
Tests for L{kcsms.profiles.firmware}: the OCTT firmware and diagnostics
sequences, timeouts and rollouts with stations connected in memory on a fake
clock.  The file hosting, over real sockets, is in C{test_files}.
"""

import pytest
from twisted.internet.defer import ensureDeferred

from kcsms.config import ConfigError
from kcsms.errors import CallErrorReceived, NotConnected
from kcsms.events import FirmwareJobChanged
from kcsms.testing import MemoryCentralSystem, resultOf
from tests.test_core import BOOT

#: The epoch: the fake clock starts there.
EPOCH = "1970-01-01T00:00:00.000Z"
UPDATE = {"location": "https://fw.example/cp-2.0.bin", "retrieveDate": EPOCH}
PROFILES = "[profiles]\nenabled = Core, FirmwareManagement\n"
CONFIG = PROFILES + "[profile:FirmwareManagement]\njob_timeout = 600\n"


class Site:
    """
    A central system with FirmwareManagement and one booted station.
    """

    def __init__(self, config=CONFIG):
        self.centralSystem = MemoryCentralSystem(config)
        [self.profile] = [
            p for p in self.centralSystem.service.profiles if p.name == "FirmwareManagement"
        ]
        self.events = []
        self.centralSystem.service.subscribe(self.events.append)
        self.station = self.centralSystem.connect("CP001")
        assert self.station.callResult("BootNotification", BOOT)["status"] == "Accepted"

    def send(self, method, request, answer):
        """
        Start a profile method, answer its call with C{answer}, and return
        the call and the method's Deferred.
        """
        d = ensureDeferred(method("CP001", request))
        [call] = self.station.calls()
        self.station.answer(call, answer)
        return call, d

    def report(self, action, *statuses):
        for status in statuses:
            assert self.station.callResult(action, {"status": status}) == {}

    def jobs(self, kind):
        return resultOf(self.centralSystem.store.listFirmwareJobs("CP001", kind))


def events(job):
    return [entry.event for entry in job.history]


def test_downloadAndInstall():
    """
    TC_044_1: UpdateFirmware goes out with every field as given; the job
    follows Downloading, Downloaded, Installing, the reboot and Installed.
    """
    site = Site()
    request = {**UPDATE, "retries": 3, "retryInterval": 30}
    call, d = site.send(site.profile.updateFirmware, request, {})
    assert call[2:] == ["UpdateFirmware", request]
    assert resultOf(d).status == "Requested"
    site.report("FirmwareStatusNotification", "Downloading", "Downloaded")
    site.station.callResult(
        "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Unavailable"}
    )
    site.report("FirmwareStatusNotification", "Installing")
    site.station.callResult("BootNotification", {**BOOT, "firmwareVersion": "2.0"})
    site.report("FirmwareStatusNotification", "Installed")
    [job] = site.jobs("UpdateFirmware")
    assert (job.status, job.result, job.request, job.deadline) == (
        "Installed",
        "Installed",
        request,
        None,
    )
    assert events(job) == [
        "Requested",
        "Answered",
        "Downloading",
        "Downloaded",
        "Installing",
        "BootNotification",
        "Installed",
    ]
    assert job.history[5].detail == "2.0"
    assert [e.job.status for e in site.events if isinstance(e, FirmwareJobChanged)][-1] == (
        "Installed"
    )


@pytest.mark.parametrize(
    "statuses",
    [
        ("Downloading", "DownloadFailed"),
        ("Downloading", "Downloaded", "Installing", "InstallationFailed"),
    ],
)
def test_downloadOrInstallationFailed(statuses):
    """
    TC_044_2 and TC_044_3: a failure ends the job with that result.
    """
    site = Site()
    site.send(site.profile.updateFirmware, UPDATE, {})
    site.report("FirmwareStatusNotification", *statuses)
    [job] = site.jobs("UpdateFirmware")
    assert job.result == statuses[-1]


@pytest.mark.parametrize("last", ["Uploaded", "UploadFailed"])
def test_diagnostics(last):
    """
    TC_045_1 and TC_045_2: GetDiagnostics goes out as given; the job keeps the
    file name the station answered and follows Uploading to the result.
    """
    site = Site()
    request = {
        "location": "ftp://user:pw@logs.example/",
        "retries": 1,
        "retryInterval": 5,
        "startTime": "2026-11-01T00:00:00.000Z",
        "stopTime": "2026-11-02T00:00:00.000Z",
    }
    call, d = site.send(site.profile.getDiagnostics, request, {"fileName": "diag.zip"})
    assert call[2:] == ["GetDiagnostics", request]
    assert resultOf(d).fileName == "diag.zip"
    site.report("DiagnosticsStatusNotification", "Uploading", last)
    [job] = site.jobs("GetDiagnostics")
    assert (job.result, job.fileName) == (last, "diag.zip")
    assert events(job) == ["Requested", "Answered", "Uploading", last]


def test_idleIsAnsweredAndChangesNoJob():
    """
    Idle (sent after a TriggerMessage) is acknowledged; it is no job's progress.
    """
    site = Site()
    site.report("FirmwareStatusNotification", "Idle")
    site.report("DiagnosticsStatusNotification", "Idle")
    assert site.jobs(None) == []


def test_jobWithoutProgressTimesOut():
    """
    No progress for job_timeout seconds marks the job TimedOut; counted from
    the retrieveDate when that is later; a later report revives it.
    """
    site = Site()
    site.send(site.profile.updateFirmware, {**UPDATE, "retrieveDate": "1970-01-01T00:10:00Z"}, {})
    site.centralSystem.advance(1140)
    assert site.jobs("UpdateFirmware")[0].status == "Requested"
    site.centralSystem.advance(60)
    [job] = site.jobs("UpdateFirmware")
    assert (job.status, job.result, events(job)[-1]) == ("TimedOut", "TimedOut", "TimedOut")
    site.report("FirmwareStatusNotification", "Downloading")
    [job] = site.jobs("UpdateFirmware")
    assert (job.status, job.result) == ("Downloading", None)


def test_rawCallsAreRecordedAsJobs():
    """
    UpdateFirmware and GetDiagnostics sent raw (the calls route) become jobs.
    """
    site = Site()
    service = site.centralSystem.service
    for action, answer in (("UpdateFirmware", {}), ("GetDiagnostics", {"fileName": "x.log"})):
        d = service.call(
            "CP001",
            action,
            {"location": "ftp://h/", "retrieveDate": EPOCH}
            if action == "UpdateFirmware"
            else {"location": "ftp://h/"},
        )
        [call] = site.station.calls()
        site.station.answer(call, answer)
        resultOf(d)
    [update] = site.jobs("UpdateFirmware")
    [diagnostics] = site.jobs("GetDiagnostics")
    assert events(update) == events(diagnostics) == ["Requested", "Answered"]
    assert diagnostics.fileName == "x.log"


def test_statusWithoutRequestStartsAJob():
    """
    A station that reports progress kcsms did not ask for gets a job with no
    request; a report after a completed job starts another.
    """
    site = Site()
    site.report("FirmwareStatusNotification", "Downloading", "DownloadFailed", "Downloading")
    first, second = site.jobs("UpdateFirmware")
    assert (first.request, first.result, second.status) == (None, "DownloadFailed", "Downloading")


def test_failedCallsAreRecorded():
    """
    A CALLERROR, or a station that is not connected, fails the job.
    """
    site = Site()
    d = ensureDeferred(site.profile.updateFirmware("CP001", UPDATE))
    [call] = site.station.calls()
    site.station.sendFrame([4, call[1], "InternalError", "busy", {}])
    assert isinstance(resultOf(d).value, CallErrorReceived)
    site.station.close()
    d = ensureDeferred(site.profile.getDiagnostics("CP001", {"location": "ftp://h/"}))
    assert isinstance(resultOf(d).value, NotConnected)
    update, diagnostics = site.jobs(None)
    assert (update.result, diagnostics.result) == ("Failed", "Failed")
    assert update.history[-1].detail == "CallErrorReceived: InternalError: busy"


def test_rolloutPacesItsStations():
    """
    A rollout sends UpdateFirmware to one station after another, pace
    seconds apart; a station that is not connected fails and it goes on.
    """
    site = Site()
    other = site.centralSystem.connect("CP002")
    other.callResult("BootNotification", BOOT)
    rollout = resultOf(
        ensureDeferred(site.profile.startRollout(["CP001", "NOPE", "CP002"], UPDATE, 30.0))
    )
    [call] = site.station.calls()
    site.station.answer(call, {})
    for _ in range(2):
        site.centralSystem.advance(29)
        assert other.calls() == []
        site.centralSystem.advance(1)
    [call] = other.calls()
    assert call[2:] == ["UpdateFirmware", UPDATE]
    other.answer(call, {})
    jobs = resultOf(site.centralSystem.store.listFirmwareJobs(rolloutId=rollout.rolloutId))
    assert [(job.chargePointId, job.status) for job in jobs] == [
        ("CP001", "Requested"),
        ("NOPE", "Failed"),
        ("CP002", "Requested"),
    ]


@pytest.mark.parametrize("options", ["job_timeout = 0", "job_timeout = soon", "colour = blue"])
def test_badOptions(options):
    """
    A bad C{[profile:FirmwareManagement]} option stops start-up naming it.
    """
    with pytest.raises(ConfigError) as caught:
        MemoryCentralSystem(f"{PROFILES}[profile:FirmwareManagement]\n{options}\n")
    assert str(caught.value).startswith(f"[profile:FirmwareManagement] {options.split()[0]}:")
