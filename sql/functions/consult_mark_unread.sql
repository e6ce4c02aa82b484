-- consult_mark_unread: the live definition. Edit it here, never in a migration: the
-- runner applies this file again whenever it changes (see sql/README.md).
-- Earlier definitions: sql/003_dashboard.sql.
-- New inbound messages mark their threads unread. Once per statement,
-- over the statement's new rows (a transition table): intake's drain
-- files hundreds of messages in one statement, and a trigger per row cost
-- each of them a plpgsql call and an UPDATE. A thread already unread and
-- as recent (the drain sets both with the message) is left alone: a
-- second version of its row would only be work for nothing. EXECUTE, so
-- each statement is planned for its own number of rows: a cached plan
-- would keep the first call's (a drain's 500 rows, or one SMS) for the
-- connection's life; only when an inbound message came, so an outbound
-- send or a note plans nothing.
CREATE OR REPLACE FUNCTION consult_mark_unread() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM added WHERE direction = 'inbound') THEN
        RETURN NULL;
    END IF;
    EXECUTE $q$
    UPDATE conversations cv
       SET unread = true, last_message_at = greatest(cv.last_message_at, n.created_at)
      FROM (SELECT conversation_id, max(created_at) AS created_at
              FROM added WHERE direction = 'inbound' GROUP BY conversation_id) n
     WHERE cv.id = n.conversation_id
       AND (NOT cv.unread OR cv.last_message_at < n.created_at)
    $q$;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS messages_mark_unread ON messages;
CREATE TRIGGER messages_mark_unread AFTER INSERT ON messages
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION consult_mark_unread();
