"""
Tests for the Reservation profile (L{kcsms.profiles.reservation}) and its
API (L{kcsms.api.reservations}): a simulated station in memory on a fake
clock, real HTTP in process, and a real twistd process restarted while a
reservation runs.
"""

import time
from datetime import timedelta

import pytest
import pytest_twisted
from openapi_spec_validator import validate
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from kcsms.errors import CallErrorReceived, NotConnected, ProfileDisabled, UnknownChargePoint
from kcsms.events import ReservationChanged
from kcsms.model import IdTag, Reservation
from kcsms.testing import MemoryCentralSystem, resultOf
from kcsms.timestamps import formatTimestamp
from tests.clients import Station, http
from tests.test_api import BOOT, Live, startLive
from tests.test_twistd import Kcsms

T0 = "2026-11-28T10:00:00.000Z"
ENABLED = "[profiles]\nenabled = Core, Reservation\n"


class Site:
    """
    A central system with the Reservation profile and a booted station CP001.
    """

    def __init__(self, config=ENABLED):
        self.centralSystem = MemoryCentralSystem(config)
        self.service = self.centralSystem.service
        self.store = self.centralSystem.store
        self.events = []
        self.service.subscribe(self.events.append)
        self.station = self.centralSystem.connect("CP001")
        self.station.callResult("BootNotification", BOOT)

    @property
    def profile(self):
        [profile] = [p for p in self.service.profiles if p.name == "Reservation"]
        return profile

    def reserve(self, answer, connectorId=1, idTag="TAG1", parentIdTag=None, seconds=600):
        """
        Reserve through the profile, the station answering C{answer}.

        @return: the reservation, and the ReserveNow the station got.
        """
        d = ensureDeferred(
            self.profile.reserve(
                "CP001",
                connectorId,
                idTag,
                parentIdTag,
                self.service.now() + timedelta(seconds=seconds),
            )
        )
        [call] = self.station.calls()
        self.station.answer(call, answer)
        return resultOf(d), call

    def call(self, action, payload, answer):
        """
        Call the station through the Python API, the station answering C{answer}.
        """
        d = self.service.call("CP001", action, payload)
        [call] = self.station.calls()
        self.station.answer(call, answer)
        return resultOf(d), call

    def start(self, idTag="TAG1", reservationId=None, connectorId=1):
        request = {"connectorId": connectorId, "idTag": idTag, "meterStart": 0, "timestamp": T0}
        if reservationId is not None:
            request["reservationId"] = reservationId
        return self.station.callResult("StartTransaction", request)

    def reservation(self, reservationId):
        return resultOf(self.store.getReservation(reservationId))

    def changes(self):
        return [
            (e.reservation.reservationId, e.reservation.status)
            for e in self.events
            if isinstance(e, ReservationChanged)
        ]


# The profile, with a simulated station


def test_acceptedReservationIsSentAndRecorded():
    """
    The store allocates the reservationId; ReserveNow carries it with the
    connector, id tags and expiry date; the station's Accepted is recorded
    and published.
    """
    site = Site()
    reservation, call = site.reserve({"status": "Accepted"}, parentIdTag="PARENT")
    assert call[2] == "ReserveNow"
    assert call[3] == {
        "connectorId": 1,
        "expiryDate": formatTimestamp(site.service.now() + timedelta(seconds=600)),
        "idTag": "TAG1",
        "parentIdTag": "PARENT",
        "reservationId": reservation.reservationId,
    }
    assert reservation.reservationId > 0
    assert (reservation.status, reservation.parentIdTag) == ("Accepted", "PARENT")
    assert site.changes() == [(reservation.reservationId, "Accepted")]
    second, _ = site.reserve({"status": "Accepted"}, connectorId=0)
    assert second.reservationId > reservation.reservationId
    assert second.connectorId == 0


