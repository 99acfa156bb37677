-- kcsms schema version 5: local authorization lists.  A station's desired
-- list is a named list (shared by many stations, or its own); what it has
-- installed is kept per station.  Entries are JSON text: {idTag: idTagInfo}.

CREATE TABLE local_lists (
    name TEXT PRIMARY KEY,
    entries TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE local_list_assignments (
    charge_point_id TEXT PRIMARY KEY,
    list_name TEXT NOT NULL
);

CREATE INDEX local_list_assignments_by_list ON local_list_assignments (list_name);

CREATE TABLE installed_local_lists (
    charge_point_id TEXT PRIMARY KEY,
    known INTEGER NOT NULL,
    list_version BIGINT NOT NULL,
    entries TEXT NOT NULL,
    reported_version BIGINT,
    max_length INTEGER,
    last_result TEXT,
    last_sync TEXT
);
