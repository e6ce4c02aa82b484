-- consult_jobber_autosend: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- A customer's message whose intent is one the client sends to Jobber by
-- itself (ConsultJobberAutoSend, kept in integration_accounts.auto_send)
-- becomes a jobber_requests row and its jobber.lead job as soon as it is
-- classified, in the classifying transaction (a form post is written
-- classified by the journal drain: the insert; a job's classification or a
-- staff correction: the update): once per message, whatever relabels it
-- later; never for spam, or without a working connection.
CREATE OR REPLACE FUNCTION consult_jobber_autosend() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- An insert counts only for a form post (written classified by the
    -- drain); other inserts with an intent (a Cal.com booking's events)
    -- were never classified.
    IF NEW.intent IS NOT NULL
       AND (CASE WHEN TG_OP = 'INSERT' THEN NEW.channel = 'form'
                 ELSE NEW.intent IS DISTINCT FROM OLD.intent END)
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
CREATE TRIGGER messages_jobber_autosend AFTER INSERT OR UPDATE OF intent ON messages
    FOR EACH ROW WHEN (NEW.intent IS NOT NULL) EXECUTE FUNCTION consult_jobber_autosend();
