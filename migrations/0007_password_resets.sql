-- One-time password-reset tokens, sent by email and stored hashed.
CREATE TABLE password_reset_tokens (
    token_hash TEXT PRIMARY KEY, -- hex SHA-256 of the token
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_reset_tokens_by_user ON password_reset_tokens (user_id);
