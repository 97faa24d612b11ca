//! The history writer over random engine flow (the engine's testkit: orders of every kind,
//! cancels, amends, deposits and withdrawals, several accounts and symbols), on SQLite and,
//! with `CEX_TEST_PG_URL` (identity/tests/pg.sh), on PostgreSQL:
//!
//! - written in random batches, "crashed" (dropped) with a batch added but not committed,
//!   and resumed from the persisted position, every trade, order and ledger entry is there
//!   exactly once, and the ledger adds up to the engine's balances;
//! - the balances at any point in time, from the daily snapshots and the ledger, are the
//!   engine's balances after the last command up to that time;
//! - klines summed from the stored minutes agree with the trades.

#[allow(dead_code)] // Not every helper is needed here.
#[path = "../../identity/tests/common/db.rs"]
mod db;

use std::collections::BTreeMap;

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator, Rng};
use cex_engine::{AccountId, AssetId, Engine, Event, EventBody};
use cex_history::query::{balances_at, klines_between, trades_between};
use cex_history::{HistoryWriter, MS_PER_DAY};
use cex_identity::store::Store;
use cex_projections::Interval;
use sqlx::Row;

const COMMANDS: usize = 3_000;

/// One command as the writer gets it, with the engine's balances after it when asked.
struct Command {
    seq: u64,
    ts_ns: u64,
    events: Vec<Event>,
    balances_after: Option<BTreeMap<(AccountId, AssetId), (i64, i64)>>,
}

/// Random flow through a real engine. Timestamps are stretched by random jumps (a
/// millisecond to two days), so the run spans weeks of daily snapshots; every command has a
/// millisecond of its own, so "the balances at its time" are exactly those after it.
struct Flow {
    commands: Vec<Command>,
    accounts: u32,
    assets: u16,
    final_balances: BTreeMap<(AccountId, AssetId), (i64, i64)>,
}

fn flow(seed: u64) -> Flow {
    let config = FlowConfig { refdata_changes: false, ..FlowConfig::default() };
    let (accounts, assets) = (config.accounts + 8, config.assets() + 8);
    let mut generator = FlowGenerator::new(seed, config);
    let mut engine = Engine::new(generator.engine_config());
    let mut rng = Rng::new(seed ^ 0x4157);
    let mut now_ns = 1_700_000_000_000_000_000u64;
    let mut commands = Vec::new();
    let balances = |engine: &Engine| {
        let mut all = BTreeMap::new();
        for account in 0..accounts {
            for asset in 0..assets {
                let balance = engine.balance(account, asset);
                if balance != (0, 0) {
                    all.insert((account, asset), balance);
                }
            }
        }
        all
    };
    let setup = generator.setup();
    let total = setup.len() + COMMANDS;
    let mut envelopes = setup.into_iter();
    for index in 0..total {
        let envelope = envelopes.next().unwrap_or_else(|| generator.next_command());
        let seq_before = engine.last_seq();
        let mut events = Vec::new();
        engine.apply(&envelope, &mut events);
        generator.observe(&events);
        if engine.last_seq() == seq_before {
            continue;
        }
        let jump_ms = if rng.chance(2) { rng.range(3_600_000, 2 * MS_PER_DAY) } else { rng.range(1, 60_000) };
        now_ns += jump_ms as u64 * 1_000_000;
        let checkpoint = index % 97 == 0 || rng.chance(1);
        let balances_after = checkpoint.then(|| balances(&engine));
        commands.push(Command { seq: envelope.seq, ts_ns: now_ns, events, balances_after });
    }
    Flow { commands, accounts, assets, final_balances: balances(&engine) }
}

/// Writes commands `[from, to)` in random batches, committing each.
async fn write(writer: &mut HistoryWriter, commands: &[Command], rng: &mut Rng) {
    for chunk in commands.chunks(rng.range(1, 400) as usize) {
        for command in chunk {
            writer.apply(command.seq, command.ts_ns, &command.events);
        }
        writer.commit().await.unwrap();
    }
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap()
}

