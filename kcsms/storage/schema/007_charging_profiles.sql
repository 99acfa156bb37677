-- kcsms schema version 7: the charging profiles each station has installed,
-- as kcsms mirrors them from the station's Accepted answers.  profile is the
-- OCPP ChargingProfile as JSON text; the columns beside it are what
-- replacement and ClearChargingProfile match on.  transaction_id is the
-- transaction a TxProfile belongs to (NULL while a RemoteStartTransaction's
-- profile awaits its transaction).

CREATE TABLE charging_profiles (
    charge_point_id TEXT NOT NULL,
    charging_profile_id BIGINT NOT NULL,
    connector_id INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    stack_level INTEGER NOT NULL,
    transaction_id BIGINT,
    profile TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    PRIMARY KEY (charge_point_id, charging_profile_id)
);

CREATE INDEX charging_profiles_by_connector
    ON charging_profiles (charge_point_id, connector_id, purpose, stack_level);
