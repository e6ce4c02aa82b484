-- Journal-first intake: a form post is acknowledged once its raw row is in
-- core's inbound journal (provider_events, provider 'intake'); the worker
-- builds contact, conversation, message and submission from it afterwards
-- (consult_intake_drain, sql/functions/30_consult_intake_drain.sql).

-- A post's files are stored with its journal row, before a submission
-- exists; the drain attaches them to the submission it makes.
ALTER TABLE attachments
    ALTER COLUMN submission_id DROP NOT NULL,
    ADD COLUMN journal_id bigint REFERENCES provider_events (id) ON DELETE SET NULL,
    ADD CONSTRAINT attachments_owner_check
        CHECK (submission_id IS NOT NULL OR journal_id IS NOT NULL);
CREATE INDEX attachments_journal ON attachments (journal_id) WHERE journal_id IS NOT NULL;

-- The submission made from a journal row, so the visitor's reference (the
-- journal id) leads to it, and staff can see which posts are still waiting.
ALTER TABLE provider_events
    ADD COLUMN submission_id bigint REFERENCES submissions (id) ON DELETE SET NULL;
