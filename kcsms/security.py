"""
Station authentication (OCPP 1.6 Security Whitepaper, profiles 0 to 3):
passwords as salted slow hashes, the HTTP Basic check of the WebSocket
upgrade, the transport each profile needs, and slowing down addresses that
keep failing.

A station's password is its C{AuthorizationKey}: 16 to 20 bytes, given
either as text or as 32 to 40 hexadecimal digits.  Only the hash of its
bytes is kept; a station may send those bytes or their hex form.  Passwords
are never logged.
"""

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autobahn.websocket.types import ConnectionDeny
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorThreads
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from kcsms.model import StationCredentials

__all__ = [
    "PasswordError",
    "passwordBytes",
    "hashPassword",
    "checkPassword",
    "basicPassword",
    "Transport",
    "FailureThrottle",
    "StationSecurity",
]

#: scrypt's cost (N); stored in each hash, so lowering it (tests) keeps old hashes valid.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16

#: An AuthorizationKey's length in bytes (OCPP 1.6 Security Whitepaper).
MIN_PASSWORD_BYTES = 16
MAX_PASSWORD_BYTES = 20

#: Failed attempts from one address that are answered at once; each later
#: one waits twice as long as the one before, up to L{MAX_DELAY} seconds.
FREE_FAILURES = 3
MAX_DELAY = 30.0
#: Seconds without a failure after which an address starts afresh.
FAILURE_MEMORY = 600.0


class PasswordError(ValueError):
    """
    Not a usable station password; the message says why.
    """


def passwordBytes(password: str) -> bytes:
    """
    The bytes of a password as an operator gives it: 32 to 40 hexadecimal
    digits are the bytes they spell, 16 to 20 characters are their UTF-8.

    @raise PasswordError: for anything else.
    """
    if 2 * MIN_PASSWORD_BYTES <= len(password) <= 2 * MAX_PASSWORD_BYTES:
        try:
            return bytes.fromhex(password)
        except ValueError:
            pass
    elif MIN_PASSWORD_BYTES <= len(password.encode("utf-8")) <= MAX_PASSWORD_BYTES:
        return password.encode("utf-8")
    raise PasswordError(
        f"a password is {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} characters, or "
        f"{2 * MIN_PASSWORD_BYTES} to {2 * MAX_PASSWORD_BYTES} hexadecimal digits "
        "(an even number)"
    )


def _scrypt(secret: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * n * r + 2**20)


def hashPassword(secret: bytes) -> str:
    """
    @return: C{scrypt$N$r$p$salt$hash} (base64) of C{secret} with a new random salt.
    """
    salt = os.urandom(SALT_BYTES)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encode = base64.b64encode
    return (
        f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"
    )


def checkPassword(given: bytes, passwordHash: str) -> bool:
    """
    @param given: the password a station sent: the key's bytes or their hex form.
    @return: whether it is the password C{passwordHash} was made from.
    """
    _, n, r, p, salt, digest = passwordHash.split("$")
    expected = base64.b64decode(digest)
    candidates = [given]
    if 2 * MIN_PASSWORD_BYTES <= len(given) <= 2 * MAX_PASSWORD_BYTES:
        try:
            candidates.append(bytes.fromhex(given.decode("ascii")))
        except ValueError:
            pass
    return any(
        hmac.compare_digest(
            _scrypt(candidate, base64.b64decode(salt), int(n), int(r), int(p)), expected
        )
        for candidate in candidates
    )


def basicPassword(header: str | None, chargePointId: str) -> bytes | None:
    """
    @param header: the C{Authorization} header of the upgrade request.
    @return: the password of C{Basic base64(chargePointId:password)}, or
        L{None} when the header is missing, malformed or for another user.
    """
    scheme, _, credentials = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except binascii.Error:
        return None
    user = chargePointId.encode("utf-8") + b":"
    return decoded[len(user) :] if decoded.startswith(user) else None


