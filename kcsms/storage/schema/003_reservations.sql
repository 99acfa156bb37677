-- kcsms schema version 3: reservations.  reservation_id is allocated here
-- for the reservations kcsms makes; a ReserveNow sent through the calls
-- route is recorded under the id the operator gave.  status is Requested
-- until the station answers, then its ReservationStatus, then Used,
-- Cancelled or Expired.

CREATE TABLE reservations (
    reservation_id {autoincrement_pk},
    charge_point_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    parent_id_tag TEXT,
    expiry_date TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    transaction_id BIGINT
);

CREATE INDEX reservations_charge_point ON reservations (charge_point_id, reservation_id);

CREATE INDEX reservations_active ON reservations (status, expiry_date);
