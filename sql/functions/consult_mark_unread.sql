-- consult_mark_unread: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- Earlier definitions: sql/003_dashboard.sql.
-- New inbound messages mark the thread unread. A thread already unread and
-- as recent (intake's filing sets both with the message) is left alone:
-- a second version of its row would only be work for nothing.
CREATE OR REPLACE FUNCTION consult_mark_unread() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.direction = 'inbound' THEN
        UPDATE conversations SET unread = true, last_message_at = greatest(last_message_at, NEW.created_at)
         WHERE id = NEW.conversation_id
           AND (NOT unread OR last_message_at < NEW.created_at);
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS messages_mark_unread ON messages;
CREATE TRIGGER messages_mark_unread AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION consult_mark_unread();
