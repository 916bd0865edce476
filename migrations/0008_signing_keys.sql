-- Keys that sign access tokens. Every key's public half is kept so that tokens it signed keep
-- verifying after a rotation, until they expire. A private half is stored only for a key the
-- service generated itself in development; configured keys stay in configuration.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL, -- base64url of the raw Ed25519 public key
    private_key TEXT,          -- PKCS#8 PEM, development only
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT         -- when another key took over signing
);
