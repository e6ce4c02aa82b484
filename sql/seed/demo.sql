-- Demo clients for `make run`; safe to run again.
INSERT INTO clients (slug, name) VALUES
    ('coffee-shop', 'Ember & Oak Coffee')
ON CONFLICT (slug) DO NOTHING;
