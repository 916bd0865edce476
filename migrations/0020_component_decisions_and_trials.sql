-- The decision log: one row per component call — which kind and version decided, a keyed digest
-- of what it was asked, what it answered and how long it took — the record an auditor asks for.
-- `role` says how the version took part: `active` (it decided), `canary` (a candidate taking a
-- share of traffic decided), `shadow` (a candidate evaluated beside the active version, its
-- writes discarded; `agreed` is 1 when it answered as the version that decided did, else 0).
-- `input` holds the sealed input of decisions that can be replayed
-- (those whose input carries no secret); NULL otherwise.
CREATE TABLE component_decisions (
    id           TEXT PRIMARY KEY, -- UUIDv7: ordered by time
    decided_at   BIGINT NOT NULL,  -- unix seconds
    kind         TEXT NOT NULL,
    operation    TEXT NOT NULL,
    digest       TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('active', 'canary', 'shadow')),
    user_id      TEXT,
    input_digest TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    agreed       BIGINT,
    duration_us  BIGINT NOT NULL,
    input        TEXT
);
CREATE INDEX component_decisions_by_user ON component_decisions (user_id, id);
CREATE INDEX component_decisions_by_kind ON component_decisions (kind, id);
CREATE INDEX component_decisions_by_digest ON component_decisions (digest, id);

-- A candidate on trial beside a kind's active version: in the shadow (`percent` NULL) or as a
-- canary deciding for `percent` of customers, chosen by a stable hash of their id. At most one
-- trial per kind; every host follows this table as it follows `component_versions`.
CREATE TABLE component_trials (
    kind        TEXT PRIMARY KEY,
    digest      TEXT NOT NULL,
    version     TEXT,
    signer      TEXT,
    component   BYTEA NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('shadow', 'canary')),
    percent     BIGINT CHECK (percent BETWEEN 0 AND 100),
    started_by  TEXT NOT NULL,
    started_at  BIGINT NOT NULL
);
