-- Identity documents (KYC): passport, id card, proof of address, selfie. A document is requested
-- (`pending`, with what the client declared it will upload), uploaded straight to object storage
-- through a presigned URL, then confirmed once the host has checked the stored object's size,
-- content type (magic bytes) and SHA-256 against the declaration; only `confirmed` documents count.
-- The printed document number is sealed like other secrets (secrets.rs), for the row's id.
CREATE TABLE documents (
    id                TEXT PRIMARY KEY,   -- UUIDv7
    user_id           TEXT NOT NULL REFERENCES users (id),
    kind              TEXT NOT NULL
        CHECK (kind IN ('passport', 'id_card', 'proof_of_address', 'selfie')),
    number_sealed     TEXT,               -- passport and id card only
    issuing_country   TEXT,               -- ISO 3166-1 alpha-2; passport and id card only
    object_key        TEXT NOT NULL UNIQUE,
    content_type      TEXT NOT NULL,      -- declared
    size_bytes        BIGINT NOT NULL,    -- declared
    sha256            TEXT NOT NULL,      -- declared, lowercase hex
    status            TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected')),
    rejection         TEXT,               -- stable code when rejected, e.g. `content_type.mismatch`
    created_at        BIGINT NOT NULL,
    upload_expires_at BIGINT NOT NULL,
    confirmed_at      BIGINT
);
CREATE INDEX documents_by_user ON documents (user_id, created_at);
