-- kcsms schema 1: charge points, id tags, transactions, meter values,
-- connector statuses and calls.
--
-- Written once for every engine: the dialect fills in {autoincrement_pk}.
-- Meter readings and the ids stations send are BIGINT, as OCPP's integers
-- are unbounded (in SQLite, BIGINT is INTEGER).  Times are TEXT in kcsms's
-- timestamp format (UTC, milliseconds, Z) so that they sort as text.  Each
-- statement ends with a semicolon and has none inside it; comments are
-- whole lines.

CREATE TABLE charge_points (
    charge_point_id TEXT PRIMARY KEY,
    registration TEXT NOT NULL,
    charge_point_vendor TEXT,
    charge_point_model TEXT,
    charge_point_serial_number TEXT,
    charge_box_serial_number TEXT,
    firmware_version TEXT,
    iccid TEXT,
    imsi TEXT,
    meter_type TEXT,
    meter_serial_number TEXT,
    last_boot TEXT,
    last_seen TEXT
);

-- id_tag is kept as given; id_tag_key, its lower case, makes lookups
-- case-insensitive.
CREATE TABLE id_tags (
    id_tag TEXT PRIMARY KEY,
    id_tag_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    expiry_date TEXT,
    parent_id_tag TEXT
);

-- No foreign key to charge_points: deleting a charge point keeps its
-- transactions.  The unique key recognises a retried StartTransaction.
CREATE TABLE transactions (
    transaction_id {autoincrement_pk},
    charge_point_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    meter_start BIGINT NOT NULL,
    start_timestamp TEXT NOT NULL,
    reservation_id BIGINT,
    id_tag_status TEXT NOT NULL,
    meter_stop BIGINT,
    stop_timestamp TEXT,
    stop_reason TEXT,
    stop_id_tag TEXT,
    UNIQUE (charge_point_id, connector_id, id_tag, meter_start, start_timestamp)
);

CREATE INDEX transactions_active ON transactions (charge_point_id)
    WHERE stop_timestamp IS NULL;

-- StopTransactions for a transaction id that is not known.
CREATE TABLE unmatched_stops (
    id {autoincrement_pk},
    charge_point_id TEXT NOT NULL,
    transaction_id BIGINT NOT NULL,
    id_tag TEXT,
    meter_stop BIGINT NOT NULL,
    stop_timestamp TEXT NOT NULL,
    stop_reason TEXT,
    UNIQUE (charge_point_id, transaction_id, stop_timestamp)
);

-- One row per SampledValue, in the order received (by id).  sample_index is
-- its place in its MeterValue, so 0 starts a new MeterValue.  transaction_id
-- is not a foreign key: stations may report values for unknown transactions.
CREATE TABLE meter_values (
    id {autoincrement_pk},
    charge_point_id TEXT NOT NULL,
    connector_id INTEGER,
    transaction_id BIGINT,
    timestamp TEXT NOT NULL,
    sample_index INTEGER NOT NULL,
    value TEXT NOT NULL,
    context TEXT,
    format TEXT,
    measurand TEXT,
    phase TEXT,
    location TEXT,
    unit TEXT
);

CREATE INDEX meter_values_transaction ON meter_values (transaction_id, id);

-- The latest StatusNotification of each connector.
CREATE TABLE connector_statuses (
    charge_point_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT NOT NULL,
    info TEXT,
    timestamp TEXT,
    vendor_id TEXT,
    vendor_error_code TEXT,
    received_at TEXT NOT NULL,
    PRIMARY KEY (charge_point_id, connector_id)
);

-- Every StatusNotification, in the order received (by id).
CREATE TABLE status_history (
    id {autoincrement_pk},
    charge_point_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT NOT NULL,
    info TEXT,
    timestamp TEXT,
    vendor_id TEXT,
    vendor_error_code TEXT,
    received_at TEXT NOT NULL
);

CREATE INDEX status_history_charge_point ON status_history (charge_point_id, id);

-- Calls from the central system to stations; request, response and error
-- are JSON text.
CREATE TABLE calls (
    id {autoincrement_pk},
    charge_point_id TEXT NOT NULL,
    unique_id TEXT NOT NULL,
    action TEXT NOT NULL,
    request TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    answered_at TEXT,
    response TEXT,
    error TEXT
);

CREATE INDEX calls_charge_point ON calls (charge_point_id, requested_at);
