"""
Tests for L{kcsms.security}, the security routes of L{kcsms.api.security},
the operator roles and audit log of L{kcsms.api.resource}, and
L{kcsms.tokens}: passwords and Basic auth through the real Autobahn
protocols in memory, the API over real HTTP in this process.
"""

import base64
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import pytest_twisted
from twisted.internet.defer import ensureDeferred
from twisted.logger import globalLogPublisher

from kcsms import security
from kcsms.security import (
    FailureThrottle,
    PasswordError,
    basicPassword,
    checkPassword,
    hashPassword,
    passwordBytes,
)
from kcsms.testing import MemoryCentralSystem
from kcsms.tokens import Operator, tokenHash
from tests import test_api
from tests.clients import Station
from tests.test_api import Live, startLive

TEXT_PASSWORD = "abcdefghijklmnop"
HEX_PASSWORD = "00112233445566778899aabbccddeeff00112233"
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

#: The running central system of L{tests.test_api}, as a fixture here too.
live = test_api.live


@pytest.fixture(autouse=True)
def cheapHashes(monkeypatch):
    """
    Keep scrypt fast in these tests; the cost is stored in each hash.
    """
    monkeypatch.setattr(security, "SCRYPT_N", 2**4)


def basic(user, password):
    """
    @param password: text, or the raw bytes a station sends.
    @return: the C{Authorization} header value.
    """
    secret = password if isinstance(password, bytes) else password.encode()
    return "Basic " + base64.b64encode(user.encode() + b":" + secret).decode()


# Passwords


def test_passwordIsTextOrHex():
    """
    16 to 20 characters are their UTF-8; 32 to 40 hex digits are the bytes they spell.
    """
    assert passwordBytes(TEXT_PASSWORD) == TEXT_PASSWORD.encode()
    assert passwordBytes(HEX_PASSWORD) == bytes.fromhex(HEX_PASSWORD)
    assert passwordBytes(HEX_PASSWORD[:32].upper()) == bytes.fromhex(HEX_PASSWORD[:32])


@pytest.mark.parametrize(
    "password", ["short", "x" * 21, "x" * 31, "0" * 33, "g" * 32, "0" * 42, ""]
)
def test_badPasswordIsRefused(password):
    """
    Any other length, or 32 to 40 characters that are not an even number of
    hex digits, is refused with what a password must be.
    """
    with pytest.raises(PasswordError, match="16 to 20 characters, or 32 to 40 hexadecimal"):
        passwordBytes(password)


def test_hashIsSaltedAndChecksBothForms():
    """
    Two hashes of one key differ (salt) and hold no trace of it; the key's
    raw bytes and its hex form both match; another key does not.
    """
    secret = bytes.fromhex(HEX_PASSWORD)
    first, second = hashPassword(secret), hashPassword(secret)
    assert first != second
    assert HEX_PASSWORD not in first
    assert first.startswith("scrypt$16$")
    assert checkPassword(secret, first)
    assert checkPassword(HEX_PASSWORD.encode(), first)
    assert checkPassword(HEX_PASSWORD.upper().encode(), first)
    assert not checkPassword(b"\x00" * 20, first)
    assert not checkPassword(b"", first)


@pytest.mark.parametrize(
    "header, expected",
    [
        (basic("CP001", "pa:ss"), b"pa:ss"),
        (basic("CP001", b"\xff\x00"), b"\xff\x00"),
        ("basic " + base64.b64encode(b"CP001:x").decode(), b"x"),
        (basic("CP0011", "pass"), None),
        (basic("CP00", "1:pass"), None),
        (basic("OTHER", "pass"), None),
        ("Bearer abc", None),
        ("Basic !!!", None),
        (None, None),
    ],
)
def test_basicPassword(header, expected):
    """
    Only C{Basic} credentials whose user name is the station's id give a password.
    """
    assert basicPassword(header, "CP001") == expected


