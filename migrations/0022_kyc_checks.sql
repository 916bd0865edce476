-- The KYC checks this service submitted, so that a result arriving on the bus must answer one of
-- them: `kyc.check.completed` for an unknown check, another customer's, or one already settled by
-- a final outcome is dead-lettered. `settled_at`: when an `approved` or `rejected` result was
-- recorded (a `manual_review` result leaves the check open for its final one).
-- `identity_digest`: a keyed digest of the legal name, date of birth, nationality and national id
-- the check was about, so that a result stops counting once the customer changes them.
CREATE TABLE kyc_checks (
    check_id     TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    submitted_at BIGINT NOT NULL,
    identity_digest TEXT NOT NULL,
    settled_at   BIGINT
);
CREATE INDEX kyc_checks_by_user ON kyc_checks (user_id);
