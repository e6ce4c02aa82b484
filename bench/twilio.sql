-- pgbench script: the write a new signed inbound SMS webhook asks of
-- Postgres. The handler no longer stores the message itself: it records
-- the raw form body in core's inbound journal with its twilio.event job,
-- in one statement (this is that statement, as modules/core/core_journal.c
-- sends it, with a body and headers the size of bench/twilio_reqs.py's),
-- and answers; the job stores the message later, off the request path.
-- Like the webhook run (the job worker is off in the bench), this measures
-- the journal insert only. Each event id is new, as each MessageSid is.
\set n random(1, 2000000000)
WITH e AS (
  INSERT INTO provider_events (provider, client_id, event_id, payload, headers)
  VALUES ('twilio', (SELECT id FROM clients WHERE slug = 'bench'),
          'sms:SMpg' || :n || 'x' || :client_id,
          'MessageSid=SMpg' || :n || 'x' || :client_id || '&AccountSid=AC00000000000000000000000000000000'
          '&From=%2B1503555' || lpad((:n % 10000)::text, 4, '0') || '&To=%2B15005550006'
          '&Body=Hi%2C+can+I+book+a+table+for+two+tonight+at+7%3F+%28' || :n || '%29&NumMedia=0',
          '{"Host": "bench.localhost", "Content-Type": "application/x-www-form-urlencoded",'
          ' "Content-Length": "171", "X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}'::jsonb)
  ON CONFLICT (provider, client_id, event_id) DO NOTHING RETURNING id),
 j AS (
  INSERT INTO jobs (kind, payload, unique_key)
  SELECT 'twilio.event', jsonb_build_object('event', e.id), 'twilio.event:' || e.id FROM e
  ON CONFLICT (unique_key) DO NOTHING RETURNING id)
SELECT (SELECT id FROM e), (SELECT count(*) FROM j);
