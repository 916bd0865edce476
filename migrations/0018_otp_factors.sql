-- One-time-code second factors: codes sent by email or SMS. Their codes live briefly in the
-- shared key-value store as hashes; the row keeps no secret (`secret` is empty for them). The
-- table is rebuilt because SQLite cannot change a CHECK constraint in place.
CREATE TABLE mfa_factors_next (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    kind         TEXT NOT NULL CHECK (kind IN ('totp', 'email', 'sms')),
    secret       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    activated_at BIGINT
);
INSERT INTO mfa_factors_next (id, user_id, kind, secret, created_at, activated_at)
    SELECT id, user_id, kind, secret, created_at, activated_at FROM mfa_factors;
DROP TABLE mfa_factors;
ALTER TABLE mfa_factors_next RENAME TO mfa_factors;
CREATE INDEX mfa_factors_by_user ON mfa_factors (user_id);
