-- consult_jobber_autosend: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- A customer's message whose intent is one the client sends to Jobber by
-- itself (ConsultJobberAutoSend, kept in integration_accounts.auto_send)
-- becomes a jobber_requests row and its jobber.lead job as soon as it is
-- classified, in the classifying transaction (a form post is written
-- classified by the journal drain: the insert; a job's classification or a
-- staff correction: the update): once per message, whatever relabels it
-- later; never for spam, or without a working connection.
-- Two triggers: inserts once per statement over its new rows (the drain
-- files hundreds of messages in one statement; a trigger per row cost
-- each a plpgsql call and a query), updates of the intent per row.
CREATE OR REPLACE FUNCTION consult_jobber_autosend() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        -- An insert counts only for a form post (written classified by the
        -- drain); other inserts with an intent (a Cal.com booking's
        -- events) were never classified. EXECUTE, so each statement is
        -- planned for its own number of rows (consult_mark_unread.sql);
        -- only when such a post came, so other inserts plan nothing.
        IF NOT EXISTS (SELECT 1 FROM added n WHERE n.intent IS NOT NULL AND n.channel = 'form'
                       AND n.direction = 'inbound' AND NOT n.is_spam) THEN
            RETURN NULL;
        END IF;
        EXECUTE $q$
        WITH r AS (
            INSERT INTO jobber_requests (client_id, message_id, contact_id)
            SELECT n.client_id, n.id, cv.contact_id
              FROM integration_accounts a
              JOIN added n ON n.client_id = a.client_id
              JOIN conversations cv ON cv.id = n.conversation_id
             WHERE a.provider = 'jobber' AND a.state IN ('connected', 'failing')
               AND n.intent IS NOT NULL AND n.channel = 'form'
               AND n.direction = 'inbound' AND NOT n.is_spam
               AND n.intent = ANY (a.auto_send)
            ON CONFLICT (message_id) DO NOTHING
            RETURNING client_id, message_id)
        INSERT INTO jobs (kind, payload, unique_key)
        SELECT 'jobber.lead', jsonb_build_object('client_id', client_id, 'message_id', message_id),
               'jobber.lead:' || message_id
          FROM r
        ON CONFLICT (unique_key) DO NOTHING
        $q$;
        RETURN NULL;
    END IF;
    IF NEW.intent IS DISTINCT FROM OLD.intent
       AND NEW.direction = 'inbound' AND NOT NEW.is_spam THEN
        INSERT INTO jobber_requests (client_id, message_id, contact_id)
        SELECT NEW.client_id, NEW.id, cv.contact_id
          FROM conversations cv JOIN integration_accounts a
            ON a.client_id = cv.client_id AND a.provider = 'jobber'
         WHERE cv.id = NEW.conversation_id AND a.state IN ('connected', 'failing')
           AND NEW.intent = ANY (a.auto_send)
        ON CONFLICT (message_id) DO NOTHING;
        IF FOUND THEN
            INSERT INTO jobs (kind, payload, unique_key)
            VALUES ('jobber.lead', jsonb_build_object('client_id', NEW.client_id,
                    'message_id', NEW.id), 'jobber.lead:' || NEW.id)
            ON CONFLICT (unique_key) DO NOTHING;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS messages_jobber_autosend ON messages;
DROP TRIGGER IF EXISTS messages_jobber_autosend_new ON messages;
CREATE TRIGGER messages_jobber_autosend AFTER UPDATE OF intent ON messages
    FOR EACH ROW WHEN (NEW.intent IS NOT NULL) EXECUTE FUNCTION consult_jobber_autosend();
CREATE TRIGGER messages_jobber_autosend_new AFTER INSERT ON messages
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION consult_jobber_autosend();
