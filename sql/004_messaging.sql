-- Two-way messaging: SMS opt-out, provider ids and delivery state on
-- messages, voicemail details, and idempotent webhook receipts.

ALTER TABLE contacts
    ADD COLUMN sms_opted_out    boolean NOT NULL DEFAULT false,
    ADD COLUMN sms_opted_out_at timestamptz;

ALTER TABLE messages
    ADD COLUMN provider        text CHECK (provider IN ('twilio', 'resend')),
    ADD COLUMN provider_id     text,            -- MessageSid, CallSid, Resend email id
    ADD COLUMN delivery_status text CHECK (delivery_status IN
        ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'received')),
    ADD COLUMN delivery_error  text,
    ADD COLUMN media           jsonb,           -- [{url, content_type}] of an MMS
    ADD COLUMN recording_url   text,
    ADD COLUMN recording_seconds integer,
    ADD COLUMN to_address      text,            -- outbound: the number or email used
    ADD COLUMN author_id       bigint REFERENCES staff_users (id) ON DELETE SET NULL,
    ADD COLUMN send_started_at timestamptz;     -- outbound: when a send attempt began
-- A provider's id names one message: a redelivered webhook finds it.
CREATE UNIQUE INDEX messages_provider_id ON messages (provider, provider_id)
    WHERE provider_id IS NOT NULL;

-- Every webhook delivery we acted on, once per (provider, event id).
CREATE TABLE provider_events (
    provider    text NOT NULL,
    event_id    text NOT NULL,
    client_id   bigint REFERENCES clients (id) ON DELETE CASCADE,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- An inbound SMS or voicemail, atomically and in one statement: the
-- contact (by E.164 phone, created if new), its SMS opt-out when the
-- message was STOP or START (p_sms_opt 'stop'/'start'), the thread, the
-- message, and its processing job. A redelivery (same provider id)
-- changes nothing and returns the first.
CREATE FUNCTION consult_inbound_message(
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
        SELECT c.id INTO o_contact_id FROM contacts c
         WHERE c.client_id = p_client_id AND c.phone = p_phone;
        EXIT WHEN FOUND;
        BEGIN
            INSERT INTO contacts (client_id, phone) VALUES (p_client_id, p_phone)
            RETURNING id INTO o_contact_id;
            EXIT;
        EXCEPTION WHEN unique_violation THEN
        END;
    END LOOP;
    IF p_sms_opt IN ('stop', 'start') THEN
        UPDATE contacts SET sms_opted_out = (p_sms_opt = 'stop'),
               sms_opted_out_at = CASE WHEN p_sms_opt = 'stop' THEN now() END,
               updated_at = now()
         WHERE id = o_contact_id;
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
    IF coalesce(p_body, '') <> '' THEN
        INSERT INTO jobs (kind, payload, unique_key)
        VALUES ('message.process', jsonb_build_object('message_id', o_message_id,
                'client_id', p_client_id), 'message.process:' || o_message_id);
    END IF;
END
$$;