def test_failuresFromOneAddressAreSlowedDown():
    """
    After three failures, each attempt waits twice as long as the one
    before, at most 30 s; a success or ten quiet minutes start afresh; other
    addresses are not slowed.
    """
    from twisted.internet.task import Clock

    clock = Clock()
    throttle = FailureThrottle(clock)
    delays = []
    for _ in range(10):
        delays.append(throttle.delay("tcp:10.0.0.1:1"))
        throttle.failed("tcp:10.0.0.1:1")
    assert delays == [0, 0, 0, 1, 2, 4, 8, 16, 30, 30]
    assert throttle.delay("tcp:10.0.0.2:1") == 0
    throttle.succeeded("tcp:10.0.0.1:1")
    assert throttle.delay("tcp:10.0.0.1:1") == 0
    for _ in range(5):
        throttle.failed("tcp:10.0.0.1:1")
    clock.advance(601)
    assert throttle.delay("tcp:10.0.0.1:1") == 0


# Station authentication in memory


def setPassword(centralSystem, chargePointId, secret):
    """
    Set a station's password in an in-memory central system (done at once).
    """
    done = ensureDeferred(centralSystem.service.stationSecurity.setPassword(chargePointId, secret))
    assert done.called


@pytest.fixture
def profile1():
    """
    A central system whose stations use profile 1; CP001's password is L{HEX_PASSWORD}.
    """
    centralSystem = MemoryCentralSystem("[ocpp]\nsecurity_profile = 1\n")
    setPassword(centralSystem, "CP001", passwordBytes(HEX_PASSWORD))
    return centralSystem


@pytest.mark.parametrize(
    "password", [bytes.fromhex(HEX_PASSWORD), HEX_PASSWORD, HEX_PASSWORD.upper()]
)
def test_rightPasswordUpgrades(profile1, password):
    """
    The key's raw bytes or its hex form upgrade the connection.
    """
    station = profile1.connect("CP001", headers={"Authorization": basic("CP001", password)})
    assert station.httpStatus == 101
    assert station.opened


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": basic("CP001", "wrong-password-1")},
        {"Authorization": basic("CP002", HEX_PASSWORD)},
        {"Authorization": "Bearer " + HEX_PASSWORD},
    ],
    ids=["missing", "wrong", "wrongUser", "notBasic"],
)
def test_missingOrWrongCredentialsAre401(profile1, headers):
    """
    A missing header, a wrong password, another user name or another scheme
    get HTTP 401 and no upgrade.
    """
    station = profile1.connect("CP001", headers=headers)
    assert station.httpStatus == 401
    assert not station.opened
    assert profile1.service.session("CP001") is None


def test_stationWithoutPasswordIsRefused(profile1):
    """
    A profile 1 station with no password set cannot connect.
    """
    station = profile1.connect("CP002", headers={"Authorization": basic("CP002", HEX_PASSWORD)})
    assert station.httpStatus == 401


def test_passwordIsNeverLogged(profile1):
    """
    Refusals are logged with the station and address, never the password.
    """
    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        profile1.connect("CP001", headers={"Authorization": basic("CP001", "secret-password-1")})
    finally:
        globalLogPublisher.removeObserver(events.append)
    refusals = [e for e in events if e.get("log_format", "").startswith("Refused")]
    assert [(e["chargePointId"], e["reason"]) for e in refusals] == [("CP001", "wrong password")]
    assert "secret-password-1" not in repr(events)


def test_repeatedFailuresAreSlowedDown(profile1, monkeypatch):
    """
    After three failures from one address, the next attempt is answered only
    after a delay, even with the right password.
    """
    for _ in range(3):
        assert profile1.connect("CP001").httpStatus == 401
    station = profile1.connect("CP001", headers={"Authorization": basic("CP001", HEX_PASSWORD)})
    assert station.httpStatus is None
    profile1.advance(1)
    assert station.httpStatus == 101


@pytest.mark.parametrize("profile", [2, 3])
def test_tlsProfilesAreRefusedOnPlainEndpoint(profile):
    """
    A station whose profile needs TLS is refused on a plain endpoint (403),
    even with the right password.
    """
    centralSystem = MemoryCentralSystem(f"[ocpp]\nsecurity_profile = {profile}\n")
    setPassword(centralSystem, "CP001", b"x" * 16)
    station = centralSystem.connect("CP001", headers={"Authorization": basic("CP001", "x" * 16)})
    assert station.httpStatus == 403
    assert not station.opened


