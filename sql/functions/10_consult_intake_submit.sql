-- consult_intake_submit: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- Earlier definitions: sql/002_pipeline.sql, sql/005_contact_aliases.sql.
-- One round trip for the whole intake write: contact upsert, conversation,
-- message, submission and the processing job, atomically. Returns the
-- submission id and whether it already existed (a retried post).
-- p_class: the classification the journal drain already made
-- (cs_classification_json, plus "mail": whether the client's staff are
-- emailed): it is written with the message, and the notification with it,
-- so no submission.process job is needed; NULL queues that job (an LLM
-- classifies there, outside any transaction).
-- Calls consult_find_or_add_contact (hence the 10_ prefix: applied after it).
-- The signature before p_class: gone, so a call is never ambiguous.
DROP FUNCTION IF EXISTS consult_intake_submit(bigint, text, text, text, text, jsonb, inet,
    text, text, text, boolean, text[], text, text);
CREATE OR REPLACE FUNCTION consult_intake_submit(
    p_client_id bigint, p_name text, p_email text, p_phone text, p_message text,
    p_fields jsonb, p_source_ip inet, p_user_agent text, p_referer text,
    p_idempotency_key text, p_is_spam boolean, p_spam_reasons text[],
    p_service text, p_preferred_time text, p_class jsonb,
    OUT submission_id bigint, OUT message_id bigint, OUT duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_contact bigint;
    v_conversation bigint;
    -- spam by the edge's layers, or by content (the classifier)
    v_spam boolean := p_is_spam OR coalesce(p_class->>'intent' = 'spam', false);
    v_reasons text[] := p_spam_reasons;
    v_note bigint;
BEGIN
    duplicate := false;
    IF coalesce(p_class->>'intent' = 'spam', false) AND NOT 'classifier' = ANY (v_reasons) THEN
        v_reasons := v_reasons || 'classifier'::text;
    END IF;
    IF p_idempotency_key IS NOT NULL THEN
        SELECT s.id, s.message_id INTO submission_id, message_id FROM submissions s
         WHERE s.client_id = p_client_id AND s.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            duplicate := true;
            RETURN;
        END IF;
    END IF;

    v_contact := consult_find_or_add_contact(p_client_id, p_name, p_email, p_phone);
    -- Fill in what we did not know, never overwrite what staff may have edited.
    UPDATE contacts c SET
        name  = coalesce(c.name, p_name),
        email = coalesce(c.email, CASE WHEN NOT EXISTS (
                    SELECT 1 FROM contacts o WHERE o.client_id = p_client_id
                       AND lower(o.email) = lower(p_email)) THEN p_email END),
        phone = coalesce(c.phone, CASE WHEN NOT EXISTS (
                    SELECT 1 FROM contacts o WHERE o.client_id = p_client_id
                       AND o.phone = p_phone) THEN p_phone END),
        updated_at = now()
     WHERE c.id = v_contact
       AND (c.name IS NULL OR c.email IS NULL OR c.phone IS NULL);

    -- Unread and as recent as the message already: the message's trigger
    -- (consult_mark_unread) then has nothing to change.
    INSERT INTO conversations AS cv (client_id, contact_id, unread)
    VALUES (p_client_id, v_contact, true)
    ON CONFLICT (client_id, contact_id) DO UPDATE
        SET last_message_at = greatest(cv.last_message_at, now()), unread = true,
            -- a new (non-spam) message reopens an archived thread
            status = CASE WHEN cv.status = 'archived' AND NOT v_spam THEN 'open' ELSE cv.status END
    RETURNING id INTO v_conversation;
    IF v_spam THEN
        UPDATE conversations SET status = 'spam'
         WHERE id = v_conversation
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = v_conversation AND NOT m.is_spam);
    END IF;

    INSERT INTO messages (client_id, conversation_id, channel, direction, body, is_spam, spam_reasons,
                          intent, urgency, confidence, classification, classified_at)
    VALUES (p_client_id, v_conversation, 'form', 'inbound', p_message, v_spam, v_reasons,
            p_class->>'intent', p_class->>'urgency', (p_class->>'confidence')::real,
            p_class - 'mail', CASE WHEN p_class IS NOT NULL THEN now() END)
    RETURNING id INTO message_id;

    INSERT INTO submissions (client_id, contact_id, message_id, name, email, phone, message, fields,
                             source_ip, user_agent, referer, idempotency_key, is_spam, spam_reasons,
                             service, preferred_time)
    VALUES (p_client_id, v_contact, message_id, p_name, p_email, p_phone, p_message, p_fields,
            p_source_ip, p_user_agent, p_referer, p_idempotency_key, p_is_spam, p_spam_reasons,
            p_service, p_preferred_time)
    RETURNING id INTO submission_id;

    IF p_class IS NULL THEN
        INSERT INTO jobs (kind, payload, unique_key)
        VALUES ('submission.process',
                jsonb_build_object('submission_id', submission_id, 'message_id', message_id,
                                   'client_id', p_client_id),
                'submission.process:' || submission_id);
    ELSIF NOT v_spam THEN
        -- as submission.process does (mod_consult_intake intake_job.c):
        -- no one is woken up for spam
        INSERT INTO notifications (client_id, message_id, kind)
        VALUES (p_client_id, message_id,
                CASE WHEN p_class->>'urgency' = 'high' THEN 'urgent_message' ELSE 'new_message' END)
        RETURNING id INTO v_note;
        IF coalesce((p_class->>'mail')::boolean, true) THEN
            INSERT INTO jobs (kind, payload, unique_key)
            VALUES ('notification.send', jsonb_build_object('notification_id', v_note),
                    'notification.send:' || v_note);
        END IF;
    END IF;
END
$$;