@pytest.mark.parametrize("status", ["Faulted", "Occupied", "Rejected", "Unavailable"])
def test_refusedReservationIsRecordedAndNeverExpires(status):
    """
    A refusal is recorded as the reservation's status; it is not active, so
    it is not expired later.
    """
    site = Site()
    reservation, _ = site.reserve({"status": status}, seconds=10)
    assert reservation.status == status
    assert not reservation.active
    site.centralSystem.advance(20)
    assert site.reservation(reservation.reservationId).status == status
    assert site.changes() == [(reservation.reservationId, status)]


def test_startTransactionWithReservationIdUsesIt():
    """
    A StartTransaction carrying the reservationId makes the reservation Used
    and links it to the transaction; its timer no longer expires it.
    """
    site = Site()
    reservation, _ = site.reserve({"status": "Accepted"}, seconds=60)
    start = site.start(reservationId=reservation.reservationId)
    used = site.reservation(reservation.reservationId)
    assert (used.status, used.transactionId) == ("Used", start["transactionId"])
    transaction = resultOf(site.store.getTransaction(start["transactionId"]))
    assert transaction.reservationId == reservation.reservationId
    site.centralSystem.advance(120)
    assert site.reservation(reservation.reservationId).status == "Used"


def test_anotherStationCannotUseTheReservation():
    """
    A StartTransaction from another station with the same reservationId
    leaves the reservation as it is.
    """
    site = Site()
    reservation, _ = site.reserve({"status": "Accepted"})
    other = site.centralSystem.connect("CP002")
    other.callResult("BootNotification", BOOT)
    other.callResult(
        "StartTransaction",
        {
            "connectorId": 1,
            "idTag": "TAG1",
            "meterStart": 0,
            "timestamp": T0,
            "reservationId": reservation.reservationId,
        },
    )
    assert site.reservation(reservation.reservationId).status == "Accepted"


def test_tagWithTheReservationsParentUsesIt():
    """
    TC_053: a different tag whose parent is the reservation's parentIdTag
    gets that parentIdTag in Authorize and StartTransaction, and its
    transaction uses the reservation.
    """
    site = Site()
    for idTag in ("TAG1", "TAG2"):
        resultOf(site.store.putIdTag(IdTag(idTag, "Accepted", parentIdTag="PARENT")))
    reservation, _ = site.reserve({"status": "Accepted"}, parentIdTag="PARENT")
    authorize = site.station.callResult("Authorize", {"idTag": "TAG2"})
    assert authorize["idTagInfo"] == {"status": "Accepted", "parentIdTag": "PARENT"}
    start = site.start("TAG2", reservation.reservationId)
    assert start["idTagInfo"] == {"status": "Accepted", "parentIdTag": "PARENT"}
    assert site.reservation(reservation.reservationId).status == "Used"


def test_acceptedCancellationCancels():
    """
    CancelReservation with the reservationId; Accepted makes it Cancelled.
    """
    site = Site()
    reservation, _ = site.reserve({"status": "Accepted"}, seconds=60)
    d = ensureDeferred(site.profile.cancel(reservation))
    [call] = site.station.calls()
    assert call[2:] == ["CancelReservation", {"reservationId": reservation.reservationId}]
    site.station.answer(call, {"status": "Accepted"})
    status, after = resultOf(d)
    assert (status, after.status) == ("Accepted", "Cancelled")
    site.centralSystem.advance(120)
    assert site.changes() == [
        (reservation.reservationId, "Accepted"),
        (reservation.reservationId, "Cancelled"),
    ]


def test_rejectedCancellationKeepsTheReservation():
    """
    A Rejected CancelReservation leaves the reservation Accepted.
    """
    site = Site()
    reservation, _ = site.reserve({"status": "Accepted"})
    d = ensureDeferred(site.profile.cancel(reservation))
    [call] = site.station.calls()
    site.station.answer(call, {"status": "Rejected"})
    status, after = resultOf(d)
    assert (status, after.status) == ("Rejected", "Accepted")


