-- consult_intake_file: the live definition (see sql/README.md).
-- One journal row of intake (provider_events, provider 'intake': the JSON
-- the edge wrote, common/domain/cs_intake.c cs_intake_journal_json) filed
-- by consult_intake_submit, its attachments moved onto the submission.
-- Returns the submission id (the first one's on a redelivered key).
-- p_class: the drain's classification, or NULL (see consult_intake_submit).
-- Used by consult_intake_drain; calls consult_intake_submit (hence 20_).
DROP FUNCTION IF EXISTS consult_intake_file(bigint, bigint, text);
CREATE OR REPLACE FUNCTION consult_intake_file(p_event bigint, p_client bigint, p_payload text,
    p_class jsonb, OUT sub bigint)
LANGUAGE plpgsql AS $$
DECLARE
    p jsonb := p_payload::jsonb;
    v_msg bigint;
    v_dup boolean;
BEGIN
    SELECT s.submission_id, s.message_id, s.duplicate INTO sub, v_msg, v_dup
      FROM consult_intake_submit(
        p_client, p->>'name', p->>'email', p->>'phone', p->>'message',
        coalesce(p->'fields', '{}'::jsonb), (p->>'ip')::inet, p->>'user_agent',
        p->>'referer', p->>'key', coalesce((p->>'spam')::boolean, false),
        coalesce(ARRAY(SELECT jsonb_array_elements_text(p->'reasons')), '{}'),
        p->>'service', p->>'preferred_time', p_class) s;
    IF NOT v_dup AND coalesce((p->>'files')::integer, 0) > 0 THEN
        UPDATE attachments SET submission_id = sub
         WHERE journal_id = p_event AND submission_id IS NULL;
    END IF;
END
$$;