@dataclass(frozen=True)
class Transport:
    """
    What the station's connection offers, for L{StationSecurity.admit}.

    @ivar secure: whether it runs over TLS.
    @ivar clientCommonName: the CN of the client certificate the TLS
        handshake verified, or L{None}.
    """

    secure: bool
    clientCommonName: str | None = None


class FailureThrottle:
    """
    Failed authentications by address: after L{FREE_FAILURES}, each attempt
    from that address is answered only after a growing delay.
    """

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}

    def delay(self, address: str) -> float:
        """
        @return: seconds to wait before answering an attempt from C{address}.
        """
        count, last = self._failures.get(address, (0, 0.0))
        if self._clock.seconds() - last > FAILURE_MEMORY:
            self._failures.pop(address, None)
            return 0.0
        if count < FREE_FAILURES:
            return 0.0
        return float(min(2 ** (count - FREE_FAILURES), MAX_DELAY))

    def failed(self, address: str) -> None:
        count, _ = self._failures.get(address, (0, 0.0))
        self._failures[address] = (count + 1, self._clock.seconds())

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)


class StationSecurity:
    """
    Decides whether a station may connect, and keeps its credentials.

    @param centralSystem: an L{kcsms.interfaces.ICentralSystem} whose
        C{store} keeps the credentials.
    @param defaultProfile: the profile of stations without one of their own.
    @param reactor: runs password hashing in its thread pool when it has one.
    """

    log = Logger()

    def __init__(self, centralSystem: Any, defaultProfile: int, reactor: Any) -> None:
        self.centralSystem = centralSystem
        self.defaultProfile = defaultProfile
        self._reactor = reactor
        self.throttle = FailureThrottle(reactor)

    def _offThread(self, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
        if IReactorThreads.providedBy(self._reactor):
            return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), f, *args)
        return succeed(f(*args))

    def profileOf(self, credentials: StationCredentials) -> int:
        """
        @return: the station's own profile, or the site default.
        """
        if credentials.securityProfile is None:
            return self.defaultProfile
        return credentials.securityProfile

    async def setPassword(self, chargePointId: str, secret: bytes) -> None:
        """
        Replace a station's password: only its hash is kept.
        """
        passwordHash = await self._offThread(hashPassword, secret)
        await self.centralSystem.store.setPasswordHash(chargePointId, passwordHash)

    async def admit(
        self, chargePointId: str, authorization: str | None, address: str, transport: Transport
    ) -> None:
        """
        Check a station's upgrade request against its security profile.

        @param authorization: its C{Authorization} header, if any.
        @param address: where it connects from, for slowing down failures.
        @raise ConnectionDeny: 401 when its credentials are missing or wrong,
            403 when its connection lacks what its profile needs.
        """
        delay = self.throttle.delay(address)
        if delay:
            await deferLater(self._reactor, delay)
        credentials = await self.centralSystem.store.getStationCredentials(chargePointId)
        try:
            await self._check(credentials, authorization, transport)
        except ConnectionDeny as e:
            self.throttle.failed(address)
            self.log.warn(
                "Refused {chargePointId} from {address}: {reason}",
                chargePointId=chargePointId,
                address=address,
                reason=e.reason,
            )
            raise
        self.throttle.succeeded(address)

    async def _check(
        self, credentials: StationCredentials, authorization: str | None, transport: Transport
    ) -> None:
        profile = self.profileOf(credentials)
        if profile >= 2 and not transport.secure:
            raise ConnectionDeny(ConnectionDeny.FORBIDDEN, f"security profile {profile} needs TLS")
        if profile == 3:
            if transport.clientCommonName != credentials.chargePointId:
                raise ConnectionDeny(
                    ConnectionDeny.FORBIDDEN,
                    "security profile 3 needs a client certificate whose CN is the station's id",
                )
            return
        if profile == 0:
            return
        given = basicPassword(authorization, credentials.chargePointId)
        if given is None:
            raise ConnectionDeny(
                401, "HTTP Basic authentication with the station's id as user name required"
            )
        if credentials.passwordHash is None or not await self._offThread(
            checkPassword, given, credentials.passwordHash
        ):
            raise ConnectionDeny(401, "wrong password")
