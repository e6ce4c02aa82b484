-- The dashboard's Menu page: staff 86 items by hand, and the POS's health.
-- No functions or views here (they live in sql/functions/).

-- Clover's one-time webhook verification code, shown to staff on the Menu
-- page so they can paste it into Clover's developer dashboard. Kept from
-- the VERIFICATION event's body (pos.event), the newest one winning.
ALTER TABLE restaurants
    ADD COLUMN pos_verification_code text
        CHECK (length(pos_verification_code) BETWEEN 1 AND 200),
    ADD COLUMN pos_verification_at   timestamptz;

-- What became of a staff mark ('staff' rows) at the POS itself, written by
-- the pos.item.push job: 'pos' the POS took it; 'local' the POS's API
-- cannot mark items (Square, say), so the mark is Consult's own override
-- of the menu it serves; 'failed' the POS refused it or could not be
-- reached through every attempt (the override still holds here). NULL:
-- not pushed yet.
ALTER TABLE item_availability
    ADD COLUMN pushed     text CHECK (pushed IN ('pos', 'local', 'failed')),
    ADD COLUMN pushed_at  timestamptz,
    ADD COLUMN push_error text;
