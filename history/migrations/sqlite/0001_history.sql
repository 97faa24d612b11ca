-- Persisted history (cex-history): written by one writer in batches, one transaction per
-- batch that also moves `history_position`, so a crash never loses or repeats a command.
-- Amounts are the engine's minor units; times are the command's timestamp in ns (`ts_ns`)
-- or Unix ms (`*_ms`); u64 ids that can pass 2^63 (client order ids, references) are text.

CREATE TABLE history_position (
    id    BIGINT PRIMARY KEY,
    seq   BIGINT NOT NULL,
    ts_ns BIGINT NOT NULL
);
INSERT INTO history_position (id, seq, ts_ns) VALUES (1, 0, 0);

CREATE TABLE history_orders (
    order_id        BIGINT PRIMARY KEY,
    account         BIGINT NOT NULL,
    symbol          BIGINT NOT NULL,
    client_order_id TEXT NOT NULL,
    side            TEXT NOT NULL,
    order_type      TEXT NOT NULL,
    time_in_force   TEXT NOT NULL,
    price           BIGINT NOT NULL,
    qty             BIGINT NOT NULL,
    quote_qty       BIGINT NOT NULL,
    stop_price      BIGINT NOT NULL,
    status          TEXT NOT NULL,
    executed_qty    BIGINT NOT NULL,
    executed_quote  BIGINT NOT NULL,
    created_ns      BIGINT NOT NULL,
    updated_ns      BIGINT NOT NULL,
    updated_seq     BIGINT NOT NULL
);
CREATE INDEX history_orders_account ON history_orders (account, created_ns);

CREATE TABLE history_trades (
    trade_id       BIGINT PRIMARY KEY,
    seq            BIGINT NOT NULL,
    ts_ns          BIGINT NOT NULL,
    symbol         BIGINT NOT NULL,
    price          BIGINT NOT NULL,
    qty            BIGINT NOT NULL,
    notional       BIGINT NOT NULL,
    taker_side     TEXT NOT NULL,
    maker_order_id BIGINT NOT NULL,
    taker_order_id BIGINT NOT NULL,
    maker_account  BIGINT NOT NULL,
    taker_account  BIGINT NOT NULL,
    maker_fee      BIGINT NOT NULL,
    taker_fee      BIGINT NOT NULL
);
CREATE INDEX history_trades_symbol_time ON history_trades (symbol, ts_ns);

-- One row per BalanceChanged: `idx` is the event's place among its command's events.
CREATE TABLE ledger_entries (
    seq             BIGINT NOT NULL,
    idx             BIGINT NOT NULL,
    ts_ns           BIGINT NOT NULL,
    account         BIGINT NOT NULL,
    asset           BIGINT NOT NULL,
    cause           TEXT NOT NULL,
    reference       TEXT NOT NULL,
    available_delta BIGINT NOT NULL,
    frozen_delta    BIGINT NOT NULL,
    available_after BIGINT NOT NULL,
    frozen_after    BIGINT NOT NULL,
    PRIMARY KEY (seq, idx)
);
CREATE INDEX ledger_entries_account_time ON ledger_entries (account, ts_ns);

-- Every account's balances as of `history_position`: what the next daily snapshot copies.
CREATE TABLE history_balances (
    account   BIGINT NOT NULL,
    asset     BIGINT NOT NULL,
    available BIGINT NOT NULL,
    frozen    BIGINT NOT NULL,
    PRIMARY KEY (account, asset)
);

-- A daily snapshot is taken at `day_ms` (a UTC midnight) when the first command of that
-- day comes: every non-zero balance as it stood before. `snapshot_days` lists the days
-- taken, so an account with no row on such a day held nothing.
CREATE TABLE snapshot_days (
    day_ms BIGINT PRIMARY KEY
);
CREATE TABLE balance_snapshots (
    account   BIGINT NOT NULL,
    day_ms    BIGINT NOT NULL,
    asset     BIGINT NOT NULL,
    available BIGINT NOT NULL,
    frozen    BIGINT NOT NULL,
    PRIMARY KEY (account, day_ms, asset)
);

-- 1-minute klines; every longer interval is whole minutes and is summed from these. Volumes
-- are i128 as decimal text.
CREATE TABLE klines_1m (
    symbol                 BIGINT NOT NULL,
    open_ms                BIGINT NOT NULL,
    open                   BIGINT NOT NULL,
    high                   BIGINT NOT NULL,
    low                    BIGINT NOT NULL,
    close                  BIGINT NOT NULL,
    volume                 TEXT NOT NULL,
    quote_volume           TEXT NOT NULL,
    taker_buy_volume       TEXT NOT NULL,
    taker_buy_quote_volume TEXT NOT NULL,
    trades                 BIGINT NOT NULL,
    first_trade_id         BIGINT NOT NULL,
    last_trade_id          BIGINT NOT NULL,
    PRIMARY KEY (symbol, open_ms)
);

-- Market-data export jobs (POST /api/v1/export/market-data). `status`: pending, running,
-- done (`rows`, the file under the data directory's exports/), failed (`error`).
CREATE TABLE export_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     BIGINT NOT NULL,
    symbol      TEXT NOT NULL,
    data_type   TEXT NOT NULL,
    kline_interval TEXT,
    start_ms    BIGINT NOT NULL,
    end_ms      BIGINT NOT NULL,
    status      TEXT NOT NULL,
    row_count   BIGINT NOT NULL,
    error       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX export_jobs_user ON export_jobs (user_id, status);
