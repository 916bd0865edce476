-- Every component version ever deployed, with its bytes, so that a host can start on (and a
-- fleet can switch to) the active version of each kind, and an administrator can roll back to
-- any earlier one. At most one version of a kind is active; `activation` grows with every
-- activation of the kind, so the newest activation is the highest. BYTEA is a blob on both
-- engines (SQLite stores the bytes as they are).
CREATE TABLE component_versions (
    kind         TEXT NOT NULL,
    digest       TEXT NOT NULL, -- hex SHA-256 of the component
    version      TEXT,          -- semantic version from the manifest; NULL for an unsigned build
    description  TEXT,
    author       TEXT,
    signer       TEXT,          -- NULL when accepted unsigned (development mode)
    component    BYTEA NOT NULL,
    size_bytes   BIGINT NOT NULL,
    deployed_by  TEXT NOT NULL,
    deployed_at  BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'retired')),
    activation   BIGINT NOT NULL,
    activated_by TEXT NOT NULL,
    activated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, digest)
);
CREATE UNIQUE INDEX component_versions_one_active ON component_versions (kind) WHERE status = 'active';
CREATE UNIQUE INDEX component_versions_by_activation ON component_versions (kind, activation);
