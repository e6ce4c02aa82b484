-- Cal.com's daily reconciliation (calcom.reconcile) keeps its account on
-- integration_accounts next to Jobber's: state (connected while the API
-- key works, failing with last_error when Cal.com refuses or fails),
-- reconciled_at and reconcile_recovered (the bookings it put on timelines
-- that no webhook had brought). No tokens: the key is in the configuration.
ALTER TABLE integration_accounts
    DROP CONSTRAINT integration_accounts_provider_check,
    ADD CONSTRAINT integration_accounts_provider_check
        CHECK (provider IN ('jobber', 'calcom'));
