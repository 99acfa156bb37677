-- kcsms schema version 9: the message log in chunks. A chunk is one station's
-- frames of one write (about a second of them): one row and one index entry
-- per station and second instead of per frame, which is what a busy log
-- costs. frames is a JSON array of [timestamp, direction, frame];
-- timestamp is the chunk's last frame's, by which chunks are pruned.

CREATE TABLE message_log_chunks (
    id {autoincrement_pk},
    charge_point_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    frame_count INTEGER NOT NULL,
    frames TEXT NOT NULL
);

CREATE INDEX message_log_chunks_by_charge_point ON message_log_chunks (charge_point_id, id);

CREATE INDEX message_log_chunks_by_time ON message_log_chunks (timestamp);

-- The frames logged so far, a chunk each.
INSERT INTO message_log_chunks (charge_point_id, timestamp, frame_count, frames)
SELECT charge_point_id, timestamp, 1, {json_array}({json_array}(timestamp, direction, message))
FROM message_log ORDER BY id;

DROP TABLE message_log;