def test_reservationExpiresAtItsExpiryDateSendingNothing():
    """
    At its expiry date an accepted reservation becomes Expired, published,
    and nothing is sent to the station.
    """
    site = Site()
    reservation, _ = site.reserve({"status": "Accepted"}, seconds=30)
    site.centralSystem.advance(29)
    assert site.reservation(reservation.reservationId).status == "Accepted"
    site.centralSystem.advance(1)
    expired = site.reservation(reservation.reservationId)
    assert expired.status == "Expired"
    assert expired.updatedAt == reservation.expiryDate
    assert site.station.calls() == []
    assert site.changes()[-1] == (reservation.reservationId, "Expired")


def test_activeReservationsAreScheduledAgainAtStart():
    """
    When the profile starts it expires the active reservations whose date has
    passed at once, and sets timers for the others.
    """
    site = Site()
    now = site.service.now()
    for reservationId, seconds in ((7, -5), (8, 50)):
        resultOf(
            site.store.recordReservation(
                Reservation(
                    reservationId,
                    "CP001",
                    1,
                    "TAG1",
                    now + timedelta(seconds=seconds),
                    "Accepted",
                    now,
                )
            )
        )
    site.profile.stopService()
    site.profile.startService()
    site.centralSystem.advance(0)
    assert [site.reservation(7).status, site.reservation(8).status] == ["Expired", "Accepted"]
    site.centralSystem.advance(50)
    assert site.reservation(8).status == "Expired"


def test_callsRouteReservationsAreRecorded():
    """
    A ReserveNow sent as the operator wrote it (through C{call}, as the
    calls route does) is recorded under its own reservationId; an accepted
    CancelReservation for it cancels it; ids the store allocates later skip it.
    """
    site = Site()
    request = {
        "connectorId": 2,
        "expiryDate": "2030-01-01T00:00:00Z",
        "idTag": "T",
        "reservationId": 2,
    }
    site.call("ReserveNow", request, {"status": "Accepted"})
    recorded = site.reservation(2)
    assert (recorded.connectorId, recorded.status, recorded.expiryDate.year) == (
        2,
        "Accepted",
        2030,
    )
    site.call("CancelReservation", {"reservationId": 2}, {"status": "Accepted"})
    assert site.reservation(2).status == "Cancelled"
    first, _ = site.reserve({"status": "Accepted"})
    second, _ = site.reserve({"status": "Accepted"})
    assert {first.reservationId, second.reservationId}.isdisjoint({2})


def test_cancellationOfAnUnknownIdIsStillSent():
    """
    TC_052: a CancelReservation for an id kcsms does not know goes out as
    given and the station's answer comes back.
    """
    site = Site()
    answer, call = site.call("CancelReservation", {"reservationId": 4242}, {"status": "Rejected"})
    assert call[3] == {"reservationId": 4242}
    assert answer == {"status": "Rejected"}
    assert resultOf(site.store.listReservations()) == []


def test_failedReserveNowKeepsNothing():
    """
    When ReserveNow fails (the station answers a CALLERROR, is not
    connected, or is unknown) no reservation is kept.
    """
    site = Site()
    d = ensureDeferred(site.profile.reserve("CP001", 1, "T", None, site.service.now()))
    [call] = site.station.calls()
    site.station.sendFrame([4, call[1], "InternalError", "boom", {}])
    assert resultOf(d).check(CallErrorReceived)
    resultOf(site.store.setRegistration("CP002", "Accepted"))
    for chargePointId, failure in (("CP002", NotConnected), ("CP404", UnknownChargePoint)):
        d = ensureDeferred(site.profile.reserve(chargePointId, 1, "T", None, site.service.now()))
        assert resultOf(d).check(failure)
    assert resultOf(site.store.listReservations()) == []


