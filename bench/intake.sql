-- pgbench script: the physical limit of journal-first intake's write path.
-- One plain INSERT of the raw row the endpoint journals for the same form
-- (the same table and indexes, a payload of the same shape and size), by a
-- different visitor each time, as bench/intake.lua posts it. The endpoint
-- adds to this only what a web request needs: parsing, checks, the answer.
\set who random(1, 1000000000)
INSERT INTO provider_events (provider, client_id, event_id, payload)
VALUES ('intake', (SELECT id FROM clients WHERE slug = 'bench'), 'bench:' || md5(:who || '-' || random()),
  '{"name":"Ana Lima","email":"ana' || :who || '@example.com","phone":"+1503'
  || (2000000 + :who % 8000000) || '","message":"Hi, do you cater office breakfasts for 30 people next Tuesday?",'
  || '"fields":{"name":"Ana Lima","email":"ana' || :who || '@example.com","phone":"+1503'
  || (2000000 + :who % 8000000) || '","message":"Hi, do you cater office breakfasts for 30 people next Tuesday?"},'
  || '"ip":"127.0.0.1","spam": false,"reasons":[]}');