#[tokio::test]
async fn a_crash_mid_batch_resumes_without_loss_or_duplicates() {
    let flow = flow(7);
    let mut rng = Rng::new(99);
    for db in db::test_dbs().await {
        let store = Store::connect(&db.url()).await.unwrap();
        let crash_at = flow.commands.len() / 2;
        let mut writer = HistoryWriter::open(store.clone()).await.unwrap();
        write(&mut writer, &flow.commands[..crash_at], &mut rng).await;
        // A batch added but never committed: lost with the process.
        for command in &flow.commands[crash_at..crash_at + 250] {
            writer.apply(command.seq, command.ts_ns, &command.events);
        }
        assert_eq!(writer.pending(), 250);
        drop(writer);

        let mut writer = HistoryWriter::open(store.clone()).await.unwrap();
        let resume = writer.position().seq;
        assert_eq!(resume, flow.commands[crash_at - 1].seq, "{}: the position is the last commit", db.name);
        // The runtime redelivers from position + 1; an earlier command is ignored anyway.
        writer.apply(flow.commands[0].seq, flow.commands[0].ts_ns, &flow.commands[0].events);
        write(&mut writer, &flow.commands[crash_at..], &mut rng).await;
        assert_eq!(writer.position().seq, flow.commands.last().unwrap().seq);

        let events = || flow.commands.iter().flat_map(|command| &command.events);
        let trades = events().filter(|event| matches!(event.body, EventBody::Trade(_))).count() as i64;
        let changes = events().filter(|event| matches!(event.body, EventBody::BalanceChanged(_))).count() as i64;
        let orders = events().filter(|event| matches!(event.body, EventBody::OrderAccepted(_))).count() as i64;
        assert!(trades > 100 && changes > 1_000, "{}: the flow trades: {trades} trades, {changes} changes", db.name);
        assert_eq!(count(&store, "SELECT COUNT(DISTINCT trade_id) FROM history_trades").await, trades, "{}", db.name);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM history_trades").await, trades, "{}", db.name);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM ledger_entries").await, changes, "{}", db.name);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM history_orders").await, orders, "{}", db.name);

        // The ledger's deltas add up to the engine's balances, and so does the writer's table.
        let sums = sqlx::query(
            "SELECT account, asset, CAST(SUM(available_delta) AS BIGINT) AS available, \
             CAST(SUM(frozen_delta) AS BIGINT) AS frozen \
             FROM ledger_entries GROUP BY account, asset",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let mut ledger = BTreeMap::new();
        for row in &sums {
            let key = (row.get::<i64, _>("account") as u32, row.get::<i64, _>("asset") as u16);
            let balance = (row.get::<i64, _>("available"), row.get::<i64, _>("frozen"));
            if balance != (0, 0) {
                ledger.insert(key, balance);
            }
        }
        assert_eq!(ledger, flow.final_balances, "{}: ledger sums", db.name);
        let last = flow.commands.last().unwrap().ts_ns / 1_000_000;
        for account in 0..flow.accounts {
            let now: BTreeMap<_, _> = balances_at(&store, account, last as i64)
                .await
                .unwrap()
                .into_iter()
                .map(|balance| ((account, balance.asset), (balance.available, balance.frozen)))
                .collect();
            let expected: BTreeMap<_, _> =
                flow.final_balances.iter().filter(|(key, _)| key.0 == account).map(|(k, v)| (*k, *v)).collect();
            assert_eq!(now, expected, "{}: account {account} at the end", db.name);
        }
        store.close().await;
    }
}

#[tokio::test]
async fn balances_at_any_time_are_the_engines() {
    let flow = flow(11);
    let mut rng = Rng::new(5);
    for db in db::test_dbs().await {
        let store = Store::connect(&db.url()).await.unwrap();
        let mut writer = HistoryWriter::open(store.clone()).await.unwrap();
        write(&mut writer, &flow.commands, &mut rng).await;
        let days = count(&store, "SELECT COUNT(*) FROM snapshot_days").await;
        assert!(days > 20, "{}: the flow spans {days} daily snapshots", db.name);
        let mut checked = 0;
        for command in flow.commands.iter().filter(|command| command.balances_after.is_some()) {
            let expected = command.balances_after.as_ref().unwrap();
            let time_ms = (command.ts_ns / 1_000_000) as i64;
            for account in 0..flow.accounts {
                let at: BTreeMap<_, _> = balances_at(&store, account, time_ms)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|balance| ((account, balance.asset), (balance.available, balance.frozen)))
                    .collect();
                let want: BTreeMap<_, _> =
                    expected.iter().filter(|(key, _)| key.0 == account).map(|(k, v)| (*k, *v)).collect();
                assert_eq!(at, want, "{}: account {account} after command {}", db.name, command.seq);
                checked += usize::from(!want.is_empty());
            }
        }
        assert!(checked > 100, "{}: {checked} non-empty points checked", db.name);
        // Before the first command nobody held anything.
        let before = (flow.commands[0].ts_ns / 1_000_000) as i64 - 1;
        for account in 0..flow.accounts {
            assert!(balances_at(&store, account, before).await.unwrap().is_empty());
        }
        assert!(flow.assets > 1);
        store.close().await;
    }
}

#[tokio::test]
async fn klines_from_minutes_agree_with_the_trades() {
    let flow = flow(3);
    let mut rng = Rng::new(8);
    let db = db::test_dbs().await.remove(0);
    let store = Store::connect(&db.url()).await.unwrap();
    let mut writer = HistoryWriter::open(store.clone()).await.unwrap();
    write(&mut writer, &flow.commands, &mut rng).await;
    let range = (0, i64::MAX / 2);
    for symbol in 0..3 {
        let mut trades = Vec::new();
        let mut after = 0;
        loop {
            let page = trades_between(&store, symbol, range, after, 100).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.trade_id;
            trades.extend(page);
        }
        assert!(!trades.is_empty(), "symbol {symbol} traded");
        for interval in [Interval::Minute1, Interval::Hour4, Interval::Day1, Interval::Week1, Interval::Month1] {
            let klines = klines_between(&store, symbol, interval, range).await.unwrap();
            let mut expected: BTreeMap<i64, (i64, i64, i64, i128, u64)> = BTreeMap::new();
            for trade in &trades {
                let open = interval.open_time_ms(trade.time_ms);
                let entry = expected.entry(open).or_insert((trade.price, trade.price, trade.price, 0, 0));
                entry.0 = entry.0.max(trade.price);
                entry.1 = entry.1.min(trade.price);
                entry.2 = trade.price;
                entry.3 += i128::from(trade.qty);
                entry.4 += 1;
            }
            let got: BTreeMap<i64, (i64, i64, i64, i128, u64)> =
                klines.iter().map(|k| (k.open_time_ms, (k.high, k.low, k.close, k.volume, k.trade_count))).collect();
            assert_eq!(got, expected, "symbol {symbol} at {}", interval.name());
            assert!(klines.iter().all(|k| k.close_time_ms == interval.close_time_ms(k.open_time_ms)));
        }
    }
    assert!(klines_between(&store, 0, Interval::Second1, range).await.is_err(), "1s is not stored");
}
