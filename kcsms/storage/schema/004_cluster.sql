-- kcsms schema version 4: several kcsms nodes sharing one PostgreSQL
-- database.  Each node holds a lease it renews; presence says which node
-- holds each station's socket; cluster_messages carries bodies too large
-- for a NOTIFY.

CREATE TABLE nodes (
    node_id TEXT PRIMARY KEY,
    lease_until TEXT NOT NULL
);

CREATE TABLE presence (
    charge_point_id TEXT PRIMARY KEY,
    node_id TEXT NOT NULL,
    connected_at TEXT NOT NULL
);

CREATE INDEX presence_by_node ON presence (node_id);

CREATE TABLE cluster_messages (
    id {autoincrement_pk},
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
