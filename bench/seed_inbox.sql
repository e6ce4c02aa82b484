-- make seed-inbox / make bench: grow client :'slug' to :n messages spread
-- over threads of 10, quickly (triggers off; search vectors still built).
\set ON_ERROR_STOP on
SET session_replication_role = replica;
INSERT INTO clients (slug, name) VALUES (:'slug', 'Bench Inbox') ON CONFLICT (slug) DO NOTHING;
SELECT id AS cid, (SELECT count(*) FROM messages m JOIN clients c ON c.id = m.client_id
                   WHERE c.slug = :'slug') AS have
  FROM clients WHERE slug = :'slug' \gset
SELECT greatest(:n - :have, 0) AS add \gset
\echo seed-inbox: :have messages, adding :add
INSERT INTO contacts (client_id, name, email)
SELECT :cid, 'Customer ' || g, 'c' || g || '-' || :have || '@bench.example'
  FROM generate_series(1, ceil(:add / 10.0)::int) g;
INSERT INTO conversations (client_id, contact_id, last_message_at, unread, status)
SELECT :cid, ct.id, now() - (random() * interval '365 days'), random() < 0.2,
       (ARRAY['open','open','open','archived','spam'])[1 + (ct.id % 5)]
  FROM contacts ct
 WHERE ct.client_id = :cid AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.contact_id = ct.id);
INSERT INTO messages (client_id, conversation_id, channel, body, intent, urgency, created_at)
SELECT :cid, cv.id, (ARRAY['form','sms','voicemail','email'])[1 + (g % 4)],
       (ARRAY['Hi, how much to haul away an old couch this weekend?',
              'Can I book a table for four on Friday at 7pm?',
              'Do you have oat milk and gluten free pastries?',
              'My order was missing the fries again, please refund',
              'Hola, necesito una cotización para limpieza profunda',
              'Are you hiring baristas for the summer?'])[1 + (g % 6)] || ' #' || g,
       (ARRAY['quote_request','booking_request','question','order_issue','quote_request','job_inquiry'])[1 + (g % 6)],
       (ARRAY['normal','normal','low','high'])[1 + (g % 4)],
       cv.last_message_at - (g % 10) * interval '1 hour'
  FROM (SELECT id, last_message_at, row_number() OVER (ORDER BY id) AS rn
          FROM conversations WHERE client_id = :cid
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id)) cv,
       generate_series(1, 10) k, LATERAL (SELECT (cv.rn - 1) * 10 + k AS g) gg
 WHERE (cv.rn - 1) * 10 + k <= :add;
ANALYZE contacts; ANALYZE conversations; ANALYZE messages;
SELECT count(*) AS messages FROM messages WHERE client_id = :cid \gset
\echo seed-inbox: now :messages messages
