-- pgbench script: the write one new signed POS webhook asks of Postgres,
-- as modules/core/core_journal.c makes it: one statement inserting the
-- provider_events row (provider, client, a new event id, the raw body and
-- the request headers as jsonb) and, as it is new, its pos.event job keyed
-- by the event row. The body and headers have the size and shape of the
-- ones bench/pos_reqs.py posts. Run with -M extended (parameters, as
-- libpq's PQexecParams sends them) and -D cid=<the restaurant's client id>.
\set n random(1, 2000000000)
WITH e AS (
  INSERT INTO provider_events (provider, client_id, event_id, payload, headers)
  VALUES ('pos.mock', :cid::bigint, 'evt_pgb_' || :n::text || '_' || :client_id::text,
          '{"event_id": "evt_pgb_' || :n::text || '", "type": "stock.updated", "sold_out": [{"id": "item-042", "sold_out": true}]}',
          '{"Host": "bench-pizza.localhost", "Content-Length": "113", "Content-Type": "application/json", "X-Mock-POS-Signature": "t=1764748800,v1=5f0c3e2b8d7a41f6a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c"}'::jsonb)
  ON CONFLICT (provider, client_id, event_id) DO NOTHING RETURNING id),
 j AS (
  INSERT INTO jobs (kind, payload, unique_key)
  SELECT 'pos.event', jsonb_build_object('event', e.id), 'pos.event' || ':' || e.id FROM e
  ON CONFLICT (unique_key) DO NOTHING RETURNING id)
SELECT (SELECT id FROM e), (SELECT count(*) FROM j);
