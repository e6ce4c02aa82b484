-- When the lines going to the kitchen were fixed: just before the POS first
-- hears of a paid order, a line that sold out since payment is dropped and
-- refunded, and that decision commits before the call, so a retry after a
-- timeout sends the very same order (one id, one body) and the refund stays.
ALTER TABLE orders ADD COLUMN kitchen_lines_at timestamptz;
