-- consult_intake_file: the live definition (see sql/README.md).
-- Journal rows of intake (provider_events, provider 'intake': the JSON the
-- edge wrote, common/domain/cs_intake.c cs_intake_journal_json), filed a
-- whole batch per statement: each row's contact (the same email, else the
-- same phone, a contact's or a merged one's, as consult_find_contact says;
-- else a new one), its conversation (one per contact), its message
-- (classified when the caller classified it), its submission, attachments
-- and notification (or submission.process job), and the journal row marked
-- filed. Returns how many rows it filed.
-- p_rows: [{"id": journal id, "class": {...} (optional), "mail": bool}],
-- rows the caller holds (consult_intake_drain; mod_consult_intake
-- intake_drain.c claims them FOR UPDATE SKIP LOCKED).
--
-- One statement per table for the batch rather than one per row: that per
-- row cost was most of filing. Rows that would meet in one statement (the
-- same email, phone, idempotency key or contact) are filed in rounds,
-- oldest first, so each round's rows are apart and a later row finds what
-- an earlier one made, as one by one. A new contact that a concurrent
-- writer made first is looked up again in the next round.
-- Past the third round, the oldest row left goes alone each round (and is
-- the only one looked up again), so a batch of mostly one sender's posts
-- costs what one by one would.
-- Calls consult_find_contact (hence the 20_ prefix). The one-row-at-a-time
-- definitions it replaces are dropped by 30_consult_intake_drain.sql, in
-- the transaction that installs the drain that no longer calls them.
CREATE OR REPLACE FUNCTION consult_intake_file(p_rows jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_round integer := 0;
    v_stuck integer := 0;
    v_filed integer;
    v_dups integer;
    v_only bigint;      -- past round 3: the one row this round files
    v_total integer := 0;
    -- The batch's journal ids: "id = ANY" lets the planner take the primary
    -- key, where a join would read every unfiled row of the partial index.
    v_ids bigint[] := ARRAY(SELECT (e->>'id')::bigint FROM jsonb_array_elements(p_rows) e);
BEGIN
    -- The batch's working set: this connection's, emptied at each commit.
    IF to_regclass('pg_temp.intake_batch') IS NULL THEN
        CREATE TEMP TABLE intake_batch (
            ev bigint PRIMARY KEY, client bigint NOT NULL, received timestamptz NOT NULL,
            files integer NOT NULL, name text, email text, phone text, message text,
            fields jsonb, ip inet, user_agent text, referer text, key text,
            edge_spam boolean NOT NULL, edge_reasons text[] NOT NULL,
            spam boolean NOT NULL, reasons text[] NOT NULL, service text,
            preferred_time text, class jsonb,
            round integer, contact bigint, new_contact boolean NOT NULL DEFAULT false,
            conv bigint, msg bigint, sub bigint
        ) ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM intake_batch;   -- a caller filing row by row calls again in one transaction

    INSERT INTO intake_batch (ev, client, received, files, name, email, phone, message, fields,
                              ip, user_agent, referer, key, edge_spam, edge_reasons, spam,
                              reasons, service, preferred_time, class)
    SELECT j.id, j.client_id, j.received_at, coalesce((x.p->>'files')::integer, 0),
           x.p->>'name', x.p->>'email', x.p->>'phone', x.p->>'message',
           coalesce(x.p->'fields', '{}'::jsonb), (x.p->>'ip')::inet, x.p->>'user_agent',
           x.p->>'referer', x.p->>'key', x.edge_spam, x.edge_reasons,
           -- spam by the edge's layers, or by content (the classifier)
           x.edge_spam OR x.content_spam,
           CASE WHEN x.content_spam AND NOT 'classifier' = ANY (x.edge_reasons)
                THEN x.edge_reasons || 'classifier'::text ELSE x.edge_reasons END,
           x.p->>'service', x.p->>'preferred_time', x.class
      FROM jsonb_to_recordset(p_rows) AS r(id bigint, class jsonb, mail boolean)
      JOIN provider_events j ON j.id = r.id
     -- parsed once: OFFSET 0 keeps the planner from copying the cast into
     -- every use of p
     CROSS JOIN LATERAL (SELECT j.payload::jsonb AS p OFFSET 0) pj
     CROSS JOIN LATERAL (
           SELECT pj.p,
                  coalesce((pj.p->>'spam')::boolean, false) AS edge_spam,
                  coalesce(ARRAY(SELECT jsonb_array_elements_text(pj.p->'reasons')), '{}')
                      AS edge_reasons,
                  coalesce(r.class->>'intent' = 'spam', false) AS content_spam,
                  CASE WHEN r.class IS NOT NULL
                       THEN r.class || jsonb_build_object('mail', coalesce(r.mail, true)) END
                       AS class
           OFFSET 0) x
     WHERE j.id = ANY (v_ids)
       -- Unfiled, said so that it does not match the partial index of
       -- unfiled rows: its estimate is stale whenever a backlog builds
       -- (consult_intake_claim.sql says why), and with "processed_at IS
       -- NULL" here the planner read every unfiled row from it to find the
       -- batch's (20 ms a batch of 200 at a 20k-row backlog) rather than
       -- take them by primary key. In the WHERE, not in a subquery, so a
       -- row another transaction files while this one waits for its lock
       -- is checked again and skipped.
       AND coalesce(j.processed_at, '-infinity') = '-infinity'
       AND j.provider = 'intake' AND j.attempts < 5
       -- already locked by the caller's claim; again so a caller that did
       -- not claim waits rather than files a row twice
       FOR UPDATE OF j;

    LOOP
        v_round := v_round + 1;
        v_only := CASE WHEN v_round > 3 THEN (SELECT ev FROM intake_batch WHERE sub IS NULL
                                               ORDER BY received, ev LIMIT 1) END;
        -- A retried post (its idempotency key already stored, by an
        -- earlier batch or this one's earlier round) is filed as the first
        -- one's submission, and makes nothing.
        UPDATE intake_batch b SET sub = s.id
          FROM submissions s
         WHERE b.sub IS NULL AND (v_only IS NULL OR b.ev = v_only)
           AND b.key IS NOT NULL AND s.client_id = b.client AND s.idempotency_key = b.key;
        GET DIAGNOSTICS v_dups = ROW_COUNT;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM intake_batch WHERE sub IS NULL);
        UPDATE intake_batch b SET contact = consult_find_contact(b.client, b.email, b.phone),
               new_contact = false
         WHERE b.sub IS NULL AND (v_only IS NULL OR b.ev = v_only);
        -- This round: the oldest row of each email, phone, key and contact
        -- among the rows left (a missing one meets nobody).
        UPDATE intake_batch b SET round = v_round
          FROM (SELECT ev,
                       row_number() OVER (PARTITION BY client, coalesce(lower(email), 'ev' || ev)
                                          ORDER BY received, ev) AS by_email,
                       row_number() OVER (PARTITION BY client, coalesce(phone, 'ev' || ev)
                                          ORDER BY received, ev) AS by_phone,
                       row_number() OVER (PARTITION BY client, coalesce(key, 'ev' || ev)
                                          ORDER BY received, ev) AS by_key,
                       row_number() OVER (PARTITION BY client, coalesce(contact::text, 'ev' || ev)
                                          ORDER BY received, ev) AS by_contact
                  FROM intake_batch WHERE sub IS NULL) o
         WHERE b.ev = o.ev AND (v_only IS NULL OR b.ev = v_only)
           AND o.by_email = 1 AND o.by_phone = 1 AND o.by_key = 1 AND o.by_contact = 1;

        -- New contacts, their ids drawn first so each row knows its own.
        UPDATE intake_batch SET contact = nextval(pg_get_serial_sequence('contacts', 'id')),
               new_contact = true
         WHERE round = v_round AND contact IS NULL;
        WITH made AS (
            INSERT INTO contacts (id, client_id, name, email, phone) OVERRIDING SYSTEM VALUE
            SELECT contact, client, name, email, phone FROM intake_batch
             WHERE round = v_round AND new_contact ORDER BY received, ev
            ON CONFLICT DO NOTHING RETURNING id)
        UPDATE intake_batch SET round = NULL, contact = NULL, new_contact = false
         WHERE round = v_round AND new_contact AND contact NOT IN (SELECT id FROM made);

        -- A known contact: fill in what we did not know, never overwrite
        -- what staff may have edited.
        UPDATE contacts c SET
            name  = coalesce(c.name, b.name),
            email = coalesce(c.email, CASE WHEN NOT EXISTS (
                        SELECT 1 FROM contacts o WHERE o.client_id = b.client
                           AND lower(o.email) = lower(b.email)) THEN b.email END),
            phone = coalesce(c.phone, CASE WHEN NOT EXISTS (
                        SELECT 1 FROM contacts o WHERE o.client_id = b.client
                           AND o.phone = b.phone) THEN b.phone END),
            updated_at = now()
          FROM intake_batch b
         WHERE b.round = v_round AND NOT b.new_contact AND c.id = b.contact
           AND (c.name IS NULL OR c.email IS NULL OR c.phone IS NULL);

        -- The conversation: unread and as recent as the message already (so
        -- the message's trigger, consult_mark_unread, has nothing to change);
        -- a new (non-spam) message reopens an archived thread; a new thread
        -- of spam starts in the spam folder.
        WITH made AS (
            INSERT INTO conversations AS cv (client_id, contact_id, unread, status)
            SELECT client, contact, true, CASE WHEN spam THEN 'spam' ELSE 'open' END
              FROM intake_batch WHERE round = v_round ORDER BY received, ev
            ON CONFLICT (client_id, contact_id) DO UPDATE
                SET last_message_at = greatest(cv.last_message_at, now()), unread = true,
                    status = CASE WHEN cv.status = 'archived' AND EXCLUDED.status <> 'spam'
                                  THEN 'open' ELSE cv.status END
            RETURNING id, client_id, contact_id)
        UPDATE intake_batch b SET conv = made.id
          FROM made WHERE b.round = v_round AND b.client = made.client_id
                      AND b.contact = made.contact_id;
        -- Spam joins the spam folder unless the thread holds real messages.
        UPDATE conversations cv SET status = 'spam'
          FROM intake_batch b
         WHERE b.round = v_round AND b.spam AND cv.id = b.conv AND cv.status <> 'spam'
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = cv.id
                                                     AND NOT m.is_spam);

        WITH m AS (
            INSERT INTO messages (client_id, conversation_id, channel, direction, body, is_spam,
                                  spam_reasons, intent, urgency, confidence, classification,
                                  classified_at)
            SELECT client, conv, 'form', 'inbound', message, spam, reasons, class->>'intent',
                   class->>'urgency', (class->>'confidence')::real, class - 'mail',
                   CASE WHEN class IS NOT NULL THEN now() END
              FROM intake_batch WHERE round = v_round ORDER BY received, ev
            RETURNING id, conversation_id)
        UPDATE intake_batch b SET msg = m.id
          FROM m WHERE b.round = v_round AND b.conv = m.conversation_id;

        WITH s AS (
            INSERT INTO submissions (client_id, contact_id, message_id, name, email, phone,
                                     message, fields, source_ip, user_agent, referer,
                                     idempotency_key, is_spam, spam_reasons, service,
                                     preferred_time)
            SELECT client, contact, msg, name, email, phone, message, fields, ip, user_agent,
                   referer, key, edge_spam, edge_reasons, service, preferred_time
              FROM intake_batch WHERE round = v_round ORDER BY received, ev
            RETURNING id, message_id)
        UPDATE intake_batch b SET sub = s.id
          FROM s WHERE b.round = v_round AND b.msg = s.message_id;

        UPDATE attachments a SET submission_id = b.sub
          FROM intake_batch b
         WHERE b.round = v_round AND b.files > 0 AND a.journal_id = b.ev
           AND a.submission_id IS NULL;

        -- Unclassified (an LLM client's): its job classifies it.
        INSERT INTO jobs (kind, payload, unique_key)
        SELECT 'submission.process',
               jsonb_build_object('submission_id', sub, 'message_id', msg, 'client_id', client),
               'submission.process:' || sub
          FROM intake_batch WHERE round = v_round AND class IS NULL;
        -- Classified here: staff hear of it as submission.process would tell
        -- them (mod_consult_intake intake_job.c); no one is woken for spam.
        WITH n AS (
            INSERT INTO notifications (client_id, message_id, kind)
            SELECT client, msg, CASE WHEN class->>'urgency' = 'high' THEN 'urgent_message'
                                     ELSE 'new_message' END
              FROM intake_batch WHERE round = v_round AND class IS NOT NULL AND NOT spam
            RETURNING id, message_id)
        INSERT INTO jobs (kind, payload, unique_key)
        SELECT 'notification.send', jsonb_build_object('notification_id', n.id),
               'notification.send:' || n.id
          FROM n JOIN intake_batch b ON b.msg = n.message_id
         WHERE b.round = v_round AND (b.class->>'mail')::boolean;

        SELECT count(*) INTO v_filed FROM intake_batch WHERE round = v_round;
        -- Only a concurrent writer's contacts hold a round up; not forever.
        v_stuck := CASE WHEN v_filed + v_dups = 0 THEN v_stuck + 1 ELSE 0 END;
        IF v_stuck >= 3 THEN
            RAISE EXCEPTION 'intake filing made no progress in 3 rounds';
        END IF;
    END LOOP;

    UPDATE provider_events j SET processed_at = clock_timestamp(), attempts = j.attempts + 1,
           last_error = NULL, submission_id = b.sub
      FROM intake_batch b
     WHERE j.id = ANY (v_ids) AND j.id = b.ev;
    GET DIAGNOSTICS v_total = ROW_COUNT;
    RETURN v_total;
END
$$;
