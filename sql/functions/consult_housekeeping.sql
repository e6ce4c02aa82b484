-- consult_housekeeping: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- Earlier definitions: sql/005_contact_aliases.sql.
-- Housekeeping, run by the job worker at start and hourly: sessions a day
-- past their end, sign-in attempts older than 30 days (throttling looks at
-- minutes), finished jobs older than 30 days, and the edge's spam counts
-- (intake_edge_counts) older than 90 days. Returns what it removed of the
-- first three.
CREATE OR REPLACE FUNCTION consult_housekeeping(OUT sessions bigint, OUT login_attempts bigint,
                                     OUT jobs bigint)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sessions s WHERE s.expires_at < now() - interval '1 day';
    GET DIAGNOSTICS sessions = ROW_COUNT;
    DELETE FROM login_attempts a WHERE a.created_at < now() - interval '30 days';
    GET DIAGNOSTICS login_attempts = ROW_COUNT;
    DELETE FROM jobs j WHERE j.state = 'done' AND j.done_at < now() - interval '30 days';
    GET DIAGNOSTICS jobs = ROW_COUNT;
    DELETE FROM intake_edge_counts e WHERE e.hour < now() - interval '90 days';
END
$$;
