-- When the lines going to the kitchen were fixed: just before the POS first
-- hears of a paid order, a line that sold out since payment is dropped and
-- refunded, and that decision commits before the call, so a retry after a
-- timeout sends the very same order (one id, one body) and the refund stays.
ALTER TABLE orders ADD COLUMN kitchen_lines_at timestamptz;

-- A changed cart lets its earlier unpaid order go at once: its queued
-- order.expire jobs (the first, and any that asked Stripe again later) are
-- found by order id, not by scanning every queued job.
CREATE INDEX jobs_order_expire_queued ON jobs ((payload->>'order_id'))
    WHERE kind = 'order.expire' AND state = 'queued';
