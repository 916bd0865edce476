-- Customers: the directory of who banks here. Portable SQL: the same file runs on PostgreSQL and
-- SQLite. Times are Unix seconds (UTC) in BIGINT columns.
CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE,
    legal_name           TEXT NOT NULL,
    date_of_birth        TEXT NOT NULL,
    country_of_residence TEXT NOT NULL,
    phone                TEXT,
    status               TEXT NOT NULL
        CHECK (status IN ('pending_verification', 'active', 'locked', 'closed')),
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
