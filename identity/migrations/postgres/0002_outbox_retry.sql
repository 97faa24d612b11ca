-- The outbox becomes a queue: a background worker claims each due message, sends it, and
-- on failure schedules a retry with backoff. A message older than a code's lifetime is
-- given up (its code has expired). Same SQL on SQLite and PostgreSQL.

ALTER TABLE outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
-- When the next attempt may start (Unix ms); 0: at once.
ALTER TABLE outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
-- A worker sending the message holds it until then; past it, another worker may retry.
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT;
-- Given up (expired before it could be delivered); the body is blanked.
ALTER TABLE outbox ADD COLUMN failed_at BIGINT;

CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
