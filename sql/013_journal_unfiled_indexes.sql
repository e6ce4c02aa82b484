-- The journal's unfiled rows, two ways.
-- By provider and age: the intake drain's claim (provider 'intake', oldest
-- first, LIMIT, SKIP LOCKED) reads them in order from this one index. With
-- the old index (received_at alone) the planner combined it with the
-- provider index and sorted every unfiled row (payloads included, on disk
-- at a 10k-row backlog) on each batch: a sixth of the drain's time.
-- Health's per-provider backlog reads it too.
CREATE INDEX provider_events_unfiled ON provider_events (provider, received_at)
    WHERE processed_at IS NULL;
DROP INDEX provider_events_unprocessed;
-- By client: the inbox says how many of the client's own posts are still
-- being filed. Without it, that count scanned every client's backlog, so a
-- flood at one client slowed every other client's inbox list (20 ms a
-- render behind an 80k-row backlog).
CREATE INDEX provider_events_unfiled_by_client
    ON provider_events (client_id, provider, received_at)
    WHERE processed_at IS NULL;