def test_ownProfileOverridesSiteDefault(profile1):
    """
    A station's own profile 0 needs no credentials where the site default is 1.
    """
    profile1.store.setSecurityProfile("CP009", 0)
    assert profile1.connect("CP009").opened
    assert profile1.connect("CP010").httpStatus == 401


# The operator API: roles, tokens, audit


async def withTokens(service):
    """
    Create a C{read}, an C{operate}, an C{admin} and a revoked token.

    @return: the tokens by name.
    """
    tokens = {}
    for role in ("read", "operate", "admin", "gone"):
        tokens[role] = f"token-{role}"
        await service.store.createApiToken(
            role, tokenHash(tokens[role]), "read" if role == "gone" else role, T0
        )
    await service.store.revokeApiToken("gone", T0)
    return tokens


@pytest_twisted.async_yield_fixture
async def secured():
    service = await startLive()
    tokens = await withTokens(service)
    yield Live(service), tokens
    await service.stopService()


@pytest_twisted.ensureDeferred
async def test_rolesAreChecked(secured):
    """
    C{read} may GET, C{operate} may change id tags, only C{admin} may manage
    security; no token, a wrong one or a revoked one get 401.
    """
    api, tokens = secured
    password = {"password": TEXT_PASSWORD}
    cases = [
        ("read", "GET", "/idtags", None, 200),
        ("read", "PUT", "/idtags/T1", {"status": "Accepted"}, 403),
        ("operate", "PUT", "/idtags/T1", {"status": "Accepted"}, 201),
        ("operate", "PUT", "/chargepoints/CP001/password", password, 403),
        ("operate", "GET", "/audit", None, 403),
        ("admin", "PUT", "/chargepoints/CP001/password", password, 204),
        (None, "GET", "/idtags", None, 401),
        ("wrong", "GET", "/idtags", None, 401),
        ("gone", "GET", "/idtags", None, 401),
    ]
    for name, method, path, body, expected in cases:
        token = tokens.get(name, name)
        status, answer = await api.request(method, path, body, token=token)
        assert status == expected, (name, method, path, answer)
        if status == 403:
            assert answer["error"] == "Forbidden"
            assert "needs the" in answer["message"]
        if status == 401:
            assert answer["error"] == "Unauthorized"


@pytest_twisted.ensureDeferred
async def test_auditLogRecordsChanges(secured):
    """
    Every authenticated request other than GET is recorded with the token's
    name, method, path and status; GETs are not; only C{admin} reads it.
    """
    api, tokens = secured
    await api.request("PUT", "/idtags/T1", {"status": "Accepted"}, token=tokens["operate"])
    await api.request("PUT", "/idtags/T1", {"status": "Bad"}, token=tokens["operate"])
    await api.request("GET", "/idtags", token=tokens["read"])
    await api.request("DELETE", "/idtags/T1", token=tokens["read"])
    await api.request("DELETE", "/idtags/T1", token=None)
    status, entries = await api.request("GET", "/audit?limit=2", token=tokens["admin"])
    assert status == 200
    assert [(e["who"], e["method"], e["path"], e["status"]) for e in entries] == [
        ("operate", "PUT", "/api/v1/idtags/T1", 400),
        ("read", "DELETE", "/api/v1/idtags/T1", 403),
    ]
    assert entries[0]["timestamp"].endswith("Z")
    assert (await api.request("GET", "/audit?limit=0", token=tokens["admin"]))[1] == {
        "error": "BadRequest",
        "message": "limit must be a whole number from 1 to 10000",
    }


@pytest_twisted.ensureDeferred
async def test_configTokenIsAdminAlongsideStoredTokens():
    """
    C{[api] token} stays an C{admin} token, audited as C{config}; stored tokens work too.
    """
    service = await startLive("token = s3cret\n")
    try:
        api = Live(service, token="s3cret")
        tokens = await withTokens(service)
        assert (await api.request("PUT", "/idtags/T1", {"status": "Accepted"}))[0] == 201
        assert (await api.request("GET", "/idtags", token=tokens["read"]))[0] == 200
        assert (await api.request("GET", "/idtags", token=None))[0] == 401
        entries = (await api.request("GET", "/audit"))[1]
        assert [entry["who"] for entry in entries] == ["config"]
    finally:
        await service.stopService()


