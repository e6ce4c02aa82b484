-- Consult schema, first cut: clients (tenants), their contacts, and the
-- form submissions the sites post. Every tenant-owned row carries client_id.

CREATE TABLE clients (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE
                CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contacts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id   bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name        text CHECK (length(name) <= 200),
    email       text CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    phone       text CHECK (phone ~ '^\+?[0-9]{7,15}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contacts_reachable CHECK (email IS NOT NULL OR phone IS NOT NULL)
);
-- One contact per address within a client; the same address under two
-- clients is two contacts (tenants never share rows).
CREATE UNIQUE INDEX contacts_client_email ON contacts (client_id, lower(email))
    WHERE email IS NOT NULL;
CREATE UNIQUE INDEX contacts_client_phone ON contacts (client_id, phone)
    WHERE phone IS NOT NULL;

CREATE TABLE submissions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id   bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    contact_id  bigint REFERENCES contacts (id) ON DELETE SET NULL,
    -- normalized columns, validated by the intake module
    name        text CHECK (length(name) <= 200),
    email       text CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    phone       text CHECK (phone ~ '^\+?[0-9]{7,15}$'),
    message     text NOT NULL CHECK (length(btrim(message)) BETWEEN 1 AND 5000),
    -- every field exactly as the form sent it
    fields      jsonb NOT NULL CHECK (jsonb_typeof(fields) = 'object'),
    source_ip   inet,
    user_agent  text,
    referer     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT submissions_reachable CHECK (email IS NOT NULL OR phone IS NOT NULL)
);
-- The inbox lists a client's newest submissions first.
CREATE INDEX submissions_client_created ON submissions (client_id, created_at DESC, id DESC);
CREATE INDEX submissions_contact ON submissions (contact_id) WHERE contact_id IS NOT NULL;
