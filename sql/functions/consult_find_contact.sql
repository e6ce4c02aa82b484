-- consult_find_contact: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- Earlier definitions: sql/005_contact_aliases.sql.
-- The contact an address belongs to: a contact's own email, else its own
-- phone, else an alias's email, else an alias's phone. NULL: nobody yet.
CREATE OR REPLACE FUNCTION consult_find_contact(p_client_id bigint, p_email text, p_phone text)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    v bigint;
BEGIN
    IF p_email IS NOT NULL THEN
        SELECT c.id INTO v FROM contacts c
         WHERE c.client_id = p_client_id AND lower(c.email) = lower(p_email);
        IF FOUND THEN RETURN v; END IF;
    END IF;
    IF p_phone IS NOT NULL THEN
        SELECT c.id INTO v FROM contacts c WHERE c.client_id = p_client_id AND c.phone = p_phone;
        IF FOUND THEN RETURN v; END IF;
    END IF;
    IF p_email IS NOT NULL THEN
        SELECT a.contact_id INTO v FROM contact_aliases a
         WHERE a.client_id = p_client_id AND lower(a.email) = lower(p_email)
         ORDER BY a.id DESC LIMIT 1;
        IF FOUND THEN RETURN v; END IF;
    END IF;
    IF p_phone IS NOT NULL THEN
        SELECT a.contact_id INTO v FROM contact_aliases a
         WHERE a.client_id = p_client_id AND a.phone = p_phone
         ORDER BY a.id DESC LIMIT 1;
        IF FOUND THEN RETURN v; END IF;
    END IF;
    RETURN NULL;
END
$$;
