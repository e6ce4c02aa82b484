-- consult_sms_opted_out: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- Earlier definitions: sql/005_contact_aliases.sql.
-- Whether texts to @p_phone for this contact are blocked: the contact's
-- STOP, or a STOP from that number when it was a contact since merged in.
-- Conservative on purpose: either one blocks.
CREATE OR REPLACE FUNCTION consult_sms_opted_out(p_contact_id bigint, p_phone text)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT c.sms_opted_out FROM contacts c WHERE c.id = p_contact_id), false)
        OR EXISTS (SELECT 1 FROM contact_aliases a
                    WHERE a.contact_id = p_contact_id AND a.phone = p_phone AND a.sms_opted_out)
$$;
