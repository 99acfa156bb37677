-- kcsms schema version 6: firmware management.  A firmware job is an
-- UpdateFirmware or a GetDiagnostics of one station (kind), with its status
-- and its history of events; deadline is when it times out without
-- progress, NULL once it has ended.  request is the JSON payload sent (NULL
-- when the station reported a job kcsms did not request); upload_token is
-- the credential in the upload address kcsms handed out for a diagnostics
-- job.  firmware_images and diagnostics_files describe the files kcsms
-- hosts (the bytes are under [files] directory).

CREATE TABLE firmware_jobs (
    job_id {autoincrement_pk},
    charge_point_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    request TEXT,
    file_name TEXT,
    upload_token TEXT UNIQUE,
    rollout_id BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deadline TEXT
);

CREATE INDEX firmware_jobs_charge_point ON firmware_jobs (charge_point_id, kind, job_id);

CREATE INDEX firmware_jobs_deadline ON firmware_jobs (deadline);

CREATE INDEX firmware_jobs_rollout ON firmware_jobs (rollout_id);

CREATE TABLE firmware_job_events (
    id {autoincrement_pk},
    job_id BIGINT NOT NULL,
    event TEXT NOT NULL,
    at TEXT NOT NULL,
    detail TEXT
);

CREATE INDEX firmware_job_events_job ON firmware_job_events (job_id, id);

CREATE TABLE firmware_images (
    name TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);

CREATE TABLE diagnostics_files (
    charge_point_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    job_id BIGINT,
    PRIMARY KEY (charge_point_id, file_name)
);

-- stations is a JSON list; pace is in seconds.
CREATE TABLE firmware_rollouts (
    rollout_id {autoincrement_pk},
    request TEXT NOT NULL,
    stations TEXT NOT NULL,
    pace DOUBLE PRECISION NOT NULL,
    created_at TEXT NOT NULL
);
