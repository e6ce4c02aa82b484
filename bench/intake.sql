-- pgbench script: the same write the endpoint asks of Postgres for the
-- same form (contact upsert, conversation, message, submission, job), by
-- a different visitor each time, as bench/intake.lua posts it.
\set who random(1, 1000000000)
SELECT consult_intake_submit(
    (SELECT id FROM clients WHERE slug = 'bench'), 'Ana Lima', 'ana' || :who || 'p@example.com',
    '+1971' || (2000000 + :who % 8000000),
    'Hi, do you cater office breakfasts for 30 people next Tuesday?',
    jsonb_build_object('name', 'Ana Lima', 'email', 'ana' || :who || 'p@example.com',
                       'phone', '+1971' || (2000000 + :who % 8000000),
                       'message', 'Hi, do you cater office breakfasts for 30 people next Tuesday?'),
    '127.0.0.1'::inet, 'wrk', NULL, NULL, false, '{}'::text[], NULL, NULL);