def test_disabledReservationProfile():
    """
    With Reservation not enabled, ReserveNow and CancelReservation are
    refused; a StartTransaction with a reservationId is still answered.
    """
    site = Site("[profiles]\nenabled = Core\n")
    for action, payload in (
        ("ReserveNow", {"connectorId": 1, "expiryDate": T0, "idTag": "T", "reservationId": 1}),
        ("CancelReservation", {"reservationId": 1}),
    ):
        failure = resultOf(site.service.call("CP001", action, payload))
        assert isinstance(failure, Failure) and failure.check(ProfileDisabled)
    assert site.station.calls() == []
    assert site.start(reservationId=1)["transactionId"] > 0


# The API, over real HTTP


@pytest_twisted.async_yield_fixture
async def live():
    service = await startLive(profiles="Core, Reservation")
    yield Live(service)
    await service.stopService()


async def reserveOverHttp(live, station, answer, **fields):
    """
    POST a reservation for CP001 (expiring in a minute unless C{fields} say
    otherwise), the station answering C{answer}.
    """
    body = {"chargePointId": "CP001", "connectorId": 1, "idTag": "TAG1", **fields}
    if "expiryDate" not in body:
        body.setdefault("expiresInSeconds", 60)
    pending = live.request("POST", "/reservations", body)
    call = await station.nextCall()
    station.answer(call, answer)
    return call, await pending


@pytest_twisted.ensureDeferred
async def test_apiReservationLifecycle(live):
    """
    POST sends ReserveNow and answers 201 with the reservation; GET shows
    and lists it (by station, active or not); DELETE cancels it.
    """
    station = await live.station()
    call, (status, body) = await reserveOverHttp(
        live, station, {"status": "Accepted"}, parentIdTag="P"
    )
    assert status == 201
    assert call[3]["reservationId"] == body["reservationId"]
    assert (body["status"], body["parentIdTag"], body["connectorId"]) == ("Accepted", "P", 1)
    assert body["expiryDate"] == call[3]["expiryDate"]
    reservationId = body["reservationId"]
    assert await live.request("GET", f"/reservations/{reservationId}") == (200, body)
    _, (_, refused) = await reserveOverHttp(live, station, {"status": "Occupied"})
    assert refused["status"] == "Occupied"
    listed = {
        query: [r["reservationId"] for r in (await live.request("GET", f"/reservations{query}"))[1]]
        for query in ("", "?active=true", "?active=false", "?chargepoint=CP002")
    }
    assert listed == {
        "": [reservationId, refused["reservationId"]],
        "?active=true": [reservationId],
        "?active=false": [refused["reservationId"]],
        "?chargepoint=CP002": [],
    }
    pending = live.request("DELETE", f"/reservations/{reservationId}")
    call = await station.nextCall()
    assert call[2:] == ["CancelReservation", {"reservationId": reservationId}]
    station.answer(call, {"status": "Accepted"})
    status, cancelled = await pending
    assert (status, cancelled["status"]) == (200, "Accepted")
    assert cancelled["reservation"]["status"] == "Cancelled"


