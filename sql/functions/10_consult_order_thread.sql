-- consult_order_thread: the live definition (see sql/README.md).
-- A paid order joins its guest's contact and thread: the contact found by
-- email or phone as intake finds it (made when new), the one conversation
-- per contact, a message of channel 'order' (once per order: its provider
-- id is the order's public id) and the staff notification of a new
-- message. Returns the message's id.
-- Calls consult_find_or_add_contact (hence the 10_ prefix).
CREATE OR REPLACE FUNCTION consult_order_thread(p_order bigint, p_body text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    o record;
    v_contact bigint;
    v_conversation bigint;
    v_message bigint;
BEGIN
    SELECT id, client_id, public_id, guest_name, guest_email, guest_phone INTO o
      FROM orders WHERE id = p_order;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT m.id INTO v_message FROM messages m
     WHERE m.provider = 'consult-order' AND m.provider_id = o.public_id;
    IF FOUND THEN
        RETURN v_message;
    END IF;
    v_contact := consult_find_or_add_contact(o.client_id, o.guest_name, o.guest_email, o.guest_phone);
    INSERT INTO conversations AS cv (client_id, contact_id) VALUES (o.client_id, v_contact)
    ON CONFLICT (client_id, contact_id) DO UPDATE
        SET last_message_at = now(),
            status = CASE WHEN cv.status = 'archived' THEN 'open' ELSE cv.status END
    RETURNING id INTO v_conversation;
    INSERT INTO messages (client_id, conversation_id, channel, direction, body, provider,
                          provider_id, delivery_status, classified_at)
    VALUES (o.client_id, v_conversation, 'order', 'inbound', left(p_body, 5000), 'consult-order',
            o.public_id, 'received', now())
    RETURNING id INTO v_message;
    UPDATE orders SET contact_id = v_contact, conversation_id = v_conversation WHERE id = p_order;
    WITH n AS (INSERT INTO notifications (client_id, message_id, kind)
               VALUES (o.client_id, v_message, 'new_message')
               ON CONFLICT DO NOTHING RETURNING id)
    INSERT INTO jobs (kind, payload, unique_key)
    SELECT 'notification.send', jsonb_build_object('notification_id', n.id),
           'notification.send:' || n.id FROM n;
    RETURN v_message;
END
$$;
