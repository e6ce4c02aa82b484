-- consult_intake_submit: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- Earlier definitions: sql/002_pipeline.sql, sql/005_contact_aliases.sql.
-- One round trip for the whole intake write: contact upsert, conversation,
-- message, submission and the processing job, atomically. Returns the
-- submission id and whether it already existed (a retried post).
-- Calls consult_find_or_add_contact (hence the 10_ prefix: applied after it).
CREATE OR REPLACE FUNCTION consult_intake_submit(
    p_client_id bigint, p_name text, p_email text, p_phone text, p_message text,
    p_fields jsonb, p_source_ip inet, p_user_agent text, p_referer text,
    p_idempotency_key text, p_is_spam boolean, p_spam_reasons text[],
    p_service text, p_preferred_time text,
    OUT submission_id bigint, OUT message_id bigint, OUT duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_contact bigint;
    v_conversation bigint;
BEGIN
    duplicate := false;
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

    INSERT INTO conversations AS cv (client_id, contact_id)
    VALUES (p_client_id, v_contact)
    ON CONFLICT (client_id, contact_id) DO UPDATE
        SET last_message_at = now(),
            -- a new (non-spam) message reopens an archived thread
            status = CASE WHEN cv.status = 'archived' AND NOT p_is_spam THEN 'open' ELSE cv.status END
    RETURNING id INTO v_conversation;
    IF p_is_spam THEN
        UPDATE conversations SET status = 'spam'
         WHERE id = v_conversation
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = v_conversation AND NOT m.is_spam);
    END IF;

    INSERT INTO messages (client_id, conversation_id, channel, direction, body, is_spam, spam_reasons)
    VALUES (p_client_id, v_conversation, 'form', 'inbound', p_message, p_is_spam, p_spam_reasons)
    RETURNING id INTO message_id;

    INSERT INTO submissions (client_id, contact_id, message_id, name, email, phone, message, fields,
                             source_ip, user_agent, referer, idempotency_key, is_spam, spam_reasons,
                             service, preferred_time)
    VALUES (p_client_id, v_contact, message_id, p_name, p_email, p_phone, p_message, p_fields,
            p_source_ip, p_user_agent, p_referer, p_idempotency_key, p_is_spam, p_spam_reasons,
            p_service, p_preferred_time)
    RETURNING id INTO submission_id;

    INSERT INTO jobs (kind, payload, unique_key)
    VALUES ('submission.process',
            jsonb_build_object('submission_id', submission_id, 'message_id', message_id,
                               'client_id', p_client_id),
            'submission.process:' || submission_id);
END
$$;
