"""
The message log and what cluster nodes share: the interactions (C{_txn}
generators) of L{kcsms.storage.store.Store}.

The message log is kept in chunks: each write stores one row per station
holding that station's frames in it, in order (see schema file 9).
"""

import json
from collections.abc import Sequence
from datetime import datetime

from kcsms.model import (
    LoggedMessage,
)
from kcsms.ocppj import compactJson
from kcsms.storage.common import insertRows_txn
from kcsms.storage.sql import Interaction, Query
from kcsms.timestamps import formatTimestamp, parseTimestamp

# Message log

#: Chunks read at a time while gathering a station's latest frames.
_CHUNKS_PER_READ = 32


def appendMessages_txn(messages: Sequence[LoggedMessage]) -> Interaction[None]:
    chunks: dict[str, list[tuple[str, str, str]]] = {}
    stamps: dict[datetime, str] = {}
    for message in messages:
        stamp = stamps.get(message.timestamp)
        if stamp is None:
            stamp = stamps[message.timestamp] = formatTimestamp(message.timestamp)
        frames = chunks.get(message.chargePointId)
        if frames is None:
            frames = chunks[message.chargePointId] = []
        frames.append((stamp, message.direction, message.message))
    yield from insertRows_txn(
        "INSERT INTO message_log_chunks (charge_point_id, timestamp, frame_count, frames)",
        [
            (chargePointId, frames[-1][0], len(frames), compactJson(frames))
            for chargePointId, frames in chunks.items()
        ],
    )


def listMessages_txn(chargePointId: str, limit: int) -> Interaction[list[LoggedMessage]]:
    newestFirst: list[LoggedMessage] = []
    before: int | None = None
    while len(newestFirst) < limit:
        older, params = ("", ()) if before is None else (" AND id < ?", (before,))
        rows = yield Query(
            "SELECT id, frames FROM message_log_chunks"
            f" WHERE charge_point_id = ?{older} ORDER BY id DESC LIMIT ?",
            (chargePointId, *params, _CHUNKS_PER_READ),
        )
        for chunkId, frames in rows:
            before = chunkId
            newestFirst.extend(
                LoggedMessage(chargePointId, parseTimestamp(stamp), direction, message)
                for stamp, direction, message in reversed(json.loads(frames))
            )
        if len(rows) < _CHUNKS_PER_READ:
            break
    return newestFirst[:limit][::-1]


def pruneMessages_txn(before: datetime, limit: int | None) -> Interaction[int]:
    stamp = formatTimestamp(before)
    if limit is None:
        rows = yield Query(
            "DELETE FROM message_log_chunks WHERE timestamp < ? RETURNING frame_count", (stamp,)
        )
    else:
        rows = yield Query(
            "DELETE FROM message_log_chunks WHERE id IN (SELECT id FROM message_log_chunks"
            " WHERE timestamp < ? ORDER BY timestamp LIMIT ?) RETURNING frame_count",
            (stamp, limit),
        )
    return sum(count for (count,) in rows)


# Cluster


def renewNode_txn(nodeId: str, leaseUntil: datetime) -> Interaction[None]:
    yield Query(
        "INSERT INTO nodes (node_id, lease_until) VALUES (?, ?)"
        " ON CONFLICT (node_id) DO UPDATE SET lease_until = excluded.lease_until",
        (nodeId, formatTimestamp(leaseUntil)),
    )


def removeNode_txn(nodeId: str) -> Interaction[None]:
    yield Query("DELETE FROM presence WHERE node_id = ?", (nodeId,))
    yield Query("DELETE FROM nodes WHERE node_id = ?", (nodeId,))


def setPresence_txn(chargePointId: str, nodeId: str, at: datetime) -> Interaction[str | None]:
    rows = yield Query("SELECT node_id FROM presence WHERE charge_point_id = ?", (chargePointId,))
    yield Query(
        "INSERT INTO presence (charge_point_id, node_id, connected_at) VALUES (?, ?, ?)"
        " ON CONFLICT (charge_point_id) DO UPDATE"
        " SET node_id = excluded.node_id, connected_at = excluded.connected_at",
        (chargePointId, nodeId, formatTimestamp(at)),
    )
    return rows[0][0] if rows else None


def clearPresence_txn(chargePointId: str, nodeId: str) -> Interaction[None]:
    yield Query(
        "DELETE FROM presence WHERE charge_point_id = ? AND node_id = ?", (chargePointId, nodeId)
    )


_LIVE_PRESENCE = (
    "SELECT p.charge_point_id, p.node_id FROM presence p"
    " JOIN nodes n ON n.node_id = p.node_id WHERE n.lease_until > ?"
)


def locate_txn(chargePointId: str, now: datetime) -> Interaction[str | None]:
    rows = yield Query(
        _LIVE_PRESENCE + " AND p.charge_point_id = ?", (formatTimestamp(now), chargePointId)
    )
    return rows[0][1] if rows else None


def liveNodes_txn(now: datetime) -> Interaction[set[str]]:
    rows = yield Query("SELECT node_id FROM nodes WHERE lease_until > ?", (formatTimestamp(now),))
    return {nodeId for (nodeId,) in rows}


def listPresence_txn(now: datetime) -> Interaction[dict[str, str]]:
    rows = yield Query(_LIVE_PRESENCE, (formatTimestamp(now),))
    return dict(rows)


def putClusterMessage_txn(body: str, at: datetime) -> Interaction[int]:
    rows = yield Query(
        "INSERT INTO cluster_messages (body, created_at) VALUES (?, ?) RETURNING id",
        (body, formatTimestamp(at)),
    )
    return rows[0][0]  # type: ignore[no-any-return]


def getClusterMessage_txn(messageId: int) -> Interaction[str | None]:
    rows = yield Query("SELECT body FROM cluster_messages WHERE id = ?", (messageId,))
    return rows[0][0] if rows else None


def pruneClusterMessages_txn(before: datetime) -> Interaction[None]:
    yield Query("DELETE FROM cluster_messages WHERE created_at < ?", (formatTimestamp(before),))
