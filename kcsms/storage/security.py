"""
Station credentials, API tokens and the audit log: the interactions (C{_txn} generators) of L{kcsms.storage.store.Store}.
"""

from datetime import datetime
from typing import Any

from kcsms.model import (
    ApiToken,
    AuditEntry,
    StationCredentials,
)
from kcsms.storage.common import parseOptional
from kcsms.storage.sql import Interaction, Query, Row
from kcsms.timestamps import formatTimestamp, parseTimestamp

# Security


def getStationCredentials_txn(chargePointId: str) -> Interaction[StationCredentials]:
    rows = yield Query(
        "SELECT security_profile, password_hash FROM station_credentials WHERE charge_point_id = ?",
        (chargePointId,),
    )
    return (
        StationCredentials(chargePointId, *rows[0]) if rows else StationCredentials(chargePointId)
    )


def _setCredential_txn(chargePointId: str, column: str, value: Any) -> Interaction[None]:
    yield Query(
        f"INSERT INTO station_credentials (charge_point_id, {column}) VALUES (?, ?)"
        f" ON CONFLICT (charge_point_id) DO UPDATE SET {column} = excluded.{column}",
        (chargePointId, value),
    )


def setSecurityProfile_txn(chargePointId: str, securityProfile: int | None) -> Interaction[None]:
    yield from _setCredential_txn(chargePointId, "security_profile", securityProfile)


def setPasswordHash_txn(chargePointId: str, passwordHash: str) -> Interaction[None]:
    yield from _setCredential_txn(chargePointId, "password_hash", passwordHash)


_API_TOKEN_COLUMNS = "name, role, created_at, revoked_at"


def _apiToken(row: Row) -> ApiToken:
    name, role, createdAt, revokedAt = row
    return ApiToken(name, role, parseTimestamp(createdAt), parseOptional(revokedAt))


def createApiToken_txn(name: str, tokenHash: str, role: str, at: datetime) -> Interaction[bool]:
    rows = yield Query(
        "INSERT INTO api_tokens (name, token_hash, role, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO NOTHING RETURNING name",
        (name, tokenHash, role, formatTimestamp(at)),
    )
    return bool(rows)


def getApiToken_txn(tokenHash: str) -> Interaction[ApiToken | None]:
    rows = yield Query(
        f"SELECT {_API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?", (tokenHash,)
    )
    return _apiToken(rows[0]) if rows else None


def revokeApiToken_txn(name: str, at: datetime) -> Interaction[bool]:
    rows = yield Query(
        "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL RETURNING name",
        (formatTimestamp(at), name),
    )
    return bool(rows)


def listApiTokens_txn() -> Interaction[list[ApiToken]]:
    rows = yield Query(f"SELECT {_API_TOKEN_COLUMNS} FROM api_tokens ORDER BY name")
    return [_apiToken(row) for row in rows]


def recordAudit_txn(entry: AuditEntry) -> Interaction[None]:
    yield Query(
        "INSERT INTO audit_log (timestamp, who, method, path, status) VALUES (?, ?, ?, ?, ?)",
        (formatTimestamp(entry.timestamp), entry.who, entry.method, entry.path, entry.status),
    )


def listAudit_txn(limit: int) -> Interaction[list[AuditEntry]]:
    rows = yield Query(
        "SELECT timestamp, who, method, path, status FROM audit_log ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [
        AuditEntry(parseTimestamp(timestamp), who, method, path, status)
        for timestamp, who, method, path, status in reversed(rows)
    ]
