-- The W3C trace an event belongs to (the `traceparent` of the request that caused it), so that
-- consumers of the event continue the same trace.
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
