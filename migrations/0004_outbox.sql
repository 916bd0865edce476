-- Transactional outbox: events are written in the same transaction as the change they describe,
-- and a relay delivers them afterwards. Ids are UUIDv7, so ordering by id is ordering by time.
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    subject      TEXT NOT NULL,
    data         TEXT NOT NULL, -- JSON object
    occurred_at  BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
