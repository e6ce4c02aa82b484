-- Staff dashboard: staff users and memberships, sessions, login throttling,
-- read state and assignment, notes, saved replies, the audit log, search.

CREATE TABLE staff_users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    password_hash   text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    is_agency_admin boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);
CREATE UNIQUE INDEX staff_users_email ON staff_users (lower(email));

CREATE TABLE memberships (
    user_id    bigint NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    client_id  bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('owner', 'staff')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX memberships_client ON memberships (client_id);

-- Only a hash of the cookie's token is stored: a database leak yields no
-- usable session.
CREATE TABLE sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    user_id      bigint NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    client_id    bigint REFERENCES clients (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ip           inet,
    user_agent   text
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE login_attempts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL,
    ip         inet,
    succeeded  boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_email ON login_attempts (lower(email), created_at DESC);
CREATE INDEX login_attempts_ip ON login_attempts (ip, created_at DESC);

ALTER TABLE conversations
    ADD COLUMN unread      boolean NOT NULL DEFAULT true,
    ADD COLUMN assigned_to bigint REFERENCES staff_users (id) ON DELETE SET NULL;
-- The inbox list: a client's threads by folder, newest first, keyset-paged.
CREATE INDEX conversations_client_status_recent
    ON conversations (client_id, status, last_message_at DESC, id DESC);

-- New inbound messages mark the thread unread.
CREATE FUNCTION consult_mark_unread() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.direction = 'inbound' THEN
        UPDATE conversations SET unread = true, last_message_at = greatest(last_message_at, NEW.created_at)
         WHERE id = NEW.conversation_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER messages_mark_unread AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION consult_mark_unread();

-- Full-text search over messages (English and Spanish stemming, plus the
-- raw words) and over contacts.
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('english', body) || to_tsvector('spanish', body) || to_tsvector('simple', body)
) STORED;
CREATE INDEX messages_search ON messages USING gin (search);
ALTER TABLE contacts ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(email, '') || ' '
                || coalesce(replace(email, '@', ' '), '') || ' ' || coalesce(phone, ''))
) STORED;
CREATE INDEX contacts_search ON contacts USING gin (search);

CREATE TABLE notes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    conversation_id bigint REFERENCES conversations (id) ON DELETE CASCADE,
    contact_id      bigint REFERENCES contacts (id) ON DELETE CASCADE,
    author_id       bigint REFERENCES staff_users (id) ON DELETE SET NULL,
    body            text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 5000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (conversation_id IS NOT NULL OR contact_id IS NOT NULL)
);
CREATE INDEX notes_conversation ON notes (conversation_id, created_at);
CREATE INDEX notes_contact ON notes (contact_id, created_at);

CREATE TABLE saved_replies (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id  bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    title      text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    body       text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 5000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saved_replies_client ON saved_replies (client_id, title);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id   bigint REFERENCES clients (id) ON DELETE CASCADE,
    user_id     bigint REFERENCES staff_users (id) ON DELETE SET NULL,
    action      text NOT NULL,
    target_type text,
    target_id   bigint,
    detail      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_client ON audit_log (client_id, created_at DESC);

-- Merge two contacts of one client: @p p_drop's threads, messages,
-- submissions and notes move to @p p_keep, missing details are filled in,
-- and p_drop is deleted. Nothing is lost. Returns false when either is not
-- the client's.
CREATE FUNCTION consult_merge_contacts(p_client_id bigint, p_keep bigint, p_drop bigint)
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
    DELETE FROM contacts WHERE id = p_drop;
    UPDATE contacts SET name = coalesce(k.name, d.name), email = coalesce(k.email, d.email),
           phone = coalesce(k.phone, d.phone), updated_at = now()
     WHERE id = p_keep;
    RETURN true;
END
$$;
