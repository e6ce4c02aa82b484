-- pgbench script: what GET /api/menu asks of Postgres for one request, as
-- modules/pos/pos_api.c sends it (pos_menu_load): one read-only
-- REPEATABLE READ transaction of five SELECTs (restaurant, categories,
-- modifier groups, modifiers, items with their sold-out mark and groups).
-- The 304 path runs the same reads before it compares the ETag. Run with
-- -M extended and -D cid=<the restaurant's client id>; the ceiling the
-- API could reach on this Postgres without any HTTP or JSON work.
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT r.menu_version, r.currency, c.name FROM clients c LEFT JOIN restaurants r ON r.client_id = c.id WHERE c.id = :cid;
SELECT pos_id, name, description, sort FROM menu_categories WHERE client_id = :cid ORDER BY sort, name, pos_id;
SELECT pos_id, name, min_choices, max_choices FROM menu_modifier_groups WHERE client_id = :cid ORDER BY pos_id;
SELECT group_id, pos_id, name, price_cents FROM menu_modifiers WHERE client_id = :cid ORDER BY group_id, sort, pos_id;
SELECT i.pos_id, i.category, i.name, i.description, i.image_url, i.price_cents, i.sort, i.visible, i.prep_points, EXISTS (SELECT 1 FROM item_availability a WHERE a.client_id = i.client_id AND a.item_id = i.pos_id AND a.sold_out AND (a.until IS NULL OR a.until > now())), (SELECT string_agg(g.group_id, ' ' ORDER BY g.sort, g.group_id) FROM menu_item_groups g WHERE g.client_id = i.client_id AND g.item_id = i.pos_id) FROM menu_items i WHERE i.client_id = :cid ORDER BY i.sort, i.name, i.pos_id;
COMMIT;
