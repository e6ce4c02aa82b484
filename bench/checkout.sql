-- pgbench script: what one checkout asks of Postgres, as
-- modules/orders/orders_checkout.c and pos_api.c's menu read make it, in
-- one transaction: the cart locked, no earlier order of its version, the
-- menu (items, groups, modifiers, sold-out marks), the pause switch and
-- the slots' loads, the slot's points taken in the guarded UPDATE, the
-- order with its lines, first event and expiry job; then, after the
-- commit, the PaymentIntent's id stored. Run with -M extended,
-- -D cid=<the restaurant's client id> -D carts=<its first cart id>.
\set c random(:carts, :carts + 999)
\set slot random(1, 96)
BEGIN;
SELECT id, lines, version, tip FROM carts WHERE id = :c AND client_id = :cid FOR UPDATE;
SELECT id, public_id, state FROM orders WHERE cart_id = :c AND cart_version = -1;
SELECT menu_version, currency FROM restaurants WHERE client_id = :cid;
SELECT pos_id, category, name, price_cents, visible, prep_points FROM menu_items WHERE client_id = :cid;
SELECT item_id, group_id FROM menu_item_groups WHERE client_id = :cid;
SELECT group_id, pos_id, name, price_cents FROM menu_modifiers WHERE client_id = :cid;
SELECT item_id, sold_out FROM item_availability WHERE client_id = :cid;
SELECT paused FROM order_settings WHERE client_id = :cid;
SELECT extract(epoch FROM slot_start)::bigint, points FROM pickup_load WHERE client_id = :cid AND slot_start >= now() - interval '2 hours' AND slot_start < now() + interval '2 days';
INSERT INTO pickup_load (client_id, slot_start) VALUES (:cid, date_trunc('hour', now()) + :slot * interval '15 minutes') ON CONFLICT DO NOTHING;
UPDATE pickup_load SET points = points + 2 WHERE client_id = :cid AND slot_start = date_trunc('hour', now()) + :slot * interval '15 minutes' AND points + 2 <= 100000 RETURNING points;
WITH o AS (INSERT INTO orders (client_id, public_id, cart_id, cart_version, guest_name, guest_phone, pickup_asap, pickup_at, slot_start, points, currency, subtotal_cents, fee_cents, tax_cents, tip_cents, total_cents)
  VALUES (:cid, md5(random()::text), NULL, 0, 'Bench Guest', '+14015550142', true, now() + interval '20 minutes', date_trunc('hour', now()), 2, 'USD', 1850, 0, 153, 0, 2003) RETURNING id),
 l AS (INSERT INTO order_lines (order_id, n, item_id, name, quantity, unit_cents, line_cents, modifiers, prep_points)
  SELECT o.id, x.n, x.item_id, x.name, 1, x.cents, x.cents, '[]', 1 FROM o, (VALUES (1, 'margherita', 'Margherita', 1400), (2, 'lemonade', 'House Lemonade', 450)) AS x(n, item_id, name, cents)),
 e AS (INSERT INTO order_events (order_id, to_state, actor, reason) SELECT o.id, 'pending_payment', 'guest', 'checkout' FROM o),
 j AS (INSERT INTO jobs (kind, payload, unique_key, run_at) SELECT 'order.expire', jsonb_build_object('order_id', o.id), 'order.expire:' || o.id, now() + interval '30 minutes' FROM o)
SELECT id FROM o;
COMMIT;
UPDATE orders SET payment_intent = 'pi_' || md5(random()::text) WHERE id = (SELECT max(id) FROM orders WHERE client_id = :cid) AND payment_intent IS NULL;
