-- pgbench script: the write a new inbound SMS asks of Postgres.
\set n random(1, 2000000000)
SELECT consult_inbound_message((SELECT id FROM clients WHERE slug = 'bench'),
    '+1503555' || lpad((:n % 10000)::text, 4, '0'), 'sms',
    'Hi, can I book a table for two tonight at 7?', 'twilio', 'SMpg' || :n || '-' || :client_id, NULL, NULL);
