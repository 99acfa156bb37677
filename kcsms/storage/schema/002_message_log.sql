-- kcsms schema version 2: every OCPP-J frame in and out, per station,
-- pruned to [storage] message_log_days.

CREATE TABLE message_log (
    id {autoincrement_pk},
    charge_point_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    direction TEXT NOT NULL,
    message TEXT NOT NULL
);

CREATE INDEX message_log_by_charge_point ON message_log (charge_point_id, id);

CREATE INDEX message_log_by_time ON message_log (timestamp);
