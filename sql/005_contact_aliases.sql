-- Merging contacts loses nothing: the merged-away contact's name, email,
-- phone and SMS opt-out are kept as an alias of the contact it joined, and
-- a later form post or SMS from that email or phone finds the merged
-- contact instead of starting a new one. Also: an MMS without text is
-- processed (staff are told of it) like any message, and housekeeping.

CREATE TABLE contact_aliases (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    contact_id      bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    merged_id       bigint NOT NULL,            -- the id the contact had
    name            text,
    email           text,
    phone           text,
    sms_opted_out   boolean NOT NULL DEFAULT false,
    merged_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contact_aliases_contact ON contact_aliases (contact_id);
CREATE INDEX contact_aliases_email ON contact_aliases (client_id, lower(email))
    WHERE email IS NOT NULL;
CREATE INDEX contact_aliases_phone ON contact_aliases (client_id, phone)
    WHERE phone IS NOT NULL;

-- The contact an address belongs to: a contact's own email, else its own
-- phone, else an alias's email, else an alias's phone. NULL: nobody yet.
CREATE FUNCTION consult_find_contact(p_client_id bigint, p_email text, p_phone text)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    v bigint;
BEGIN
    IF p_email IS NOT NULL THEN
        SELECT c.id INTO v FROM contacts c
         WHERE c.client_id = p_client_id AND lower(c.email) = lower(p_email);
        IF FOUND THEN RETURN v; END IF;
    END IF;
    IF p_phone IS NOT NULL THEN
        SELECT c.id INTO v FROM contacts c WHERE c.client_id = p_client_id AND c.phone = p_phone;
        IF FOUND THEN RETURN v; END IF;
    END IF;
    IF p_email IS NOT NULL THEN
        SELECT a.contact_id INTO v FROM contact_aliases a
         WHERE a.client_id = p_client_id AND lower(a.email) = lower(p_email)
         ORDER BY a.id DESC LIMIT 1;
        IF FOUND THEN RETURN v; END IF;
    END IF;
    IF p_phone IS NOT NULL THEN
        SELECT a.contact_id INTO v FROM contact_aliases a
         WHERE a.client_id = p_client_id AND a.phone = p_phone
         ORDER BY a.id DESC LIMIT 1;
        IF FOUND THEN RETURN v; END IF;
    END IF;
    RETURN NULL;
END
$$;

-- Whether texts to @p_phone for this contact are blocked: the contact's
-- STOP, or a STOP from that number when it was a contact since merged in.
-- Conservative on purpose: either one blocks.
CREATE FUNCTION consult_sms_opted_out(p_contact_id bigint, p_phone text)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT c.sms_opted_out FROM contacts c WHERE c.id = p_contact_id), false)
        OR EXISTS (SELECT 1 FROM contact_aliases a
                    WHERE a.contact_id = p_contact_id AND a.phone = p_phone AND a.sms_opted_out)
$$;

