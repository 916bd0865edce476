-- The inbox: the id of every message consumed from another service, written in the same
-- transaction as what the message changed, so a redelivered message is recognised and skipped.
CREATE TABLE inbox (
    message_id   TEXT PRIMARY KEY,
    message_type TEXT NOT NULL,
    received_at  BIGINT NOT NULL
);

-- Results of identity (KYC) checks, as the KYC service reported them: one row per result
-- message, so a check reviewed by hand and decided later keeps its whole history.
CREATE TABLE kyc_results (
    message_id         TEXT PRIMARY KEY REFERENCES inbox (message_id),
    check_id           TEXT NOT NULL,
    user_id            TEXT NOT NULL REFERENCES users (id),
    outcome            TEXT NOT NULL CHECK (outcome IN ('approved', 'rejected', 'manual_review')),
    reasons            TEXT NOT NULL, -- JSON array of stable reason codes
    provider_reference TEXT NOT NULL,
    completed_at       BIGINT NOT NULL,
    received_at        BIGINT NOT NULL
);
CREATE INDEX kyc_results_by_user ON kyc_results (user_id, completed_at);
CREATE INDEX kyc_results_by_check ON kyc_results (check_id);
