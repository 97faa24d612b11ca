-- Identity schema, SQLite flavour. The PostgreSQL flavour (../postgres/) differs only in how
-- an auto-incrementing key is declared; every column type maps to i64 or text on both.
-- Times are milliseconds since the Unix epoch; flags are 0/1.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('engine_account', 0);

CREATE TABLE users (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    email             TEXT NOT NULL UNIQUE,
    password_hash     TEXT NOT NULL,
    email_verified_at BIGINT,
    phone             TEXT UNIQUE,
    invite_code       TEXT,
    engine_account    BIGINT NOT NULL UNIQUE,
    fee_tier          BIGINT NOT NULL,
    engine_registered BIGINT NOT NULL DEFAULT 0,
    status            TEXT NOT NULL DEFAULT 'active',
    failed_logins     BIGINT NOT NULL DEFAULT 0,
    locked_until      BIGINT,
    totp_secret       TEXT,
    totp_pending      TEXT,
    totp_last_step    BIGINT,
    totp_enabled_at   BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'active',
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE verification_codes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    target      TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX verification_codes_user ON verification_codes (user_id, purpose);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT,
    channel      TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT,
    error        TEXT
);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    subject_kind  TEXT NOT NULL,
    subject_id    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    revoke_reason TEXT,
    ip            TEXT,
    user_agent    TEXT
);
CREATE INDEX sessions_subject ON sessions (subject_kind, subject_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE login_challenges (
    id_hash     TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip          TEXT,
    user_agent  TEXT,
    device_info TEXT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    api_key      TEXT NOT NULL UNIQUE,
    secret_enc   TEXT NOT NULL,
    label        TEXT NOT NULL,
    permissions  TEXT NOT NULL,
    ip_whitelist TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE login_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind TEXT NOT NULL,
    subject_id   BIGINT,
    email        TEXT NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    device_info  TEXT,
    success      BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX login_audit_subject ON login_audit (subject_kind, subject_id, created_at);

CREATE TABLE security_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind TEXT NOT NULL,
    subject_id   BIGINT NOT NULL,
    event        TEXT NOT NULL,
    detail       TEXT NOT NULL,
    ip           TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX security_log_subject ON security_log (subject_kind, subject_id, created_at);
