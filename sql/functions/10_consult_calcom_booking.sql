-- consult_calcom_booking: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- One Cal.com delivery (verified, journaled, read by the calcom.event job)
-- applied in one statement: the booking (by its uid, the uid it replaced on
-- a reschedule, or one it had before), the contact (the booking's, else
-- matched by attendee email then phone with the intake's rules, else
-- created), one `booking` message on the contact's timeline per (uid,
-- trigger) with the time in p_time_zone (the client's), and the staff
-- notification. A second delivery of the same (uid, trigger) changes
-- nothing and says so (o_duplicate).
-- Calls consult_find_or_add_contact (hence the 10_ prefix: applied after it).
CREATE OR REPLACE FUNCTION consult_calcom_booking(
    p_client_id bigint, p_trigger text, p_uid text, p_reschedule_uid text,
    p_title text, p_event_type text, p_start timestamptz, p_end timestamptz,
    p_name text, p_email text, p_phone text, p_attendee_tz text, p_location text,
    p_notes text, p_reason text, p_time_zone text,
    OUT o_booking_id bigint, OUT o_message_id bigint, OUT o_contact_id bigint,
    OUT o_duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    b bookings%ROWTYPE;
    v_pid text := p_client_id || ':' || p_uid || ':' || p_trigger;
    v_tz text := 'UTC';
    v_conversation bigint;
    v_status text;
    v_when text;
    v_was text;
    v_body text;
BEGIN
    o_duplicate := false;
    SELECT m.id INTO o_message_id FROM messages m
     WHERE m.provider = 'calcom' AND m.provider_id = v_pid;
    IF FOUND THEN
        o_duplicate := true;
        RETURN;
    END IF;
    IF p_time_zone IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_time_zone) THEN
        v_tz := p_time_zone;
    END IF;

    -- The booking this is about: this uid, the one a reschedule replaced,
    -- or one this uid replaced already (a late delivery about it).
    SELECT * INTO b FROM bookings
     WHERE client_id = p_client_id
       AND (uid = p_uid OR p_uid = ANY (previous_uids)
            OR (p_reschedule_uid IS NOT NULL AND uid = p_reschedule_uid))
     ORDER BY (uid = p_uid) DESC, id LIMIT 1 FOR UPDATE;

    o_contact_id := b.contact_id;
    IF o_contact_id IS NULL THEN
        IF p_email IS NULL AND p_phone IS NULL THEN
            RAISE EXCEPTION 'booking % has no attendee email or phone', p_uid
                USING ERRCODE = 'check_violation';
        END IF;
        o_contact_id := consult_find_or_add_contact(p_client_id, p_name, p_email, p_phone);
        UPDATE contacts c SET name = coalesce(c.name, p_name), updated_at = now()
         WHERE c.id = o_contact_id AND c.name IS NULL AND p_name IS NOT NULL;
    END IF;

    v_status := CASE p_trigger
        WHEN 'BOOKING_CANCELLED' THEN 'cancelled'
        WHEN 'MEETING_ENDED' THEN 'ended'
        WHEN 'BOOKING_REQUESTED' THEN 'requested'
        ELSE 'booked' END;
    IF b.id IS NULL THEN
        INSERT INTO bookings (client_id, contact_id, uid, previous_uids, status, title, event_type,
                              starts_at, ends_at, attendee_name, attendee_email, attendee_phone,
                              attendee_time_zone, location, history)
        VALUES (p_client_id, o_contact_id, p_uid,
                CASE WHEN p_reschedule_uid IS NOT NULL AND p_reschedule_uid <> p_uid
                     THEN ARRAY[p_reschedule_uid] ELSE '{}' END,
                v_status, p_title, p_event_type, p_start, p_end, p_name, p_email, p_phone,
                p_attendee_tz, p_location,
                jsonb_build_array(jsonb_build_object('trigger', p_trigger, 'at', now(),
                                                     'start', p_start, 'end', p_end)))
        RETURNING * INTO b;
    ELSE
        v_was := to_char(b.starts_at AT TIME ZONE v_tz, 'Dy Mon FMDD, FMHH12:MI AM');
        UPDATE bookings SET
            -- a reschedule moves the booking to its new uid and time
            uid = CASE WHEN p_trigger = 'BOOKING_RESCHEDULED' THEN p_uid ELSE uid END,
            previous_uids = CASE WHEN p_trigger = 'BOOKING_RESCHEDULED' AND uid <> p_uid
                                 THEN previous_uids || uid ELSE previous_uids END,
            starts_at = CASE WHEN p_trigger = 'BOOKING_RESCHEDULED' OR uid = p_uid
                             THEN p_start ELSE starts_at END,
            ends_at = CASE WHEN p_trigger = 'BOOKING_RESCHEDULED' OR uid = p_uid
                           THEN p_end ELSE ends_at END,
            -- a late word about a replaced uid never undoes a newer state
            status = CASE WHEN uid = p_uid OR p_trigger = 'BOOKING_RESCHEDULED'
                          THEN v_status ELSE status END,
            title = coalesce(p_title, title),
            location = coalesce(p_location, location),
            contact_id = coalesce(contact_id, o_contact_id),
            history = history || jsonb_build_array(jsonb_build_object(
                'trigger', p_trigger, 'at', now(), 'uid', p_uid, 'start', p_start, 'end', p_end)),
            updated_at = now()
         WHERE id = b.id
        RETURNING * INTO b;
    END IF;
    o_booking_id := b.id;

    v_when := to_char(p_start AT TIME ZONE v_tz, 'Dy Mon FMDD, FMHH12:MI AM') || ' to '
              || to_char(p_end AT TIME ZONE v_tz, 'FMHH12:MI AM') || ' (' || v_tz || ')';
    v_body := CASE p_trigger
        WHEN 'BOOKING_CREATED' THEN 'Booked: '
        WHEN 'BOOKING_REQUESTED' THEN 'Booking requested (needs confirming): '
        WHEN 'BOOKING_RESCHEDULED' THEN 'Rescheduled: '
        WHEN 'BOOKING_CANCELLED' THEN 'Cancelled: '
        WHEN 'MEETING_ENDED' THEN 'Meeting ended: '
        ELSE p_trigger || ': ' END
        || coalesce(p_title, 'booking') || ', ' || v_when
        || CASE WHEN p_trigger = 'BOOKING_RESCHEDULED' AND v_was IS NOT NULL
                THEN ' (was ' || v_was || ')' ELSE '' END
        || CASE WHEN p_location IS NOT NULL THEN E'\nWhere: ' || p_location ELSE '' END
        || CASE WHEN p_notes IS NOT NULL AND p_notes <> '' THEN E'\nNotes: ' || p_notes ELSE '' END
        || CASE WHEN p_reason IS NOT NULL AND p_reason <> '' THEN E'\nReason: ' || p_reason ELSE '' END;

    INSERT INTO conversations AS cv (client_id, contact_id) VALUES (p_client_id, o_contact_id)
    ON CONFLICT (client_id, contact_id) DO UPDATE
        SET last_message_at = now(),
            status = CASE WHEN cv.status = 'archived' THEN 'open' ELSE cv.status END
    RETURNING id INTO v_conversation;
    BEGIN
        INSERT INTO messages (client_id, conversation_id, channel, direction, body, provider,
                              provider_id, delivery_status, intent, classified_at)
        VALUES (p_client_id, v_conversation, 'booking', 'inbound', left(v_body, 5000), 'calcom',
                v_pid, 'received', 'booking_request', now())
        RETURNING id INTO o_message_id;
    EXCEPTION WHEN unique_violation THEN
        -- The same delivery was applied at the same moment by another job.
        RAISE EXCEPTION 'booking % % applied concurrently', p_uid, p_trigger
            USING ERRCODE = 'serialization_failure';
    END;
    -- Staff hear of it as of any new message (mod_consult_email sends it).
    WITH n AS (INSERT INTO notifications (client_id, message_id, kind)
               VALUES (p_client_id, o_message_id, 'new_message')
               ON CONFLICT DO NOTHING RETURNING id)
    INSERT INTO jobs (kind, payload, unique_key)
    SELECT 'notification.send', jsonb_build_object('notification_id', n.id),
           'notification.send:' || n.id FROM n;
END
$$;
