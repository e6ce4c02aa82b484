-- The seven demo client sites (conf/sites/SLUG.conf); safe to run again.
INSERT INTO clients (slug, name) VALUES
    ('junk-hauler', 'Haul Away Co'),
    ('cleaning', 'Spark & Sparrow Cleaning'),
    ('landscaper', 'Greenline Landscaping'),
    ('barber', 'Fade & Co. Barbers'),
    ('data-analytics', 'Northbeam Analytics'),
    ('web-studio', 'Pixel Harbor Studio'),
    ('marketing-agency', 'Brightside Local Marketing')
ON CONFLICT (slug) DO NOTHING;
