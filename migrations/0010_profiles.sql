-- The customer's profile beyond what registration recorded (legal name, date of birth and phone
-- stay in `users`), and their preferences. A customer without a row has the defaults (version 0);
-- the first change inserts the row at version 1 and every change after that adds one, guarded by
-- the version the client last read.
CREATE TABLE profiles (
    user_id             TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    nationality         TEXT,   -- ISO 3166-1 alpha-2
    address_line1       TEXT,   -- the address columns are all NULL or the required ones all set
    address_line2       TEXT,
    address_city        TEXT,
    address_postal_code TEXT,
    address_region      TEXT,
    address_country     TEXT,   -- ISO 3166-1 alpha-2
    version             BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE preferences (
    user_id              TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    language             TEXT NOT NULL,   -- BCP 47, canonical case
    time_zone            TEXT NOT NULL,   -- IANA name, canonical case
    notifications        TEXT NOT NULL,   -- JSON object: category -> list of channels
    marketing_consent    BIGINT NOT NULL CHECK (marketing_consent IN (0, 1)),
    marketing_source     TEXT,            -- where consent was last given or withdrawn
    marketing_updated_at BIGINT,          -- when it was
    version              BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

-- Every change of marketing consent, as evidence of what the customer agreed to and when. No
-- foreign key to users: like the audit trail, the evidence must outlive the account.
CREATE TABLE consent_history (
    id         TEXT PRIMARY KEY,   -- UUIDv7: ordering by id is ordering by time
    user_id    TEXT NOT NULL,
    granted    BIGINT NOT NULL CHECK (granted IN (0, 1)),
    source     TEXT NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE INDEX consent_history_by_user ON consent_history (user_id, changed_at);
