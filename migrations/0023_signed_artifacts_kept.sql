-- The signed artifact (manifest and signature) each stored version and trial came in, so that a
-- rollback, a fleet switch or a trial joined on another host verifies the signature again
-- against the signers trusted now. NULL for a bare component accepted unsigned (development
-- mode) and for versions stored before this column existed; production activates neither.
ALTER TABLE component_versions ADD COLUMN artifact BYTEA;
ALTER TABLE component_trials ADD COLUMN artifact BYTEA;
