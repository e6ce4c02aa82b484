-- consult_intake_drain: the live definition (see sql/README.md).
-- The worker's half of journal-first intake: the intake rows of the journal
-- the caller claimed in this transaction (mod_consult_intake intake_drain.c:
-- oldest first, FOR UPDATE SKIP LOCKED, so several workers or nodes drain
-- at once), each with the classification the caller made (or none: a
-- submission.process job then makes it), filed by consult_intake_file.
-- p_rows: [{"id": journal id, "class": {...} (optional), "mail": bool}],
-- oldest first.
-- The fast way (p_safe false) files the batch at once, with no
-- subtransaction (hundreds per transaction would overflow PostgreSQL's
-- subtransaction cache and slow every snapshot): any failure fails the
-- call, and the caller rolls back to its savepoint and calls again with
-- p_safe, where each row is filed alone and a row that fails is rolled back
-- alone, keeps its error and is tried again on a later round, at most five
-- times. processed: rows filed; failed: rows that were not.
-- Calls consult_intake_file (hence the 30_ prefix).
-- The signature before the caller claimed and classified: gone (an older
-- build's call now fails before it touches a row).
DROP FUNCTION IF EXISTS consult_intake_drain(integer, boolean);
CREATE OR REPLACE FUNCTION consult_intake_drain(p_rows jsonb, p_safe boolean,
    OUT processed integer, OUT failed integer)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    processed := 0;
    failed := 0;
    IF NOT p_safe THEN
        processed := consult_intake_file(p_rows);
        RETURN;
    END IF;
    FOR r IN SELECT value AS row, (value->>'id')::bigint AS id
               FROM jsonb_array_elements(p_rows) LOOP
        BEGIN
            processed := processed + consult_intake_file(jsonb_build_array(r.row));
        EXCEPTION WHEN deadlock_detected THEN
            -- another drain thread's batch held this row's contact: not the
            -- row's fault, so not one of its five attempts
            UPDATE provider_events SET last_error = SQLERRM WHERE id = r.id;
            failed := failed + 1;
        WHEN OTHERS THEN
            UPDATE provider_events SET attempts = attempts + 1, last_error = SQLERRM
             WHERE id = r.id;
            failed := failed + 1;
        END;
    END LOOP;
END
$$;
-- What filed one row at a time before consult_intake_file filed batches:
-- dropped here, with the drain that called them, so no running drain ever
-- finds them gone.
DROP FUNCTION IF EXISTS consult_intake_file(bigint, bigint, text);
DROP FUNCTION IF EXISTS consult_intake_file(bigint, bigint, text, jsonb);
DROP FUNCTION IF EXISTS consult_intake_submit(bigint, text, text, text, text, jsonb, inet,
    text, text, text, boolean, text[], text, text);
DROP FUNCTION IF EXISTS consult_intake_submit(bigint, text, text, text, text, jsonb, inet,
    text, text, text, boolean, text[], text, text, jsonb);
