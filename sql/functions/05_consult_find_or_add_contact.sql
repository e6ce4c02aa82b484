-- consult_find_or_add_contact: the live definition (see sql/README.md).
-- The contact of an address, made when there is none: the same email, else
-- the same phone (a contact's or a merged one's), finds the same contact,
-- as consult_find_contact says; otherwise a new one with these details.
-- ON CONFLICT rather than an exception block: no subtransaction, so the
-- journal drain can file hundreds of posts in one transaction; a conflict
-- means a concurrent writer made it, so look again.
-- Calls consult_find_contact (hence the 05_ prefix).
CREATE OR REPLACE FUNCTION consult_find_or_add_contact(p_client_id bigint, p_name text,
    p_email text, p_phone text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
BEGIN
    FOR i IN 1..3 LOOP
        v := consult_find_contact(p_client_id, p_email, p_phone);
        EXIT WHEN v IS NOT NULL;
        INSERT INTO contacts (client_id, name, email, phone)
        VALUES (p_client_id, p_name, p_email, p_phone)
        ON CONFLICT DO NOTHING RETURNING id INTO v;
        EXIT WHEN v IS NOT NULL;
    END LOOP;
    IF v IS NULL THEN
        RAISE EXCEPTION 'no contact found or made for client % (%, %)', p_client_id, p_email, p_phone;
    END IF;
    RETURN v;
END
$$;
