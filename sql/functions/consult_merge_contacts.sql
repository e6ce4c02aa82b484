-- consult_merge_contacts: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- Earlier definitions: sql/003_dashboard.sql, sql/005_contact_aliases.sql.
-- Merge two contacts of one client: @p p_drop's threads, messages,
-- submissions and notes move to @p p_keep, missing details are filled in,
-- and p_drop is deleted. Nothing is lost: p_drop's name, email, phone and
-- SMS opt-out (and the aliases it had itself) become aliases of p_keep, so
-- a later post or text from them finds p_keep. Returns false when either is
-- not the client's.
CREATE OR REPLACE FUNCTION consult_merge_contacts(p_client_id bigint, p_keep bigint, p_drop bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    k contacts%ROWTYPE;
    d contacts%ROWTYPE;
    v_keep_conv bigint;
    v_drop_conv bigint;
BEGIN
    IF p_keep = p_drop THEN
        RETURN false;
    END IF;
    SELECT * INTO k FROM contacts WHERE id = p_keep AND client_id = p_client_id FOR UPDATE;
    SELECT * INTO d FROM contacts WHERE id = p_drop AND client_id = p_client_id FOR UPDATE;
    IF k.id IS NULL OR d.id IS NULL THEN
        RETURN false;
    END IF;
    SELECT id INTO v_keep_conv FROM conversations WHERE contact_id = p_keep;
    SELECT id INTO v_drop_conv FROM conversations WHERE contact_id = p_drop;
    IF v_drop_conv IS NOT NULL THEN
        IF v_keep_conv IS NULL THEN
            UPDATE conversations SET contact_id = p_keep WHERE id = v_drop_conv;
        ELSE
            UPDATE messages SET conversation_id = v_keep_conv WHERE conversation_id = v_drop_conv;
            UPDATE notes SET conversation_id = v_keep_conv WHERE conversation_id = v_drop_conv;
            UPDATE conversations c SET
                last_message_at = greatest(c.last_message_at, o.last_message_at),
                unread = c.unread OR o.unread,
                status = CASE WHEN c.status = 'spam' AND o.status <> 'spam' THEN o.status
                              ELSE c.status END
              FROM conversations o WHERE c.id = v_keep_conv AND o.id = v_drop_conv;
            DELETE FROM conversations WHERE id = v_drop_conv;
        END IF;
    END IF;
    UPDATE submissions SET contact_id = p_keep WHERE contact_id = p_drop;
    UPDATE notes SET contact_id = p_keep WHERE contact_id = p_drop;
    -- The merged-away identity, and the ones it had itself, stay findable.
    UPDATE contact_aliases SET contact_id = p_keep WHERE contact_id = p_drop;
    INSERT INTO contact_aliases (client_id, contact_id, merged_id, name, email, phone, sms_opted_out)
    VALUES (p_client_id, p_keep, d.id, d.name, d.email, d.phone, d.sms_opted_out);
    DELETE FROM contacts WHERE id = p_drop;
    -- An opt-out belongs to the number texts go to: the kept contact takes
    -- the other's when it takes its phone, and either STOP on a shared
    -- number holds.
    -- Merged into "Unknown caller", a contact makes it a real person (and
    -- the next call without caller ID starts a new Unknown caller).
    UPDATE contacts SET name = CASE WHEN k.unknown_caller THEN coalesce(d.name, k.name)
                                    ELSE coalesce(k.name, d.name) END,
           email = coalesce(k.email, d.email),
           phone = coalesce(k.phone, d.phone),
           unknown_caller = k.unknown_caller AND coalesce(k.email, d.email, k.phone, d.phone) IS NULL,
           sms_opted_out = CASE WHEN k.phone IS NULL THEN d.sms_opted_out
                                WHEN k.phone = d.phone THEN k.sms_opted_out OR d.sms_opted_out
                                ELSE k.sms_opted_out END,
           sms_opted_out_at = CASE WHEN k.phone IS NULL THEN d.sms_opted_out_at
                                   WHEN k.phone = d.phone
                                   THEN greatest(k.sms_opted_out_at, d.sms_opted_out_at)
                                   ELSE k.sms_opted_out_at END,
           updated_at = now()
     WHERE id = p_keep;
    RETURN true;
END
$$;
