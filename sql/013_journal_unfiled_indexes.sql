-- The journal's unfiled rows, by provider and age: the intake drain's
-- claim (provider 'intake', oldest first, LIMIT, SKIP LOCKED) reads them
-- in order from this one index. With the old index (received_at alone) the
-- planner combined it with the provider index and sorted every unfiled row
-- (payloads included, on disk at a 10k-row backlog) on each batch: a sixth
-- of the drain's time. Health's per-provider backlog reads it too.
CREATE INDEX provider_events_unfiled ON provider_events (provider, received_at)
    WHERE processed_at IS NULL;
DROP INDEX provider_events_unprocessed;
