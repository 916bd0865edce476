-- The audit trail of authentication events: what an auditor asks for. Each row shares its id
-- with the outbox event published in the same transaction. No foreign key to users: the trail
-- must outlive the account.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    data        TEXT NOT NULL, -- JSON object, no secrets
    occurred_at BIGINT NOT NULL
);
CREATE INDEX audit_events_by_user ON audit_events (user_id, occurred_at);
