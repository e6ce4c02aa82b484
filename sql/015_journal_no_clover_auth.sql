-- Clover's X-Clover-Auth is the shared auth code itself (not a MAC of the
-- body), so the journal no longer keeps it with a delivery's headers; the
-- rows written before that lose it here. Header names keep the case they
-- came in.
UPDATE provider_events e
   SET headers = (SELECT coalesce(jsonb_object_agg(h.key, h.value), '{}'::jsonb)
                    FROM jsonb_each(e.headers) h
                   WHERE lower(h.key) <> 'x-clover-auth')
 WHERE EXISTS (SELECT 1 FROM jsonb_object_keys(e.headers) k WHERE lower(k) = 'x-clover-auth');
