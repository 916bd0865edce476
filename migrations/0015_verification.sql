-- The verification policy's decisions. `verification_states` holds each customer's current
-- decision (tier, status, the tier's limits, what is still required and why, as JSON) and the
-- KYC check asked for and not yet answered; it is written conditionally on `version`, so two
-- decisions taken at once cannot both win. `verification_decisions` keeps every decision that
-- changed something, with the digest of the component that took it. Neither holds a name, an
-- address or a document number.
CREATE TABLE verification_states (
    user_id                 TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    tier                    BIGINT NOT NULL CHECK (tier BETWEEN 0 AND 3),
    status                  TEXT NOT NULL
        CHECK (status IN ('unverified', 'pending', 'verified', 'manual_review', 'rejected')),
    limits                  TEXT NOT NULL,   -- JSON: currency, daily_transfer_limit, balance_cap
    requirements            TEXT NOT NULL,   -- JSON list of requirement codes
    reasons                 TEXT NOT NULL,   -- JSON list of {code, message}
    manual_review           BIGINT NOT NULL CHECK (manual_review IN (0, 1)),
    open_check_id           TEXT,            -- the KYC check waiting for a final result
    open_check_submitted_at BIGINT,          -- when the KYC service accepted it
    component_digest        TEXT NOT NULL,   -- hex SHA-256 of the policy that decided
    version                 BIGINT NOT NULL,
    decided_at              BIGINT NOT NULL
);

CREATE TABLE verification_decisions (
    id               TEXT PRIMARY KEY,   -- UUIDv7
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tier             BIGINT NOT NULL,
    status           TEXT NOT NULL,
    requirements     TEXT NOT NULL,
    reasons          TEXT NOT NULL,
    check_id         TEXT,
    component_digest TEXT NOT NULL,
    decided_at       BIGINT NOT NULL
);
CREATE INDEX verification_decisions_by_user ON verification_decisions (user_id, decided_at);
