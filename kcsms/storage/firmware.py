"""
Firmware jobs, images, diagnostics files and rollouts: the interactions (C{_txn} generators) of L{kcsms.storage.store.Store}.
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kcsms.model import (
    COMPLETED_FIRMWARE_JOB_STATUSES,
    FIRMWARE_JOB_STATUSES,
    DiagnosticsFile,
    FirmwareImage,
    FirmwareJob,
    FirmwareJobEvent,
    FirmwareRollout,
)
from kcsms.storage.common import (
    dumpOptional,
    formatOptional,
    insertOrUpdate_txn,
    loadOptional,
    parseOptional,
    placeholders,
)
from kcsms.storage.sql import Interaction, Query, Row
from kcsms.timestamps import formatTimestamp, parseTimestamp

# Firmware management

_FIRMWARE_JOB_COLUMNS = (
    "job_id, charge_point_id, kind, status, created_at, updated_at, request, file_name,"
    " deadline, rollout_id"
)


def _firmwareJobs_txn(where: str, params: Sequence[Any]) -> Interaction[list[FirmwareJob]]:
    """
    @param where: the condition on C{firmware_jobs} (columns qualified with C{j.}).
    @return: the jobs it selects, by job id, each with its history.
    """
    rows = yield Query(
        f"SELECT {_FIRMWARE_JOB_COLUMNS} FROM firmware_jobs j WHERE {where} ORDER BY job_id",
        params,
    )
    events = yield Query(
        "SELECT job_id, event, at, detail FROM firmware_job_events WHERE job_id IN"
        f" (SELECT job_id FROM firmware_jobs j WHERE {where}) ORDER BY id",
        params,
    )
    history: defaultdict[int, list[FirmwareJobEvent]] = defaultdict(list)
    for jobId, event, eventAt, detail in events:
        history[jobId].append(FirmwareJobEvent(event, parseTimestamp(eventAt), detail))
    return [
        FirmwareJob(
            jobId=jobId,
            chargePointId=chargePointId,
            kind=kind,
            status=status,
            createdAt=parseTimestamp(createdAt),
            updatedAt=parseTimestamp(updatedAt),
            request=loadOptional(request),
            fileName=fileName,
            deadline=parseOptional(deadline),
            rolloutId=rolloutId,
            history=tuple(history[jobId]),
        )
        for (
            jobId,
            chargePointId,
            kind,
            status,
            createdAt,
            updatedAt,
            request,
            fileName,
            deadline,
            rolloutId,
        ) in rows
    ]


def _firmwareJob_txn(jobId: int) -> Interaction[FirmwareJob | None]:
    jobs = yield from _firmwareJobs_txn("j.job_id = ?", (jobId,))
    return jobs[0] if jobs else None


def createFirmwareJob_txn(
    chargePointId: str,
    kind: str,
    request: dict[str, Any] | None,
    status: str,
    at: datetime,
    deadline: datetime | None,
    uploadToken: str | None,
    rolloutId: int | None,
) -> Interaction[FirmwareJob]:
    stamp = formatTimestamp(at)
    rows = yield Query(
        "INSERT INTO firmware_jobs (charge_point_id, kind, status, request, upload_token,"
        " rollout_id, created_at, updated_at, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING job_id",
        (
            chargePointId,
            kind,
            status,
            dumpOptional(request),
            uploadToken,
            rolloutId,
            stamp,
            stamp,
            formatOptional(deadline),
        ),
    )
    jobId = rows[0][0]
    yield Query(
        "INSERT INTO firmware_job_events (job_id, event, at) VALUES (?, ?, ?)",
        (jobId, status, stamp),
    )
    job = yield from _firmwareJob_txn(jobId)
    assert job is not None
    return job


def recordFirmwareJobEvent_txn(
    jobId: int,
    event: str,
    at: datetime,
    deadline: datetime | None,
    detail: str | None,
    fileName: str | None,
) -> Interaction[FirmwareJob | None]:
    """
    Add an event to a job's history; a status event also becomes its status.
    """
    rows = yield Query("SELECT kind FROM firmware_jobs WHERE job_id = ?", (jobId,))
    if not rows:
        return None
    stamp = formatTimestamp(at)
    yield Query(
        "INSERT INTO firmware_job_events (job_id, event, at, detail) VALUES (?, ?, ?, ?)",
        (jobId, event, stamp, detail),
    )
    isStatus = event in FIRMWARE_JOB_STATUSES[rows[0][0]]
    yield Query(
        "UPDATE firmware_jobs SET status = CASE WHEN ? = 1 THEN ? ELSE status END,"
        " updated_at = ?, deadline = ?, file_name = COALESCE(?, file_name) WHERE job_id = ?",
        (int(isStatus), event, stamp, formatOptional(deadline), fileName, jobId),
    )
    return (yield from _firmwareJob_txn(jobId))


def reportFirmwareJobStatus_txn(
    chargePointId: str, kind: str, status: str, at: datetime, deadline: datetime | None
) -> Interaction[FirmwareJob]:
    """
    The station's latest job of C{kind} takes the status, unless it has
    completed; then (or with no job) the station started one of its own.
    """
    rows = yield Query(
        "SELECT job_id, status FROM firmware_jobs WHERE charge_point_id = ? AND kind = ?"
        " ORDER BY job_id DESC LIMIT 1",
        (chargePointId, kind),
    )
    if rows and rows[0][1] not in COMPLETED_FIRMWARE_JOB_STATUSES:
        job = yield from recordFirmwareJobEvent_txn(rows[0][0], status, at, deadline, None, None)
        assert job is not None
        return job
    return (
        yield from createFirmwareJob_txn(
            chargePointId, kind, None, status, at, deadline, None, None
        )
    )


def listFirmwareJobs_txn(
    chargePointId: str | None, kind: str | None, rolloutId: int | None
) -> Interaction[list[FirmwareJob]]:
    conditions = ["1 = 1"]
    params: list[Any] = []
    for column, value in (
        ("charge_point_id", chargePointId),
        ("kind", kind),
        ("rollout_id", rolloutId),
    ):
        if value is not None:
            conditions.append(f"j.{column} = ?")
            params.append(value)
    return (yield from _firmwareJobs_txn(" AND ".join(conditions), params))


def findUploadJob_txn(uploadToken: str) -> Interaction[FirmwareJob | None]:
    jobs = yield from _firmwareJobs_txn("j.upload_token = ?", (uploadToken,))
    return jobs[0] if jobs else None


def timeOutFirmwareJobs_txn(now: datetime) -> Interaction[list[FirmwareJob]]:
    stamp = formatTimestamp(now)
    rows = yield Query(
        "UPDATE firmware_jobs SET status = 'TimedOut', updated_at = ?, deadline = NULL"
        " WHERE deadline IS NOT NULL AND deadline <= ? RETURNING job_id",
        (stamp, stamp),
    )
    if not rows:
        return []
    yield Query(
        "INSERT INTO firmware_job_events (job_id, event, at) VALUES (?, 'TimedOut', ?)",
        [(jobId, stamp) for (jobId,) in rows],
        many=True,
    )
    ids = [jobId for (jobId,) in rows]
    return (yield from _firmwareJobs_txn(f"j.job_id IN ({placeholders(len(ids))})", ids))


def putFirmwareImage_txn(image: FirmwareImage) -> Interaction[bool]:
    values = (image.size, image.sha256, formatTimestamp(image.uploadedAt), image.name)
    return (
        yield from insertOrUpdate_txn(
            Query(
                "INSERT INTO firmware_images (size, sha256, uploaded_at, name) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING RETURNING name",
                values,
            ),
            Query(
                "UPDATE firmware_images SET size = ?, sha256 = ?, uploaded_at = ? WHERE name = ?",
                values,
            ),
        )
    )


def _firmwareImages_txn(where: str, params: Sequence[Any]) -> Interaction[list[FirmwareImage]]:
    rows = yield Query(
        f"SELECT name, size, sha256, uploaded_at FROM firmware_images{where} ORDER BY name", params
    )
    return [
        FirmwareImage(name, size, sha256, parseTimestamp(uploadedAt))
        for name, size, sha256, uploadedAt in rows
    ]


def recordDiagnosticsFile_txn(file: DiagnosticsFile) -> Interaction[None]:
    yield Query(
        "INSERT INTO diagnostics_files (charge_point_id, file_name, size, sha256, uploaded_at,"
        " job_id) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (charge_point_id, file_name) DO UPDATE"
        " SET size = excluded.size, sha256 = excluded.sha256,"
        " uploaded_at = excluded.uploaded_at, job_id = excluded.job_id",
        (
            file.chargePointId,
            file.fileName,
            file.size,
            file.sha256,
            formatTimestamp(file.uploadedAt),
            file.jobId,
        ),
    )


def listDiagnosticsFiles_txn(chargePointId: str) -> Interaction[list[DiagnosticsFile]]:
    rows = yield Query(
        "SELECT charge_point_id, file_name, size, sha256, uploaded_at, job_id"
        " FROM diagnostics_files WHERE charge_point_id = ? ORDER BY uploaded_at, file_name",
        (chargePointId,),
    )
    return [
        DiagnosticsFile(chargePointId, fileName, size, sha256, parseTimestamp(uploadedAt), jobId)
        for chargePointId, fileName, size, sha256, uploadedAt, jobId in rows
    ]


_ROLLOUT_COLUMNS = "rollout_id, request, stations, pace, created_at"


def _rollout(row: Row) -> FirmwareRollout:
    rolloutId, request, stations, pace, createdAt = row
    return FirmwareRollout(
        rolloutId,
        json.loads(request),
        tuple(json.loads(stations)),
        float(pace),
        parseTimestamp(createdAt),
    )


def createFirmwareRollout_txn(
    request: dict[str, Any], stations: Sequence[str], pace: float, at: datetime
) -> Interaction[FirmwareRollout]:
    rows = yield Query(
        "INSERT INTO firmware_rollouts (request, stations, pace, created_at) VALUES (?, ?, ?, ?)"
        f" RETURNING {_ROLLOUT_COLUMNS}",
        (json.dumps(request), json.dumps(list(stations)), pace, formatTimestamp(at)),
    )
    return _rollout(rows[0])


def listFirmwareRollouts_txn(rolloutId: int | None) -> Interaction[list[FirmwareRollout]]:
    where, params = ("", ()) if rolloutId is None else (" WHERE rollout_id = ?", (rolloutId,))
    rows = yield Query(
        f"SELECT {_ROLLOUT_COLUMNS} FROM firmware_rollouts{where} ORDER BY rollout_id", params
    )
    return [_rollout(row) for row in rows]
