-- consult_correct_classification: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- Earlier definitions: sql/002_pipeline.sql.
-- A staff correction: recorded for retraining and applied to the message,
-- in one step. The dashboard calls it; so does `consult-admin correct`.
CREATE OR REPLACE FUNCTION consult_correct_classification(
    p_client_id bigint, p_message_id bigint, p_intent text, p_urgency text,
    p_corrected_by text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO classification_corrections
        (client_id, message_id, text, old_intent, new_intent, old_urgency, new_urgency, corrected_by)
    SELECT m.client_id, m.id, m.body, m.intent, p_intent, m.urgency,
           coalesce(p_urgency, m.urgency), p_corrected_by
      FROM messages m WHERE m.id = p_message_id AND m.client_id = p_client_id
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'message % of client % not found', p_message_id, p_client_id
              USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE messages SET intent = p_intent, urgency = coalesce(p_urgency, urgency),
           is_spam = (p_intent = 'spam'),
           classification = coalesce(classification, '{}'::jsonb)
                            || jsonb_build_object('corrected_by', p_corrected_by)
     WHERE id = p_message_id;
    RETURN v_id;
END
$$;
