-- mod_consult_integrations: a client's connected accounts (Jobber), the
-- bookings Cal.com tells us about, and what a contact or a message became
-- in Jobber. No functions or views here (they live in sql/functions/).

-- One account per client and provider. Tokens are never stored in the
-- clear: each is cs_seal's "v1.<key id>.<nonce|ciphertext|tag>" under
-- the ConsultSecretKey named by key_id (so keys can rotate: a row sealed
-- under an old key is re-sealed under the current one at its next
-- refresh). The refresh token rotates at every refresh; the job that
-- refreshes holds this row FOR UPDATE, so one refresh runs at a time per
-- account and the new pair is committed before anything uses it.
CREATE TABLE integration_accounts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id        bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    provider         text NOT NULL CHECK (provider IN ('jobber')),
    -- connected: tokens work as far as we know; revoked: the provider
    -- refused the grant (reconnect); failing: calls keep failing for
    -- another reason (last_error says which); disconnected: by staff.
    state            text NOT NULL DEFAULT 'disconnected'
                     CHECK (state IN ('connected', 'revoked', 'failing', 'disconnected')),
    account_id       text CHECK (length(account_id) <= 300),   -- the provider's account
    access_sealed    text,
    refresh_sealed   text,
    key_id           text CHECK (key_id ~ '^[A-Za-z0-9_-]{1,32}$'),
    expires_at       timestamptz,
    connected_by     bigint REFERENCES staff_users (id) ON DELETE SET NULL,
    connected_at     timestamptz,
    refreshed_at     timestamptz,
    refresh_count    integer NOT NULL DEFAULT 0,
    last_event_at    timestamptz,
    last_error       text CHECK (length(last_error) <= 2000),
    last_error_at    timestamptz,
    test_requested_at timestamptz,
    test_result      text CHECK (length(test_result) <= 2000),
    test_ok          boolean,
    test_at          timestamptz,
    -- the daily jobber.reconcile: when it last ran, and how many changes
    -- it found that no webhook had brought
    reconciled_at    timestamptz,
    reconcile_recovered integer NOT NULL DEFAULT 0,
    -- ConsultJobberAutoSend: the intents whose messages go to Jobber
    -- without staff (synced from the configuration by the module)
    auto_send        text[] NOT NULL DEFAULT '{}',
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (client_id, provider),
    CONSTRAINT integration_accounts_sealed
        CHECK ((access_sealed IS NULL AND refresh_sealed IS NULL) OR key_id IS NOT NULL)
);
CREATE INDEX integration_accounts_account ON integration_accounts (provider, account_id)
    WHERE account_id IS NOT NULL;

-- A Cal.com booking, by its uid (unique per client). A reschedule makes a
-- new uid at Cal.com naming the old one: the same row takes the new uid
-- and keeps the old ones in previous_uids. history: every trigger applied,
-- [{trigger, at, start, end}], oldest first.
CREATE TABLE bookings (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id          bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    contact_id         bigint REFERENCES contacts (id) ON DELETE SET NULL,
    uid                text NOT NULL CHECK (uid ~ '^[A-Za-z0-9_-]{1,128}$'),
    previous_uids      text[] NOT NULL DEFAULT '{}',
    status             text NOT NULL
                       CHECK (status IN ('booked', 'requested', 'cancelled', 'ended')),
    title              text CHECK (length(title) <= 500),
    event_type         text CHECK (length(event_type) <= 200),
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL,
    attendee_name      text CHECK (length(attendee_name) <= 200),
    attendee_email     text,
    attendee_phone     text,
    attendee_time_zone text CHECK (length(attendee_time_zone) <= 64),
    location           text CHECK (length(location) <= 1000),
    history            jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(history) = 'array'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at >= starts_at),
    UNIQUE (client_id, uid)
);
CREATE INDEX bookings_contact ON bookings (contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX bookings_previous ON bookings USING gin (previous_uids);

-- A contact as a Jobber client, and the Jobber request each lead (a
-- message staff sent, or one sent by intent) became. The ids are stored
-- as soon as Jobber answers, each in its own commit, so a retried job
-- never creates a second client or request.
CREATE TABLE jobber_links (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id         bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    contact_id        bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    jobber_client_id  text NOT NULL CHECK (length(jobber_client_id) BETWEEN 1 AND 300),
    jobber_status     text CHECK (length(jobber_status) <= 200),   -- from webhooks
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (client_id, contact_id)
);
CREATE INDEX jobber_links_jobber_client ON jobber_links (client_id, jobber_client_id);

CREATE TABLE jobber_requests (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id         bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    message_id        bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    contact_id        bigint REFERENCES contacts (id) ON DELETE SET NULL,
    -- queued: a job will send it; sent: the request exists in Jobber;
    -- failed: Jobber refused it (error says why, shown to staff).
    state             text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    jobber_request_id text CHECK (length(jobber_request_id) BETWEEN 1 AND 300),
    jobber_note_id    text CHECK (length(jobber_note_id) BETWEEN 1 AND 300),
    jobber_status     text CHECK (length(jobber_status) <= 200),    -- from webhooks
    error             text CHECK (length(error) <= 2000),
    requested_by      bigint REFERENCES staff_users (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz,
    UNIQUE (message_id)
);
CREATE INDEX jobber_requests_request ON jobber_requests (client_id, jobber_request_id)
    WHERE jobber_request_id IS NOT NULL;

-- Booking messages carry Cal.com's booking uid and trigger as their
-- provider id: one timeline entry per (uid, trigger).
ALTER TABLE messages DROP CONSTRAINT messages_provider_check;
ALTER TABLE messages ADD CONSTRAINT messages_provider_check
    CHECK (provider IN ('twilio', 'resend', 'calcom'));
