-- Sub-accounts. A sub-account is a user row (its own engine account, registered like any
-- other) with no usable password and a synthetic, unroutable login email, plus this row
-- linking it to its parent. The parent's `email` and `label` name it; `permissions` is
-- the most any of its API keys may do. A deleted sub-account keeps both rows (its engine
-- account id is never reused; the user row's status becomes 'deleted'). Same SQL on SQLite
-- and PostgreSQL.

CREATE TABLE sub_accounts (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    parent_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    label       TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);
CREATE INDEX sub_accounts_parent ON sub_accounts (parent_id);
-- One live sub-account per (parent, email).
CREATE UNIQUE INDEX sub_accounts_parent_email ON sub_accounts (parent_id, email) WHERE deleted_at IS NULL;
