-- Secrets kept on a customer's behalf: only hashes, never the secret itself.
CREATE TABLE password_credentials (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL, -- Argon2id, PHC string format
    updated_at    BIGINT NOT NULL
);

-- One live email-verification code per customer; issuing a new one replaces the old.
CREATE TABLE email_verification_codes (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL, -- hex SHA-256 of the code
    attempts   INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
