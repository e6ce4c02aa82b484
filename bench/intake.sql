-- pgbench script: the same write the endpoint asks of Postgres for the
-- same form (contact upsert, conversation, message, submission, job).
SELECT consult_intake_submit(
    (SELECT id FROM clients WHERE slug = 'bench'), 'Ana Lima', 'ana@example.com',
    '+15035550142',
    'Hi, do you cater office breakfasts for 30 people next Tuesday?',
    '{"name":"Ana Lima","email":"ana@example.com","phone":"503-555-0142","message":"Hi, do you cater office breakfasts for 30 people next Tuesday?"}'::jsonb,
    '127.0.0.1'::inet, 'wrk', NULL, NULL, false, '{}'::text[], NULL, NULL);
