-- The two demo restaurants (idempotent). mod_consult_pos creates their
-- restaurants rows and first menu sync when their menu is first asked for.
INSERT INTO clients (slug, name) VALUES
    ('pizzeria', 'Slice & Basil Pizzeria'),
    ('taqueria', 'La Milpa Taquería')
ON CONFLICT (slug) DO NOTHING;
