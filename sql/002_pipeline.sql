-- Intake pipeline: conversations and messages, spam marks, idempotency,
-- attachments, the job queue, notifications and label corrections.

CREATE TABLE conversations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    contact_id      bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'archived', 'spam')),
    last_message_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- One thread per contact: every channel joins it.
    UNIQUE (client_id, contact_id)
);
CREATE INDEX conversations_client_recent ON conversations (client_id, last_message_at DESC, id DESC);

CREATE TABLE messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel         text NOT NULL
                    CHECK (channel IN ('form', 'sms', 'voicemail', 'email', 'booking', 'order', 'note')),
    direction       text NOT NULL DEFAULT 'inbound' CHECK (direction IN ('inbound', 'outbound')),
    body            text NOT NULL,
    is_spam         boolean NOT NULL DEFAULT false,
    spam_reasons    text[] NOT NULL DEFAULT '{}',
    -- classification, filled by the submission.process job
    intent          text CHECK (intent IN ('quote_request', 'booking_request', 'question', 'complaint',
                                           'order_issue', 'job_inquiry', 'spam', 'other')),
    urgency         text CHECK (urgency IN ('high', 'normal', 'low')),
    confidence      real CHECK (confidence BETWEEN 0 AND 1),
    classification  jsonb,
    classified_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation ON messages (conversation_id, created_at, id);
CREATE INDEX messages_client_recent ON messages (client_id, created_at DESC, id DESC);

ALTER TABLE submissions
    ADD COLUMN message_id      bigint REFERENCES messages (id) ON DELETE SET NULL,
    ADD COLUMN idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    ADD COLUMN is_spam         boolean NOT NULL DEFAULT false,
    ADD COLUMN spam_reasons    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN service         text CHECK (length(service) <= 200),
    ADD COLUMN preferred_time  text CHECK (length(preferred_time) <= 200);
-- A retried post (same Idempotency-Key or form token) finds the first one.
CREATE UNIQUE INDEX submissions_idempotency ON submissions (client_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE attachments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id     bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    submission_id bigint NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    field         text NOT NULL,
    filename      text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    content_type  text NOT NULL,          -- sniffed from the bytes, not declared
    size          bigint NOT NULL CHECK (size >= 0),
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    data          bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (octet_length(data) = size)
);
CREATE INDEX attachments_submission ON attachments (submission_id);

-- The durable job queue (see common/cs_jobs.c for the state machine).
CREATE TABLE jobs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,62}$'),
    payload       jsonb NOT NULL DEFAULT '{}',
    unique_key    text UNIQUE,
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'done', 'dead')),
    run_at        timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 8 CHECK (max_attempts >= 1),
    locked_by     text,
    locked_until  timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    done_at       timestamptz
);
-- What the worker claims: due queued jobs, and running ones whose lease
-- ran out (their process died).
CREATE INDEX jobs_claimable ON jobs (run_at, id) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_dead ON jobs (updated_at DESC) WHERE state = 'dead';

CREATE TABLE notifications (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id   bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    message_id  bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('new_message', 'urgent_message')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    UNIQUE (message_id, kind)
);
CREATE INDEX notifications_unsent ON notifications (client_id, created_at) WHERE sent_at IS NULL;

-- Staff corrections of a label; the next training build reads them.
CREATE TABLE classification_corrections (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id    bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    message_id   bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    text         text NOT NULL,
    old_intent   text,
    new_intent   text NOT NULL CHECK (new_intent IN ('quote_request', 'booking_request', 'question',
                                                     'complaint', 'order_issue', 'job_inquiry', 'spam', 'other')),
    old_urgency  text,
    new_urgency  text CHECK (new_urgency IN ('high', 'normal', 'low')),
    corrected_by text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX classification_corrections_client ON classification_corrections (client_id, created_at);

-- One round trip for the whole intake write: contact upsert, conversation,
-- message, submission and the processing job, atomically. Returns the
-- submission id and whether it already existed (a retried post).
CREATE FUNCTION consult_intake_submit(
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

    -- The same email, else the same phone, finds the same contact.
    LOOP
        SELECT c.id INTO v_contact FROM contacts c
         WHERE c.client_id = p_client_id
           AND ((p_email IS NOT NULL AND lower(c.email) = lower(p_email))
             OR (p_phone IS NOT NULL AND c.phone = p_phone))
         ORDER BY (p_email IS NOT NULL AND lower(c.email) = lower(p_email)) DESC, c.id
         LIMIT 1;
        EXIT WHEN FOUND;
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

-- A staff correction: recorded for retraining and applied to the message,
-- in one step. The dashboard calls it; so does `consult-admin correct`.
CREATE FUNCTION consult_correct_classification(
    p_client_id bigint, p_message_id bigint, p_intent text, p_urgency text,
    p_corrected_by text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO classification_corrections
        (client_id, message_id, text, old_intent, new_intent, old_urgency, new_urgency, corrected_by)
    SELECT m.client_id, m.id, m.body, m.intent, p_intent, m.urgency,
           coalesce(p_urgency, m.urgency), p_corrected_by
      FROM messages m WHERE m.id = p_message_id AND m.client_id = p_client_id
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'message % of client % not found', p_message_id, p_client_id
              USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE messages SET intent = p_intent, urgency = coalesce(p_urgency, urgency),
           is_spam = (p_intent = 'spam'),
           classification = coalesce(classification, '{}'::jsonb)
                            || jsonb_build_object('corrected_by', p_corrected_by)
     WHERE id = p_message_id;
    RETURN v_id;
END
$$;
