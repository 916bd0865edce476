-- A device is a client a customer logs in from, recognised by a token it keeps (stored hashed).
CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL UNIQUE, -- hex SHA-256 of the device token
    name          TEXT NOT NULL,
    user_agent    TEXT NOT NULL,
    ip            TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL
);
CREATE INDEX devices_by_user ON devices (user_id);

ALTER TABLE sessions ADD COLUMN device_id TEXT REFERENCES devices (id) ON DELETE SET NULL;
CREATE INDEX sessions_by_device ON sessions (device_id);
