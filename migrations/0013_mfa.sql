-- Second factors. TOTP secrets are sealed with AES-256-GCM (USVC_SECRETS_KEY); recovery codes are
-- kept as SHA-256 hashes. A factor is pending until `activated_at` is set by a first good code.
CREATE TABLE mfa_factors (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    kind         TEXT NOT NULL CHECK (kind IN ('totp')),
    secret       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    activated_at BIGINT
);
CREATE INDEX mfa_factors_by_user ON mfa_factors (user_id);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id),
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- When the session last completed a second factor (login challenge or step-up).
ALTER TABLE sessions ADD COLUMN second_factor_at BIGINT;
