-- consult_intake_claim: the live definition (see sql/README.md).
-- The drain's claim (mod_consult_intake intake_drain.c): up to p_limit
-- unfiled intake rows of the journal, oldest first, each with its client's
-- slug, locked FOR UPDATE SKIP LOCKED so several threads and nodes drain at
-- once. They are read in order from the partial index of unfiled rows
-- (provider_events_unfiled), and the plan is held to that: PostgreSQL's
-- estimate of the unfiled rows is the one autovacuum last measured, nearly
-- always when nothing was waiting, so when a backlog builds it expects a
-- handful of rows and would read and sort every unfiled row (on disk, at a
-- 20k-row backlog) for each batch: 26 ms a batch of 200 where the index
-- gives it in 0.3, exactly when the drain is most needed.
CREATE OR REPLACE FUNCTION consult_intake_claim(p_limit integer)
RETURNS TABLE (id bigint, slug text, payload text)
LANGUAGE sql
SET enable_sort = off
SET enable_bitmapscan = off
AS $$
    SELECT j.id, c.slug, j.payload
      FROM provider_events j
      JOIN clients c ON c.id = j.client_id
     WHERE j.processed_at IS NULL AND j.provider = 'intake' AND j.attempts < 5
     ORDER BY j.received_at
     LIMIT p_limit
       FOR UPDATE OF j SKIP LOCKED
$$;