@pytest_twisted.ensureDeferred
async def test_openApiIsAnonymousAdminUntilATokenExists(live):
    """
    Without any token the API is open and audits C{anonymous}; once a token
    is created, requests without it are refused.
    """
    assert (await live.request("PUT", "/idtags/T1", {"status": "Accepted"}))[0] == 201
    assert [entry["who"] for entry in (await live.request("GET", "/audit"))[1]] == ["anonymous"]
    await live.service.store.createApiToken("ops", tokenHash("t"), "read", T0)
    assert (await live.request("GET", "/idtags"))[0] == 401
    assert (await live.request("GET", "/idtags", token="t"))[0] == 200


def test_operatorRoles():
    """
    Each role may do what the ones before it may.
    """
    assert Operator("a", "admin").may("operate")
    assert Operator("o", "operate").may("read")
    assert not Operator("o", "operate").may("admin")
    assert not Operator("r", "read").may("operate")


def test_routeRoleMustBeKnown():
    """
    Declaring a route with an unknown role is an error naming the roles.
    """
    from kcsms.api.router import route

    with pytest.raises(ValueError, match="role must be one of read, operate, admin"):
        route("GET", "/x", "x", {}, role="root")


# Station security routes


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "missing field 'password'"),
        ({"password": 1234567890123456}, "password must be a string"),
        ({"password": "short"}, "a password is 16 to 20 characters"),
        ({"password": TEXT_PASSWORD, "user": "x"}, "unknown field 'user'"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_badPasswordBodies(live, body, message):
    """
    Each bad password body gets 400 with what is wrong.
    """
    status, answer = await live.request("PUT", "/chargepoints/CP001/password", body)
    assert status == 400
    assert message in answer["message"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"securityProfile": 4}, "securityProfile must be 0, 1, 2 or 3 or null"),
        ({"securityProfile": "1"}, "securityProfile must be 0, 1, 2 or 3 or null"),
        ({"securityProfile": True}, "securityProfile must be 0, 1, 2 or 3 or null"),
        ({}, "missing field 'securityProfile'"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_badSecurityBodies(live, body, message):
    """
    Each bad security profile body gets 400 with what is wrong.
    """
    status, answer = await live.request("PUT", "/chargepoints/CP001/security", body)
    assert status == 400
    assert answer["message"] == message


@pytest_twisted.ensureDeferred
async def test_securitySettings(live):
    """
    A station follows the site default until it has a profile of its own;
    null makes it follow the default again; the password is only reported as set.
    """
    path = "/chargepoints/CP001/security"
    default = {"securityProfile": 0, "siteDefault": True, "passwordSet": False}
    assert await live.request("GET", path) == (200, default)
    assert (await live.request("PUT", "/chargepoints/CP001/password", {"password": HEX_PASSWORD}))[
        0
    ] == 204
    own = {"securityProfile": 2, "siteDefault": False, "passwordSet": True}
    assert await live.request("PUT", path, {"securityProfile": 2}) == (200, own)
    assert await live.request("PUT", path, {"securityProfile": None}) == (
        200,
        {**default, "passwordSet": True},
    )


async def refusal(port, chargePointId, headers=None):
    """
    @return: the reason the upgrade was refused with, or L{None} when it succeeded.
    """
    station = Station(port, chargePointId, headers)
    try:
        await station.connect()
    except Exception as e:
        return str(e)
    await station.close()
    return None


@pytest_twisted.ensureDeferred
async def test_rotatePasswordSwitchesOnlyWhenAccepted(live):
    """
    TC_073: rotation sends ChangeConfiguration(AuthorizationKey) with 40 hex
    digits; a Rejected answer keeps the old password, an Accepted one makes
    the new one (raw or hex) the only one accepted.
    """
    await live.request("PUT", "/chargepoints/CP001/password", {"password": TEXT_PASSWORD})
    await live.request("PUT", "/chargepoints/CP001/security", {"securityProfile": 1})
    old = {"Authorization": basic("CP001", TEXT_PASSWORD)}
    assert await refusal(live.ocppPort, "CP001") is not None
    station = await Station(live.ocppPort, "CP001", old).connect()
    keys = []
    for answer in ("Rejected", "Accepted"):
        rotation = live.request("POST", "/chargepoints/CP001/rotate-password")
        call = await station.nextCall()
        assert call[2] == "ChangeConfiguration"
        assert call[3]["key"] == "AuthorizationKey"
        keys.append(call[3]["value"])
        station.answer(call, {"status": answer})
        assert await rotation == (200, {"status": answer, "changed": answer == "Accepted"})
        if answer == "Rejected":
            # This replaces the station's connection: connect it again after.
            assert await refusal(live.ocppPort, "CP001", old) is None
            station = await Station(live.ocppPort, "CP001", old).connect()
    new = keys[-1]
    assert len(new) == 40 and bytes.fromhex(new)
    assert keys[0] != new
    assert "401" in await refusal(live.ocppPort, "CP001", old)
    assert await refusal(live.ocppPort, "CP001", {"Authorization": basic("CP001", new)}) is None
    raw = {"Authorization": basic("CP001", bytes.fromhex(new))}
    assert await refusal(live.ocppPort, "CP001", raw) is None


@pytest_twisted.ensureDeferred
async def test_upgradeSecurityProfile(live):
    """
    TC_083: raising a station's profile sends ChangeConfiguration(SecurityProfile)
    and, once accepted, a connection at the old profile is refused. Lowering,
    a missing password or TLS are refused before anything is sent.
    """
    path = "/chargepoints/CP001/security/upgrade"
    station = await live.station()
    status, answer = await live.request("POST", path, {"securityProfile": 1})
    assert (status, answer["error"]) == (409, "PrerequisiteMissing")
    assert "set the station's password first" in answer["message"]
    await live.request("PUT", "/chargepoints/CP001/password", {"password": TEXT_PASSWORD})
    upgrade = live.request("POST", path, {"securityProfile": 1})
    call = await station.nextCall()
    assert call[2:] == ["ChangeConfiguration", {"key": "SecurityProfile", "value": "1"}]
    station.answer(call, {"status": "Accepted"})
    assert await upgrade == (200, {"status": "Accepted", "changed": True})
    assert "401" in await refusal(live.ocppPort, "CP001")
    auth = {"Authorization": basic("CP001", TEXT_PASSWORD)}
    assert await refusal(live.ocppPort, "CP001", auth) is None
    status, answer = await live.request("POST", path, {"securityProfile": 1})
    assert (status, answer["message"]) == (
        400,
        "CP001 is at security profile 1; a profile can only be raised",
    )
    status, answer = await live.request("POST", path, {"securityProfile": 2})
    assert (status, answer["error"]) == (409, "PrerequisiteMissing")
    assert "no TLS endpoint" in answer["message"]


def test_tokensCommand(tmp_path):
    """
    C{python -m kcsms.tokens} creates (printing the token once), lists and
    revokes tokens; a taken name, an unknown one or a memory database fail
    with one line.
    """
    config = tmp_path / "kcsms.ini"
    config.write_text(f"[storage]\ndatabase = sqlite:{tmp_path / 'kcsms.sqlite'}\n")

    def tokens(*arguments):
        return subprocess.run(
            [sys.executable, "-m", "kcsms.tokens", "--config", str(config), *arguments],
            capture_output=True,
            text=True,
        )

    created = tokens("create", "alice", "--role", "operate")
    assert created.returncode == 0, created.stderr
    assert len(created.stdout.strip()) >= 40
    taken = tokens("create", "alice")
    assert (taken.returncode, taken.stderr) == (
        1,
        "kcsms.tokens: there is already a token named 'alice'\n",
    )
    assert tokens("revoke", "alice").returncode == 0
    again = tokens("revoke", "alice")
    assert (again.returncode, again.stderr) == (1, "kcsms.tokens: no valid token named 'alice'\n")
    listed = tokens("list").stdout.split("\t")
    assert (listed[0], listed[1], listed[3]) == ("alice", "operate", "revoked\n")
    config.write_text("[storage]\ndatabase = memory:\n")
    memory = tokens("list")
    assert memory.returncode == 1
    assert "memory: database" in memory.stderr
