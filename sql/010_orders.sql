-- Online ordering (mod_consult_orders): carts, orders and their lines,
-- every state change of an order, the kitchen's load per pickup slot,
-- refunds, and the staff's pause switch.
--
-- Money is integer cents; times are timestamptz (UTC), shown in the
-- restaurant's zone. An order's state only moves forward (common/domain/
-- cs_order.c decides which moves exist; common/db/cs_order_db.c makes
-- them, one UPDATE guarded by the state it moves from, with its event row).

-- The staff's switch: paused (until a time, or until resumed), or N
-- minutes added to every pickup quote. No row: ordering as configured.
CREATE TABLE order_settings (
    client_id      bigint PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    paused         boolean NOT NULL DEFAULT false,
    paused_until   timestamptz,
    extra_minutes  integer NOT NULL DEFAULT 0 CHECK (extra_minutes BETWEEN 0 AND 240),
    set_by         bigint,
    set_at         timestamptz NOT NULL DEFAULT now()
);

-- A guest's cart, bound to an opaque random cookie (only its SHA-256 is
-- kept: a copy of the database cannot take over a cart). Lines carry no
-- price: [{"item": POS id, "qty": n, "mods": [POS ids]}].
CREATE TABLE carts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id    bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    token_hash   text NOT NULL UNIQUE,
    lines        jsonb NOT NULL DEFAULT '[]',
    version      integer NOT NULL DEFAULT 0,
    tip          jsonb,                        -- {"percent_bp": n} or {"cents": n}
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX carts_updated ON carts (updated_at);

CREATE TABLE orders (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- Random: the guest's status link, the POS's external id, Stripe's metadata.
    public_id       text NOT NULL UNIQUE,
    -- The cart and its version checkout was made from: the same cart
    -- checked out again (double click, retry, a second tab) finds this order.
    cart_id         bigint REFERENCES carts (id) ON DELETE SET NULL,
    cart_version    integer NOT NULL,
    state           text NOT NULL DEFAULT 'pending_payment'
                    CHECK (state IN ('pending_payment', 'paid', 'sent_to_pos', 'accepted',
                                     'ready', 'picked_up', 'failed', 'cancelled', 'refunded')),
    guest_name      text NOT NULL,
    guest_phone     text,
    guest_email     text,
    contact_id      bigint REFERENCES contacts (id) ON DELETE SET NULL,
    conversation_id bigint REFERENCES conversations (id) ON DELETE SET NULL,
    pickup_asap     boolean NOT NULL,
    pickup_at       timestamptz NOT NULL,         -- when it is ready (the quote)
    slot_start      timestamptz NOT NULL,         -- the slot whose capacity it holds
    points          integer NOT NULL CHECK (points > 0),
    holds_capacity  boolean NOT NULL DEFAULT true,
    currency        text NOT NULL,
    subtotal_cents  bigint NOT NULL,
    fee_cents       bigint NOT NULL,
    tax_cents       bigint NOT NULL,
    tip_cents       bigint NOT NULL,
    total_cents     bigint NOT NULL CHECK (total_cents > 0),
    -- the rates the totals were computed with, so a line left out later is
    -- refunded by the same rules (not by today's settings)
    tax_rate_ppm    integer NOT NULL DEFAULT 0,
    fee_fixed_cents bigint NOT NULL DEFAULT 0,
    fee_percent_bp  integer NOT NULL DEFAULT 0,
    fee_taxable     boolean NOT NULL DEFAULT false,
    tip_percent_bp  integer,                      -- NULL: no tip, or a custom amount
    payment_intent  text UNIQUE,
    paid_cents      bigint NOT NULL DEFAULT 0,
    paid_at         timestamptz,
    refunded_cents  bigint NOT NULL DEFAULT 0,
    disputed        boolean NOT NULL DEFAULT false,
    pos_order_id    text,
    problem         text,                         -- why it failed, for staff
    acknowledged_at timestamptz,                  -- staff silenced the new-order alert
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (cart_id, cart_version)
);
CREATE INDEX orders_client ON orders (client_id, created_at DESC);
CREATE INDEX orders_unacknowledged ON orders (client_id)
    WHERE acknowledged_at IS NULL AND state IN ('paid', 'sent_to_pos');

-- What was ordered, priced by the server at checkout.
CREATE TABLE order_lines (
    order_id     bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    n            integer NOT NULL,
    item_id      text NOT NULL,
    name         text NOT NULL,
    quantity     integer NOT NULL CHECK (quantity > 0),
    unit_cents   bigint NOT NULL,
    line_cents   bigint NOT NULL,
    modifiers    jsonb NOT NULL DEFAULT '[]',   -- [{"id", "name", "cents"}]
    prep_points  integer NOT NULL,
    -- sold out when the order went to the kitchen: left out and refunded
    dropped      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (order_id, n)
);

-- Every state change, with who or what caused it.
CREATE TABLE order_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_state  text,
    to_state    text,                            -- NULL: a note (payment failed...)
    actor       text NOT NULL,                   -- 'guest', 'stripe', 'pos', 'system', 'staff:ID'
    reason      text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order ON order_events (order_id, id);

-- The kitchen's load per pickup slot, in prep points. Taking capacity is
-- one guarded UPDATE (points + n <= capacity), so two guests can never
-- both take the last of a slot.
CREATE TABLE pickup_load (
    client_id   bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    slot_start  timestamptz NOT NULL,
    points      integer NOT NULL DEFAULT 0 CHECK (points >= 0),
    PRIMARY KEY (client_id, slot_start)
);

-- Money given back, each sent to Stripe once (its Idempotency-Key is
-- the row's id) by an order.refund job.
CREATE TABLE order_refunds (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    amount_cents     bigint NOT NULL CHECK (amount_cents > 0),
    reason           text NOT NULL,
    requested_by     text NOT NULL,
    state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'succeeded', 'failed')),
    stripe_refund_id text UNIQUE,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- one automatic refund per cause (a retried job cannot refund twice)
    cause            text NOT NULL,
    UNIQUE (order_id, cause)
);

-- An order's entry on the guest's thread carries its public id.
ALTER TABLE messages DROP CONSTRAINT messages_provider_check;
ALTER TABLE messages ADD CONSTRAINT messages_provider_check
    CHECK (provider IN ('twilio', 'resend', 'calcom', 'consult-order'));
