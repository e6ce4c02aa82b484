-- Where staff open the customer in Jobber: jobberWebUri of the Jobber
-- client (on the contact) and of each request (on its message), kept by
-- the jobber.event and jobber.reconcile jobs when they fetch the item.
-- Only https links are stored; the dashboard shows them as links.
ALTER TABLE jobber_links ADD COLUMN jobber_url text
    CHECK (jobber_url ~ '^https://' AND length(jobber_url) <= 500);
ALTER TABLE jobber_requests ADD COLUMN jobber_url text
    CHECK (jobber_url ~ '^https://' AND length(jobber_url) <= 500);
