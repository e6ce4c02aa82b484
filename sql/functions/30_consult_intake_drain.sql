-- consult_intake_drain: the live definition (see sql/README.md).
-- The worker's half of journal-first intake: the intake rows of the journal
-- the caller claimed in this transaction (mod_consult_intake intake_drain.c:
-- oldest first, FOR UPDATE SKIP LOCKED, so several workers or nodes drain
-- at once), each with the classification the caller made (or none: a
-- submission.process job then makes it), each turned into its contact,
-- conversation, message, submission and notification by
-- consult_intake_submit, all in the caller's one transaction.
-- p_rows: [{"id": journal id, "class": {...} (optional), "mail": bool}].
-- The fast way (p_safe false) has no subtransaction per row (hundreds per
-- transaction would overflow PostgreSQL's subtransaction cache and slow
-- every snapshot): any failure fails the call, and the caller rolls back
-- to its savepoint and calls again with p_safe, where a row that fails is
-- rolled back alone, keeps its error and is tried again on a later round,
-- at most five times. The rows filed are marked in one statement at the
-- end, stamped with the time they became visible (just before the commit).
-- Calls consult_intake_file (hence the 30_ prefix).
-- The signature before the caller claimed and classified: gone.
DROP FUNCTION IF EXISTS consult_intake_drain(integer, boolean);
CREATE OR REPLACE FUNCTION consult_intake_drain(p_rows jsonb, p_safe boolean,
    OUT processed integer, OUT failed integer)
LANGUAGE plpgsql AS $$
DECLARE
    e record;
    v_sub bigint;
    v_ids bigint[] := '{}';
    v_subs bigint[] := '{}';
BEGIN
    processed := 0;
    failed := 0;
    FOR e IN
        -- already locked by the caller's claim; FOR UPDATE again so a
        -- caller that did not claim waits rather than files a row twice
        SELECT j.id, j.client_id, j.payload,
               CASE WHEN r.class IS NOT NULL
                    THEN r.class || jsonb_build_object('mail', coalesce(r.mail, true)) END AS class
          FROM jsonb_to_recordset(p_rows) AS r(id bigint, class jsonb, mail boolean)
          JOIN provider_events j ON j.id = r.id
         WHERE j.processed_at IS NULL AND j.provider = 'intake' AND j.attempts < 5
         ORDER BY j.received_at
           FOR UPDATE OF j
    LOOP
        IF NOT p_safe THEN
            SELECT d.sub INTO v_sub FROM consult_intake_file(e.id, e.client_id, e.payload, e.class) d;
            v_ids := v_ids || e.id;
            v_subs := v_subs || v_sub;
            CONTINUE;
        END IF;
        BEGIN
            SELECT d.sub INTO v_sub FROM consult_intake_file(e.id, e.client_id, e.payload, e.class) d;
            v_ids := v_ids || e.id;
            v_subs := v_subs || v_sub;
        EXCEPTION WHEN deadlock_detected THEN
            -- another drain thread's batch held this row's contact: not the
            -- row's fault, so not one of its five attempts
            UPDATE provider_events SET last_error = SQLERRM WHERE id = e.id;
            failed := failed + 1;
        WHEN OTHERS THEN
            UPDATE provider_events SET attempts = attempts + 1, last_error = SQLERRM
             WHERE id = e.id;
            failed := failed + 1;
        END;
    END LOOP;
    UPDATE provider_events j SET processed_at = clock_timestamp(), attempts = j.attempts + 1,
           last_error = NULL, submission_id = u.sub
      FROM unnest(v_ids, v_subs) AS u(id, sub)
     WHERE j.id = u.id;
    processed := cardinality(v_ids);
END
$$;