CREATE OR REPLACE FUNCTION consult_merge_contacts(p_client_id bigint, p_keep bigint, p_drop bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    k contacts%ROWTYPE;
    d contacts%ROWTYPE;
    v_keep_conv bigint;
    v_drop_conv bigint;
BEGIN
    IF p_keep = p_drop THEN
        RETURN false;
    END IF;
    SELECT * INTO k FROM contacts WHERE id = p_keep AND client_id = p_client_id FOR UPDATE;
    SELECT * INTO d FROM contacts WHERE id = p_drop AND client_id = p_client_id FOR UPDATE;
    IF k.id IS NULL OR d.id IS NULL THEN
        RETURN false;
    END IF;
    SELECT id INTO v_keep_conv FROM conversations WHERE contact_id = p_keep;
    SELECT id INTO v_drop_conv FROM conversations WHERE contact_id = p_drop;
    IF v_drop_conv IS NOT NULL THEN
        IF v_keep_conv IS NULL THEN
            UPDATE conversations SET contact_id = p_keep WHERE id = v_drop_conv;
        ELSE
            UPDATE messages SET conversation_id = v_keep_conv WHERE conversation_id = v_drop_conv;
            UPDATE notes SET conversation_id = v_keep_conv WHERE conversation_id = v_drop_conv;
            UPDATE conversations c SET
                last_message_at = greatest(c.last_message_at, o.last_message_at),
                unread = c.unread OR o.unread,
                status = CASE WHEN c.status = 'spam' AND o.status <> 'spam' THEN o.status
                              ELSE c.status END
              FROM conversations o WHERE c.id = v_keep_conv AND o.id = v_drop_conv;
            DELETE FROM conversations WHERE id = v_drop_conv;
        END IF;
    END IF;
    UPDATE submissions SET contact_id = p_keep WHERE contact_id = p_drop;
    UPDATE notes SET contact_id = p_keep WHERE contact_id = p_drop;
    -- The merged-away identity, and the ones it had itself, stay findable.
    UPDATE contact_aliases SET contact_id = p_keep WHERE contact_id = p_drop;
    INSERT INTO contact_aliases (client_id, contact_id, merged_id, name, email, phone, sms_opted_out)
    VALUES (p_client_id, p_keep, d.id, d.name, d.email, d.phone, d.sms_opted_out);
    DELETE FROM contacts WHERE id = p_drop;
    -- An opt-out belongs to the number texts go to: the kept contact takes
    -- the other's when it takes its phone, and either STOP on a shared
    -- number holds.
    -- Merged into "Unknown caller", a contact makes it a real person (and
    -- the next call without caller ID starts a new Unknown caller).
    UPDATE contacts SET name = CASE WHEN k.unknown_caller THEN coalesce(d.name, k.name)
                                    ELSE coalesce(k.name, d.name) END,
           email = coalesce(k.email, d.email),
           phone = coalesce(k.phone, d.phone),
           unknown_caller = k.unknown_caller AND coalesce(k.email, d.email, k.phone, d.phone) IS NULL,
           sms_opted_out = CASE WHEN k.phone IS NULL THEN d.sms_opted_out
                                WHEN k.phone = d.phone THEN k.sms_opted_out OR d.sms_opted_out
                                ELSE k.sms_opted_out END,
           sms_opted_out_at = CASE WHEN k.phone IS NULL THEN d.sms_opted_out_at
                                   WHEN k.phone = d.phone
                                   THEN greatest(k.sms_opted_out_at, d.sms_opted_out_at)
                                   ELSE k.sms_opted_out_at END,
           updated_at = now()
     WHERE id = p_keep;
    RETURN true;
END
$$;

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

    -- The same email, else the same phone (a contact's or a merged one's),
    -- finds the same contact.
    LOOP
        v_contact := consult_find_contact(p_client_id, p_email, p_phone);
        EXIT WHEN v_contact IS NOT NULL;
        BEGIN
            INSERT INTO contacts (client_id, name, email, phone)
            VALUES (p_client_id, p_name, p_email, p_phone) RETURNING id INTO v_contact;
            EXIT;
        EXCEPTION WHEN unique_violation THEN
            -- a concurrent post created it: look again
        END;
    END LOOP;
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

-- A call without caller ID still leaves its voicemail: it goes to the
-- client's one "Unknown caller" contact (no number, so nothing to reply to).
ALTER TABLE contacts ADD COLUMN unknown_caller boolean NOT NULL DEFAULT false;
ALTER TABLE contacts DROP CONSTRAINT contacts_reachable;
ALTER TABLE contacts ADD CONSTRAINT contacts_reachable
    CHECK (email IS NOT NULL OR phone IS NOT NULL OR unknown_caller);
CREATE UNIQUE INDEX contacts_unknown_caller ON contacts (client_id) WHERE unknown_caller;

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

-- Housekeeping, run by the job worker at start and hourly: sessions a day
-- past their end, sign-in attempts older than 30 days (throttling looks at
-- minutes), and finished jobs older than 30 days. Returns what it removed.
CREATE FUNCTION consult_housekeeping(OUT sessions bigint, OUT login_attempts bigint,
                                     OUT jobs bigint)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sessions s WHERE s.expires_at < now() - interval '1 day';
    GET DIAGNOSTICS sessions = ROW_COUNT;
    DELETE FROM login_attempts a WHERE a.created_at < now() - interval '30 days';
    GET DIAGNOSTICS login_attempts = ROW_COUNT;
    DELETE FROM jobs j WHERE j.state = 'done' AND j.done_at < now() - interval '30 days';
    GET DIAGNOSTICS jobs = ROW_COUNT;
END
$$;

-- A send job that ends dead, however it got there (its handler gave up, or
-- its worker died on every attempt), leaves its message "failed" with the
-- reason, never "queued" or "sending" for ever.
CREATE FUNCTION consult_dead_send_fails_message() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE messages SET delivery_status = 'failed',
           delivery_error = coalesce(delivery_error, 'Not sent: ' || coalesce(NEW.last_error, 'gave up'))
     WHERE id = (NEW.payload->>'message_id')::bigint
       AND direction = 'outbound' AND provider_id IS NULL
       AND delivery_status IN ('queued', 'sending');
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_dead_send AFTER UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.state = 'dead' AND OLD.state <> 'dead'
                       AND NEW.kind IN ('twilio.sms.send', 'email.send'))
    EXECUTE FUNCTION consult_dead_send_fails_message();
