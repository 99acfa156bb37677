-- kcsms schema version 8: security.  Each station's security profile
-- (NULL: the site default) and the salted slow hash of its Basic-auth
-- password; the operator API's bearer tokens (only their SHA-256 is kept)
-- with their roles; and the audit log of operator calls that change things.

CREATE TABLE station_credentials (
    charge_point_id TEXT PRIMARY KEY,
    security_profile INTEGER,
    password_hash TEXT
);

CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE audit_log (
    id {autoincrement_pk},
    timestamp TEXT NOT NULL,
    who TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL
);
