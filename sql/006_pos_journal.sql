-- The inbound journal of provider events (every provider's webhooks) and
-- the restaurant menu model of mod_consult_pos. Money is bigint cents.
-- No functions or views here (from 006 on they live in sql/functions/).

-- provider_events (made in 004, never written so far) becomes core's
-- inbound journal: one row per delivery a provider made, kept raw so
-- processing can be fixed and replayed; a redelivered event id finds the
-- first row. Unique per client: two tenants' POS may reuse an id.
ALTER TABLE provider_events DROP CONSTRAINT provider_events_pkey;
ALTER TABLE provider_events
    ADD COLUMN id           bigserial PRIMARY KEY,
    ADD COLUMN payload      text NOT NULL DEFAULT '',    -- the raw body, as received
    ADD COLUMN headers      jsonb NOT NULL DEFAULT '{}', -- request headers (no cookies)
    ADD COLUMN processed_at timestamptz,
    ADD COLUMN attempts     integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error   text,
    ALTER COLUMN client_id SET NOT NULL,
    ADD CONSTRAINT provider_events_provider_check
        CHECK (provider ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    ADD CONSTRAINT provider_events_event_id_check
        CHECK (length(event_id) BETWEEN 1 AND 300),
    ADD CONSTRAINT provider_events_provider_client_id_event_id_key
        UNIQUE (provider, client_id, event_id);
CREATE INDEX provider_events_unprocessed ON provider_events (received_at)
    WHERE processed_at IS NULL;

-- A client that is a restaurant: its POS and the menu's sync state.
CREATE TABLE restaurants (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id           bigint NOT NULL UNIQUE REFERENCES clients (id) ON DELETE CASCADE,
    pos_kind            text NOT NULL CHECK (pos_kind IN ('mock', 'square', 'clover', 'toast')),
    pos_location        text,
    time_zone           text NOT NULL DEFAULT 'UTC',
    tax_rate_bp         integer NOT NULL DEFAULT 0 CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    currency            text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    menu_version        bigint NOT NULL DEFAULT 0,
    last_sync_at        timestamptz,
    last_sync_error     text,
    last_webhook_at     timestamptz,
    last_poll_at        timestamptz,
    -- running total of sold-out changes the poll found that no webhook
    -- had brought (missed or lost deliveries)
    last_poll_recovered integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now()
);

-- The menu as the POS has it, keyed by the POS's own ids.
CREATE TABLE menu_categories (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id    bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    pos_id       text NOT NULL,
    name         text NOT NULL,
    description  text,
    sort         integer NOT NULL DEFAULT 0,
    UNIQUE (client_id, pos_id)
);

CREATE TABLE menu_items (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id    bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    pos_id       text NOT NULL,
    category     text NOT NULL,                -- pos_id of its category
    name         text NOT NULL,
    description  text,
    price_cents  bigint NOT NULL CHECK (price_cents >= 0),
    image_url    text,
    sort         integer NOT NULL DEFAULT 0,
    visible      boolean NOT NULL DEFAULT true,
    prep_points  integer NOT NULL DEFAULT 1 CHECK (prep_points >= 1),
    UNIQUE (client_id, pos_id)
);

CREATE TABLE menu_modifier_groups (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id    bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    pos_id       text NOT NULL,
    name         text NOT NULL,
    min_choices  integer NOT NULL DEFAULT 0 CHECK (min_choices >= 0),
    max_choices  integer NOT NULL DEFAULT 0 CHECK (max_choices >= 0),  -- 0 with min 0: any
    UNIQUE (client_id, pos_id)
);

CREATE TABLE menu_modifiers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id    bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    group_id     text NOT NULL,                -- pos_id of its group
    pos_id       text NOT NULL,
    name         text NOT NULL,
    price_cents  bigint NOT NULL DEFAULT 0,
    sort         integer NOT NULL DEFAULT 0,
    UNIQUE (client_id, pos_id)
);

-- Which modifier groups an item offers, in order.
CREATE TABLE menu_item_groups (
    client_id    bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    item_id      text NOT NULL,                -- pos_id of the item
    group_id     text NOT NULL,                -- pos_id of the group
    sort         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, item_id, group_id)
);

-- Sold-out marks. A row means sold out (until "until", if set); 'pos'
-- came from the POS (webhook or sync), 'poll' was recovered by the poll,
-- 'staff' was set by hand and is left alone by the POS reconciliation.
CREATE TABLE item_availability (
    client_id    bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    item_id      text NOT NULL,                -- pos_id of the item
    sold_out     boolean NOT NULL DEFAULT true,
    until        timestamptz,
    source       text NOT NULL CHECK (source IN ('pos', 'staff', 'poll')),
    set_by       text,
    set_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, item_id)
);