@pytest_twisted.ensureDeferred
async def test_apiExpiryDateAndCallsRoute(live):
    """
    An explicit expiryDate is sent as given (in kcsms's format); a ReserveNow
    through the calls route shows up among the reservations.
    """
    station = await live.station()
    call, (status, body) = await reserveOverHttp(
        live, station, {"status": "Accepted"}, expiryDate="2099-01-01T01:00:00+01:00"
    )
    assert status == 201
    assert call[3]["expiryDate"] == body["expiryDate"] == "2099-01-01T00:00:00.000Z"
    payload = {"connectorId": 0, "expiryDate": T0, "idTag": "X", "reservationId": 900}
    pending = live.request("POST", "/chargepoints/CP001/calls/ReserveNow", payload)
    station.answer(await station.nextCall(), {"status": "Rejected"})
    assert (await pending)[0] == 200
    status, shown = await live.request("GET", "/reservations/900")
    assert (status, shown["status"], shown["connectorId"]) == (200, "Rejected", 0)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"connectorId": 1, "idTag": "T", "expiresInSeconds": 5}, "missing field 'chargePointId'"),
        ({"chargePointId": "CP001", "idTag": "T", "expiresInSeconds": 5}, "missing field"),
        ({"chargePointId": "CP001", "connectorId": 1, "expiresInSeconds": 5}, "missing field"),
        ({"chargePointId": "CP001", "connectorId": 1, "idTag": "T"}, "either expiryDate or"),
        (
            {
                "chargePointId": "CP001",
                "connectorId": 1,
                "idTag": "T",
                "expiryDate": T0,
                "expiresInSeconds": 5,
            },
            "either expiryDate or",
        ),
        (
            {"chargePointId": "CP001", "connectorId": -1, "idTag": "T", "expiresInSeconds": 5},
            "connectorId",
        ),
        (
            {"chargePointId": "CP001", "connectorId": "1", "idTag": "T", "expiresInSeconds": 5},
            "connectorId",
        ),
        (
            {"chargePointId": "CP001", "connectorId": True, "idTag": "T", "expiresInSeconds": 5},
            "connectorId",
        ),
        (
            {"chargePointId": "CP001", "connectorId": 1, "idTag": "T" * 21, "expiresInSeconds": 5},
            "idTag",
        ),
        (
            {"chargePointId": "CP001", "connectorId": 1, "idTag": None, "expiresInSeconds": 5},
            "idTag",
        ),
        (
            {"chargePointId": "", "connectorId": 1, "idTag": "T", "expiresInSeconds": 5},
            "chargePointId",
        ),
        (
            {
                "chargePointId": "CP001",
                "connectorId": 1,
                "idTag": "T",
                "parentIdTag": 5,
                "expiresInSeconds": 5,
            },
            "parentIdTag",
        ),
        (
            {"chargePointId": "CP001", "connectorId": 1, "idTag": "T", "expiresInSeconds": 0},
            "expiresInSeconds",
        ),
        (
            {"chargePointId": "CP001", "connectorId": 1, "idTag": "T", "expiresInSeconds": 1.5},
            "expiresInSeconds",
        ),
        (
            {"chargePointId": "CP001", "connectorId": 1, "idTag": "T", "expiryDate": "tomorrow"},
            "ISO 8601",
        ),
        ({"chargePointId": "CP001", "connectorId": 1, "idTag": "T", "expiryDate": 5}, "ISO 8601"),
        (
            {"chargePointId": "CP001", "connectorId": 1, "idTag": "T", "expiryDate": T0},
            "in the future",
        ),
        (
            {
                "chargePointId": "CP001",
                "connectorId": 1,
                "idTag": "T",
                "expiresInSeconds": 5,
                "colour": 1,
            },
            "unknown field 'colour'",
        ),
    ],
)
@pytest_twisted.ensureDeferred
async def test_apiBadReservationBodies(live, body, message):
    """
    Each bad body is a 400 whose message names the problem; nothing is sent
    or kept.
    """
    status, answer = await live.request("POST", "/reservations", body)
    assert (status, answer["error"]) == (400, "BadRequest")
    assert message in answer["message"]
    assert await live.request("GET", "/reservations") == (200, [])


