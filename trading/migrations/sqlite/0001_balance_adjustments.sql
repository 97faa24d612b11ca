-- Staff balance adjustments (POST /api/admin/accounts/{id}/adjust): one row per request,
-- written before the engine sees it and completed with the engine's verdict, so every
-- adjustment, applied or not, is on record with who asked and why. `ref_id` is the
-- engine's AdjustBalance reference (2^56 + id), unique for ever. Amounts are the request's
-- decimal text and the engine's minor units. `status`: pending (sent, no verdict yet, or
-- the node stopped), applied, rejected (`reject_code`), unknown (no answer in time).

CREATE TABLE balance_adjustments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id       BIGINT NOT NULL,
    user_id        BIGINT NOT NULL,
    engine_account BIGINT NOT NULL,
    asset          TEXT NOT NULL,
    amount         TEXT NOT NULL,
    amount_units   BIGINT NOT NULL,
    reason         TEXT NOT NULL,
    ip             TEXT,
    status         TEXT NOT NULL,
    reject_code    BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX balance_adjustments_user ON balance_adjustments (user_id, created_at);
