-- The audit table doubles as the outbox of the bank's audit service: a forwarder sends the rows
-- not yet forwarded, oldest first, and stamps each once the service has it. Rows written while
-- no audit service is configured stay unstamped and are sent when one is.
ALTER TABLE audit_events ADD COLUMN forwarded_at BIGINT;
CREATE INDEX audit_events_unforwarded ON audit_events (id) WHERE forwarded_at IS NULL;
