-- consult_dead_send_fails_message: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- Earlier definitions: sql/005_contact_aliases.sql.
-- A send job that ends dead, however it got there (its handler gave up, or
-- its worker died on every attempt), leaves its message "failed" with the
-- reason, never "queued" or "sending" for ever.
CREATE OR REPLACE FUNCTION consult_dead_send_fails_message() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE messages SET delivery_status = 'failed',
           delivery_error = coalesce(delivery_error, 'Not sent: ' || coalesce(NEW.last_error, 'gave up'))
     WHERE id = (NEW.payload->>'message_id')::bigint
       AND direction = 'outbound' AND provider_id IS NULL
       AND delivery_status IN ('queued', 'sending');
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS jobs_dead_send ON jobs;
CREATE TRIGGER jobs_dead_send AFTER UPDATE OF state ON jobs
    FOR EACH ROW WHEN (NEW.state = 'dead' AND OLD.state <> 'dead'
                       AND NEW.kind IN ('twilio.sms.send', 'email.send'))
    EXECUTE FUNCTION consult_dead_send_fails_message();
