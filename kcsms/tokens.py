"""
Operator API bearer tokens: who an API request comes from, and the
C{python -m kcsms.tokens create|revoke|list} command that manages them.

A token is 32 random bytes, shown once when it is created; the store keeps
only its SHA-256 (a random token needs no slow hash), its name and its role
(C{read}, C{operate} or C{admin}).  The C{[api] token} of the configuration
is an C{admin} token named C{config}.  While neither exists, the API is
open and every caller is C{anonymous} with the C{admin} role.
"""

import argparse
import hashlib
import hmac
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.internet.task import react

from kcsms.config import ConfigError, fromFile
from kcsms.model import API_ROLES
from kcsms.storage import StorageError, openStore

__all__ = ["Operator", "OperatorTokens", "newToken", "tokenHash", "main"]


def newToken() -> str:
    """
    @return: a new random token, URL-safe text.
    """
    return secrets.token_urlsafe(32)


def tokenHash(token: str) -> str:
    """
    @return: what the store keeps of C{token}.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Operator:
    """
    The caller of an API request.

    @ivar name: the token's name, as the audit log records it.
    @ivar role: one of L{API_ROLES}.
    """

    name: str
    role: str

    def may(self, role: str) -> bool:
        """
        @return: whether this operator has C{role} (or a stronger one).
        """
        return API_ROLES.index(self.role) >= API_ROLES.index(role)


class OperatorTokens:
    """
    Identifies API callers by their bearer token.

    @param store: an L{kcsms.interfaces.ISecurityStore}, read on every
        request, so that a revoked token is refused at once.
    @param configToken: C{[api] token}, or empty.
    """

    def __init__(self, store: Any, configToken: str) -> None:
        self._store = store
        self._configToken = configToken

    async def identify(self, authorization: bytes | None) -> Operator | None:
        """
        @param authorization: the request's C{Authorization} header.
        @return: the caller, or L{None} when it must be refused.
        """
        scheme, _, token = (authorization or b"").decode("utf-8", "replace").partition(" ")
        if scheme.lower() == "bearer" and token:
            if self._configToken and hmac.compare_digest(token, self._configToken):
                return Operator("config", "admin")
            found = await self._store.getApiToken(tokenHash(token))
            if found is not None and found.revokedAt is None:
                return Operator(found.name, found.role)
        if self._configToken or any(
            token.revokedAt is None for token in await self._store.listApiTokens()
        ):
            return None
        return Operator("anonymous", "admin")


async def _run(arguments: argparse.Namespace, store: Any) -> int:
    now = datetime.now(UTC)
    if arguments.command == "create":
        token = newToken()
        if not await store.createApiToken(arguments.name, tokenHash(token), arguments.role, now):
            print(
                f"kcsms.tokens: there is already a token named {arguments.name!r}", file=sys.stderr
            )
            return 1
        print(token)
    elif arguments.command == "revoke":
        if not await store.revokeApiToken(arguments.name, now):
            print(f"kcsms.tokens: no valid token named {arguments.name!r}", file=sys.stderr)
            return 1
        print(f"kcsms.tokens: revoked {arguments.name}")
    else:
        for found in await store.listApiTokens():
            state = "valid" if found.revokedAt is None else "revoked"
            print(f"{found.name}\t{found.role}\t{found.createdAt.isoformat()}\t{state}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """
    @return: the exit status: 0 on success, 1 otherwise.
    """
    parser = argparse.ArgumentParser(
        prog="python -m kcsms.tokens", description="Manage the operator API's bearer tokens."
    )
    parser.add_argument("--config", default="etc/kcsms.ini", help="the INI configuration file")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a token and print it (only this once)")
    create.add_argument("name", help="who uses it; the audit log records this name")
    create.add_argument("--role", choices=API_ROLES, default="read")
    revoke = commands.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("name")
    commands.add_parser("list", help="list the tokens: name, role, created, state")
    arguments = parser.parse_args(argv)
    try:
        config = fromFile(arguments.config)
        if config.storage.database == "memory:":
            raise StorageError("tokens in a memory: database would be lost at once")
        from twisted.internet import reactor

        store = openStore(config.storage.database, reactor, 1)
    except (ConfigError, StorageError) as e:
        print(f"kcsms.tokens: {e}", file=sys.stderr)
        return 1
    status: list[int] = []

    async def run(reactor: Any) -> None:
        try:
            status.append(await _run(arguments, store))
        finally:
            await store.close()

    try:
        react(lambda reactor: ensureDeferred(run(reactor)))
    except SystemExit as e:
        if e.code:
            return 1
    return status[0]


if __name__ == "__main__":
    sys.exit(main())
