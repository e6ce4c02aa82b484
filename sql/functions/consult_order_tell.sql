-- consult_order_tell: the live definition (see sql/README.md).
-- Tell an order's guest something ("your order is ready", "we refunded
-- ..."): an outbound message on the order's thread and the job that sends
-- it, by SMS when the client can text (p_sms_ok) and the guest gave a
-- phone that has not opted out, else by email (p_email_ok). Returns the
-- channel used, or NULL when there is none: then the order's history says
-- the guest was not told, so staff can call.
CREATE OR REPLACE FUNCTION consult_order_tell(p_order bigint, p_body text,
    p_sms_ok boolean, p_email_ok boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    o record;
    v_channel text;
    v_to text;
    v_kind text;
    v_message bigint;
BEGIN
    SELECT id, client_id, guest_phone, guest_email, contact_id, conversation_id INTO o
      FROM orders WHERE id = p_order;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF o.conversation_id IS NOT NULL AND p_sms_ok AND o.guest_phone IS NOT NULL
       AND NOT consult_sms_opted_out(o.contact_id, o.guest_phone) THEN
        v_channel := 'sms'; v_to := o.guest_phone; v_kind := 'twilio.sms.send';
    ELSIF o.conversation_id IS NOT NULL AND p_email_ok AND o.guest_email IS NOT NULL THEN
        v_channel := 'email'; v_to := o.guest_email; v_kind := 'email.send';
    ELSE
        INSERT INTO order_events (order_id, from_state, actor, reason)
        SELECT o.id, state, 'system', 'Guest not told (no way to text or email them): '
               || left(p_body, 300) FROM orders WHERE id = o.id;
        RETURN NULL;
    END IF;
    INSERT INTO messages (client_id, conversation_id, channel, direction, body, delivery_status,
                          to_address, provider)
    VALUES (o.client_id, o.conversation_id, v_channel, 'outbound', p_body, 'queued', v_to,
            CASE WHEN v_channel = 'sms' THEN 'twilio' ELSE 'resend' END)
    RETURNING id INTO v_message;
    INSERT INTO jobs (kind, payload, unique_key)
    VALUES (v_kind, jsonb_build_object('message_id', v_message, 'client_id', o.client_id),
            v_kind || ':' || v_message);
    RETURN v_channel;
END
$$;
