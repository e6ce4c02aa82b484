-- consult_inbound_message: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- Earlier definitions: sql/004_messaging.sql, sql/005_contact_aliases.sql.
-- An inbound SMS or voicemail, atomically and in one statement: the
-- contact (by E.164 phone, a merged-away one's included, created if new;
-- p_phone NULL, a call without caller ID: the client's Unknown caller), its
-- SMS opt-out when the message was STOP or START (p_sms_opt 'stop'/'start'),
-- the thread, the message, and its processing job. A redelivery (same
-- provider id) changes nothing and returns the first.
-- Calls consult_find_contact (hence the 10_ prefix: applied after it).
CREATE OR REPLACE FUNCTION consult_inbound_message(
    p_client_id bigint, p_phone text, p_channel text, p_body text,
    p_provider text, p_provider_id text, p_media jsonb, p_sms_opt text,
    OUT o_message_id bigint, OUT o_contact_id bigint, OUT o_duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_conversation bigint;
BEGIN
    o_duplicate := false;
    SELECT m.id, cv.contact_id INTO o_message_id, o_contact_id
      FROM messages m JOIN conversations cv ON cv.id = m.conversation_id
     WHERE m.provider = p_provider AND m.provider_id = p_provider_id AND m.client_id = p_client_id;
    IF FOUND THEN
        o_duplicate := true;
        RETURN;
    END IF;
    LOOP
        IF p_phone IS NULL THEN
            SELECT c.id INTO o_contact_id FROM contacts c
             WHERE c.client_id = p_client_id AND c.unknown_caller;
        ELSE
            o_contact_id := consult_find_contact(p_client_id, NULL, p_phone);
        END IF;
        EXIT WHEN o_contact_id IS NOT NULL;
        BEGIN
            INSERT INTO contacts (client_id, phone, name, unknown_caller)
            VALUES (p_client_id, p_phone, CASE WHEN p_phone IS NULL THEN 'Unknown caller' END,
                    p_phone IS NULL)
            RETURNING id INTO o_contact_id;
            EXIT;
        EXCEPTION WHEN unique_violation THEN
        END;
    END LOOP;
    -- STOP and START apply to the number texts go to: the contact's own.
    IF p_sms_opt IN ('stop', 'start') THEN
        UPDATE contacts SET sms_opted_out = (p_sms_opt = 'stop'),
               sms_opted_out_at = CASE WHEN p_sms_opt = 'stop' THEN now() END,
               updated_at = now()
         WHERE id = o_contact_id AND phone = p_phone;
        UPDATE contact_aliases SET sms_opted_out = (p_sms_opt = 'stop')
         WHERE contact_id = o_contact_id AND phone = p_phone;
    END IF;
    INSERT INTO conversations AS cv (client_id, contact_id) VALUES (p_client_id, o_contact_id)
    ON CONFLICT (client_id, contact_id) DO UPDATE
        SET last_message_at = now(),
            status = CASE WHEN cv.status = 'archived' THEN 'open' ELSE cv.status END
    RETURNING id INTO v_conversation;
    BEGIN
        INSERT INTO messages (client_id, conversation_id, channel, direction, body, provider,
                              provider_id, delivery_status, media)
        VALUES (p_client_id, v_conversation, p_channel, 'inbound', coalesce(p_body, ''), p_provider,
                p_provider_id, 'received', p_media)
        RETURNING id INTO o_message_id;
    EXCEPTION WHEN unique_violation THEN
        -- The same delivery arrived twice at once: the other one stored it.
        SELECT m.id INTO o_message_id FROM messages m
         WHERE m.provider = p_provider AND m.provider_id = p_provider_id;
        o_duplicate := true;
        RETURN;
    END;
    -- A text, or a picture without one (staff are told; nothing to classify).
    IF coalesce(p_body, '') <> '' OR p_media IS NOT NULL THEN
        INSERT INTO jobs (kind, payload, unique_key)
        VALUES ('message.process', jsonb_build_object('message_id', o_message_id,
                'client_id', p_client_id), 'message.process:' || o_message_id);
    END IF;
END
$$;
