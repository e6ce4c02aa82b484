-- Intake filing by batch: consult_intake_file (sql/functions/) now files a
-- whole batch of journal rows a statement per table; the one-post-at-a-time
-- consult_intake_submit it replaces goes, with its runner record.
DROP FUNCTION IF EXISTS consult_intake_submit(bigint, text, text, text, text, jsonb, inet,
    text, text, text, boolean, text[], text, text);
DROP FUNCTION IF EXISTS consult_intake_submit(bigint, text, text, text, text, jsonb, inet,
    text, text, text, boolean, text[], text, text, jsonb);
-- (schema_functions is the runner's, made after the migrations on a new
-- database: there is nothing to forget then.)
DO $$
BEGIN
    IF to_regclass('schema_functions') IS NOT NULL THEN
        DELETE FROM schema_functions WHERE name = 'consult_intake_submit';
    END IF;
END
$$;