@pytest_twisted.ensureDeferred
async def test_apiReservationErrors(live):
    """
    Unknown station 404, not connected 409, CALLERROR 502 (nothing kept);
    a bad or unknown reservation id is 400 or 404; a bad active filter 400.
    """
    body = {"chargePointId": "CP001", "connectorId": 1, "idTag": "T", "expiresInSeconds": 5}
    status, answer = await live.request("POST", "/reservations", body)
    assert (status, answer["error"]) == (404, "UnknownChargePoint")
    await live.request("PUT", "/chargepoints/CP001", {"registration": "Accepted"})
    status, answer = await live.request("POST", "/reservations", body)
    assert (status, answer["error"]) == (409, "NotConnected")
    station = await live.station()
    pending = live.request("POST", "/reservations", body)
    call = await station.nextCall()
    station.send([4, call[1], "NotSupported", "no reservations here", {}])
    status, answer = await pending
    assert (status, answer["error"], answer["errorCode"]) == (502, "CallError", "NotSupported")
    assert await live.request("GET", "/reservations") == (200, [])
    for method in ("GET", "DELETE"):
        assert (await live.request(method, "/reservations/abc"))[0] == 400
        status, answer = await live.request(method, "/reservations/77")
        assert (status, answer["error"]) == (404, "NotFound")
    status, answer = await live.request("GET", "/reservations?active=maybe")
    assert (status, answer["message"]) == (400, "active must be true or false")


@pytest_twisted.ensureDeferred
async def test_apiWithReservationDisabled():
    """
    Without the profile, ReserveNow through the calls route is 403 and so
    are the reservation routes.
    """
    service = await startLive()
    try:
        live = Live(service)
        await live.station()
        payload = {"connectorId": 1, "expiryDate": T0, "idTag": "X", "reservationId": 1}
        status, answer = await live.request("POST", "/chargepoints/CP001/calls/ReserveNow", payload)
        assert (status, answer["error"]) == (403, "ProfileDisabled")
        for method, path in [("GET", "/reservations"), ("DELETE", "/reservations/1")]:
            status, answer = await live.request(method, path)
            assert (status, answer["error"]) == (403, "ProfileDisabled")
    finally:
        await service.stopService()


@pytest_twisted.ensureDeferred
async def test_openApiDocumentsReservations(live):
    """
    The OpenAPI document has the reservation routes and stays valid.
    """
    status, document = await live.request("GET", "/openapi.json")
    validate(document)
    assert set(document["paths"]["/api/v1/reservations"]) == {"get", "post"}
    assert set(document["paths"]["/api/v1/reservations/{reservationId}"]) == {"get", "delete"}


# A real process


def sleep(seconds):
    return deferLater(reactor, max(seconds, 0), lambda: None)


async def statusOf(base, reservationId, awaited=None, timeout=3):
    """
    The status of a reservation over HTTP, once it is C{awaited} (or the
    timeout has passed).
    """
    deadline = time.monotonic() + timeout
    while True:
        status = (await http("GET", f"{base}/reservations/{reservationId}"))[1]["status"]
        if status == awaited or awaited is None or time.monotonic() > deadline:
            return status
        await sleep(0.1)


@pytest_twisted.ensureDeferred
async def test_reservationExpiresAcrossRestart(tmp_path):
    """
    Reservations accepted before kcsms stops are expired after it starts
    again: one whose date passed while it was down at once, the other at
    its date.
    """
    server = Kcsms(tmp_path, ENABLED)
    base = f"http://127.0.0.1:{server.apiPort}/api/v1"
    server.run()
    try:
        station = await Station(server.port, "CP001").connect()
        await station.call("BootNotification", BOOT)
        ids = []
        for seconds in (1, 4):
            posted = time.monotonic()
            body = {
                "chargePointId": "CP001",
                "connectorId": 1,
                "idTag": "T",
                "expiresInSeconds": seconds,
            }
            pending = ensureDeferred(http("POST", base + "/reservations", body))
            station.answer(await station.nextCall(), {"status": "Accepted"})
            ids.append((await pending)[1]["reservationId"])
        started = time.monotonic()
        server.stop()
        await sleep(started + 1.2 - time.monotonic())
        server.run()
        assert await statusOf(base, ids[0], "Expired") == "Expired"
        assert await statusOf(base, ids[1]) == "Accepted"
        assert await statusOf(base, ids[1], "Expired", timeout=10) == "Expired"
        assert time.monotonic() - posted > 3.9
    finally:
        server.stop()
