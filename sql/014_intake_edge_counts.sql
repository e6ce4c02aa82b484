-- Spam the edge counted instead of storing (ConsultIntakeSpamKeep): past a
-- client's keep budget, a post that tripped the honeypot or carried a forged
-- form token is one increment here, per client, hour and reason, added by
-- each Apache process in batches, never a contact or a message.
CREATE TABLE intake_edge_counts (
    client_id bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    hour timestamptz NOT NULL,
    reason text NOT NULL,
    posts bigint NOT NULL CHECK (posts >= 0),
    PRIMARY KEY (client_id, hour, reason)
);
