//! Hand-computed scenarios. BTC (asset 0) and USDT (asset 1), both scale 8; tick 0.01 USDT
//! (10^6), lot 0.00001 BTC (1,000 sat), so one lot at one tick is 10 quote units. Maker fee
//! 10 bps, taker 20 bps, band 10%.

use super::ReferenceEngine;
use crate::command::*;
use crate::event::*;
use crate::reject::RejectReason;
use crate::types::*;
use crate::EngineConfig;

const BTC: AssetId = 0;
const USDT: AssetId = 1;
const SYM: SymbolId = 0;
/// One whole unit of either asset in minor units.
const UNIT: i64 = 100_000_000;
/// 0.01 BTC.
const CENT_BTC: i64 = UNIT / 100;
const START_BTC: i64 = 10 * UNIT;
const START_USDT: i64 = 1_000_000 * UNIT;

/// A price of `whole` USDT per BTC.
fn px(whole: i64) -> i64 {
    whole * UNIT
}

struct Harness {
    engine: ReferenceEngine,
    seq: u64,
    ts: u64,
}

impl Harness {
    /// Three funded tier-0 accounts (1, 2, 3) on one symbol with the given reference price.
    fn new(reference_whole: i64) -> Self {
        Self::with_config(EngineConfig::default(), reference_whole)
    }

    fn with_config(config: EngineConfig, reference_whole: i64) -> Self {
        let mut h = Harness { engine: ReferenceEngine::new(config), seq: 0, ts: 0 };
        h.ok(Command::AddAsset(AddAsset { asset: BTC, scale: 8 }));
        h.ok(Command::AddAsset(AddAsset { asset: USDT, scale: 8 }));
        h.ok(Command::AddSymbol(SymbolSpec {
            symbol: SYM,
            base: BTC,
            quote: USDT,
            tick_size: 1_000_000,
            lot_size: 1_000,
            min_qty: 1_000,
            max_qty: 100 * UNIT,
            min_notional: 1_000_000,
            price_band_bps: 1_000,
            reference_price: px(reference_whole),
            maker_fee_bps: 10,
            taker_fee_bps: 20,
        }));
        for account in 1..=3u32 {
            h.ok(Command::CreateAccount { account, fee_tier: 0 });
            h.ok(deposit(account, BTC, START_BTC, account as u64 * 2));
            h.ok(deposit(account, USDT, START_USDT, account as u64 * 2 + 1));
        }
        h
    }

    fn run(&mut self, command: Command) -> Vec<EventBody> {
        self.seq += 1;
        self.ts += 1;
        self.run_envelope(CommandEnvelope { seq: self.seq, ts_ns: self.ts, command })
    }

    fn run_at(&mut self, ts_ns: u64, command: Command) -> Vec<EventBody> {
        self.seq += 1;
        self.ts = ts_ns;
        self.run_envelope(CommandEnvelope { seq: self.seq, ts_ns, command })
    }

    fn run_envelope(&mut self, envelope: CommandEnvelope) -> Vec<EventBody> {
        let mut out = Vec::new();
        self.engine.apply(&envelope, &mut out);
        assert!(out.iter().all(|e| e.txid == envelope.seq));
        out.into_iter().map(|e| e.body).collect()
    }

    /// Runs a command that must not be rejected.
    fn ok(&mut self, command: Command) -> Vec<EventBody> {
        let events = self.run(command);
        assert!(!events.iter().any(|e| matches!(e, EventBody::Rejected(_))), "{command:?} gave {events:?}");
        events
    }
}

fn deposit(account: AccountId, asset: AssetId, amount: i64, ref_id: u64) -> Command {
    Command::AdjustBalance(AdjustBalance { account, asset, amount, ref_id })
}

fn order(account: AccountId, side: Side, order_type: OrderType, tif: TimeInForce, price: i64, qty: i64) -> NewOrder {
    NewOrder { order_type, time_in_force: tif, ..NewOrder::limit(account, SYM, side, price, qty) }
}

fn limit(account: AccountId, side: Side, whole: i64, qty: i64, tif: TimeInForce) -> Command {
    Command::NewOrder(order(account, side, OrderType::Limit, tif, px(whole), qty))
}

fn bc(
    account: AccountId,
    asset: AssetId,
    cause: BalanceCause,
    reference: u64,
    before: (i64, i64),
    after: (i64, i64),
) -> EventBody {
    EventBody::BalanceChanged(BalanceChanged {
        account,
        asset,
        cause,
        reference,
        available_before: before.0,
        frozen_before: before.1,
        available_after: after.0,
        frozen_after: after.1,
    })
}

/// A compact shape of an event stream, for checking order without every field.
fn shape(events: &[EventBody]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            EventBody::BalanceChanged(b) => format!("Bal({},{},{:?},{})", b.account, b.asset, b.cause, b.reference),
            EventBody::OrderAccepted(a) => format!("Accepted({})", a.order_id),
            EventBody::Trade(t) => format!("Trade({},m{},t{})", t.trade_id, t.maker_order_id, t.taker_order_id),
            EventBody::OrderCancelled(c) => format!("Cancelled({},{:?})", c.order_id, c.reason),
            EventBody::OrderAmended(a) => format!("Amended({},{})", a.order_id, a.priority_kept),
            EventBody::StopTriggered(s) => format!("Stop({})", s.order_id),
            EventBody::Rejected(r) => format!("Rejected({:?})", r.reason),
            other => format!("{other:?}"),
        })
        .collect()
}

fn trades(events: &[EventBody]) -> Vec<Trade> {
    events.iter().filter_map(|e| if let EventBody::Trade(t) = e { Some(*t) } else { None }).collect()
}

fn rejected(events: &[EventBody]) -> Rejected {
    match events {
        [EventBody::Rejected(r)] => *r,
        other => panic!("expected one reject, got {other:?}"),
    }
}

/// Available + frozen of every account, plus fees, equal the supply.
fn assert_conserved(h: &Harness) {
    for asset in [BTC, USDT] {
        let held: i64 = (1..=3).map(|a| h.engine.balance(a, asset)).map(|(av, fr)| av + fr).sum();
        assert_eq!(held + h.engine.fees_collected(asset), h.engine.supply(asset));
    }
}

#[test]
fn simple_cross_with_fees_and_buyer_refund() {
    let mut h = Harness::new(0);
    let sell = h.ok(limit(1, Side::Sell, 50_000, CENT_BTC, TimeInForce::Gtc));
    assert_eq!(sell[0], bc(1, BTC, BalanceCause::OrderFreeze, 1, (START_BTC, 0), (START_BTC - CENT_BTC, CENT_BTC)));

    // Buy 0.01 at 50,100: reserve 501 USDT + 20 bps = 50_100_000_000 + 100_200_000.
    let events = h.ok(limit(2, Side::Buy, 50_100, CENT_BTC, TimeInForce::Gtc));
    let reserve = 50_200_200_000;
    let notional = 50_000_000_000;
    let expected = vec![
        bc(2, USDT, BalanceCause::OrderFreeze, 2, (START_USDT, 0), (START_USDT - reserve, reserve)),
        EventBody::OrderAccepted(OrderAccepted {
            order_id: 2,
            account: 2,
            symbol: SYM,
            client_order_id: 0,
            side: Side::Buy,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            price: px(50_100),
            qty: CENT_BTC,
            quote_qty: 0,
            stop_price: 0,
            expire_ts_ns: 0,
            post_only: false,
            stp: SelfTradePrevention::None,
            frozen: reserve,
        }),
        EventBody::Trade(Trade {
            trade_id: 1,
            symbol: SYM,
            price: px(50_000),
            qty: CENT_BTC,
            notional,
            taker_side: Side::Buy,
            maker_order_id: 1,
            taker_order_id: 2,
            maker_account: 1,
            taker_account: 2,
            maker_fee: 50_000_000,
            taker_fee: 2_000,
            maker_remaining: 0,
            taker_remaining: 0,
        }),
        // The whole reserve leaves frozen; the unused 200_200_000 returns to available.
        bc(2, USDT, BalanceCause::TradeSettlement, 1, (START_USDT - reserve, reserve), (START_USDT - notional, 0)),
        bc(2, BTC, BalanceCause::TradeSettlement, 1, (START_BTC, 0), (START_BTC + CENT_BTC - 2_000, 0)),
        bc(1, BTC, BalanceCause::TradeSettlement, 1, (START_BTC - CENT_BTC, CENT_BTC), (START_BTC - CENT_BTC, 0)),
        bc(1, USDT, BalanceCause::TradeSettlement, 1, (START_USDT, 0), (START_USDT + notional - 50_000_000, 0)),
    ];
    assert_eq!(events, expected);
    assert_eq!(h.engine.fees_collected(BTC), 2_000);
    assert_eq!(h.engine.fees_collected(USDT), 50_000_000);
    assert!(h.engine.open_order_ids().is_empty());
    assert_conserved(&h);
}

#[test]
fn partial_fill_rests_then_fills_as_maker() {
    let mut h = Harness::new(0);
    h.ok(limit(1, Side::Sell, 50_000, 2 * CENT_BTC, TimeInForce::Gtc));
    // Buy 0.03 at 50,000: reserve 1,503 USDT; 0.02 fills, 0.01 rests holding 501 USDT.
    let events = h.ok(limit(2, Side::Buy, 50_000, 3 * CENT_BTC, TimeInForce::Gtc));
    let t = trades(&events);
    assert_eq!(t.len(), 1);
    assert_eq!(
        (t[0].qty, t[0].notional, t[0].maker_remaining, t[0].taker_remaining),
        (2 * CENT_BTC, 100_000_000_000, 0, CENT_BTC)
    );
    assert_eq!(shape(&events).len(), 2 + 5, "no cancel: the rest rests");
    assert_eq!(h.engine.open_order_ids(), vec![2]);
    let resting_reserve = 50_100_000_000;
    assert_eq!(h.engine.balance(2, USDT), (START_USDT - 150_300_000_000 + 200_000_000, resting_reserve));

    // A sell IOC below the bid fills at the maker's price; the maker buyer pays the maker fee.
    let events = h.ok(limit(3, Side::Sell, 49_000, CENT_BTC / 2, TimeInForce::Ioc));
    let t = trades(&events);
    assert_eq!(t[0].price, px(50_000));
    assert_eq!((t[0].maker_fee, t[0].taker_fee), (500, 50_000_000));
    assert_eq!(t[0].maker_remaining, CENT_BTC / 2);
    // Half the maker's reserve is released; 25_000_000_000 pays, 50_000_000 fee reserve returns.
    let buyer_quote = bc(
        2,
        USDT,
        BalanceCause::TradeSettlement,
        2,
        (START_USDT - 150_100_000_000, resting_reserve),
        (START_USDT - 150_050_000_000, 25_050_000_000),
    );
    assert_eq!(events[3], buyer_quote);
    assert_eq!(h.engine.open_order_ids(), vec![2]);
    assert_conserved(&h);
}

#[test]
fn fok_that_cannot_fill_is_cancelled_whole() {
    let mut h = Harness::new(0);
    h.ok(limit(1, Side::Sell, 50_000, CENT_BTC, TimeInForce::Gtc));
    let hash_before = h.engine.state_hash();
    let events = h.ok(limit(2, Side::Buy, 50_000, 2 * CENT_BTC, TimeInForce::Fok));
    assert_eq!(
        shape(&events),
        ["Bal(2,1,OrderFreeze,2)", "Accepted(2)", "Cancelled(2,Fok)", "Bal(2,1,OrderRelease,2)"]
    );
    let EventBody::OrderCancelled(cancelled) = events[2] else { unreachable!() };
    assert_eq!(cancelled.remaining, 2 * CENT_BTC);
    assert_eq!(h.engine.balance(2, USDT), (START_USDT, 0));
    assert_eq!(h.engine.open_order_ids(), vec![1]);
    assert_ne!(h.engine.state_hash(), hash_before, "the order id and sequence moved on");

    let events = h.ok(limit(2, Side::Buy, 50_000, CENT_BTC, TimeInForce::Fok));
    assert_eq!(trades(&events).len(), 1);
    assert!(h.engine.open_order_ids().is_empty());
}

#[test]
fn stp_expire_maker_skips_own_order_and_trades_the_next() {
    let mut h = Harness::new(0);
    h.ok(limit(1, Side::Sell, 50_000, CENT_BTC, TimeInForce::Gtc));
    h.ok(limit(2, Side::Sell, 50_000, CENT_BTC, TimeInForce::Gtc));
    let mut buy = order(1, Side::Buy, OrderType::Limit, TimeInForce::Gtc, px(50_000), CENT_BTC);
    buy.stp = SelfTradePrevention::ExpireMaker;
    let events = h.ok(Command::NewOrder(buy));
    assert_eq!(
        shape(&events)[..6],
        [
            "Bal(1,1,OrderFreeze,3)",
            "Accepted(3)",
            "Cancelled(1,SelfTradePrevention)",
            "Bal(1,0,OrderRelease,1)",
            "Trade(1,m2,t3)",
            "Bal(1,1,TradeSettlement,1)",
        ]
    );
    assert!(h.engine.open_order_ids().is_empty());

    // ExpireTaker: the taker goes, the maker stays.
    h.ok(limit(1, Side::Sell, 50_000, CENT_BTC, TimeInForce::Gtc));
    buy.stp = SelfTradePrevention::ExpireTaker;
    let events = h.ok(Command::NewOrder(buy));
    assert_eq!(
        shape(&events),
        ["Bal(1,1,OrderFreeze,5)", "Accepted(5)", "Cancelled(5,SelfTradePrevention)", "Bal(1,1,OrderRelease,5)"]
    );
    assert_eq!(h.engine.open_order_ids(), vec![4]);
    assert_conserved(&h);
}

#[test]
fn stop_triggers_cascade_within_one_command() {
    let mut h = Harness::new(50_000);
    for whole in [50_100, 50_200, 50_300] {
        h.ok(limit(2, Side::Sell, whole, CENT_BTC, TimeInForce::Gtc));
    }
    let mut stop_limit = order(1, Side::Buy, OrderType::StopLimit, TimeInForce::Gtc, px(50_200), CENT_BTC);
    stop_limit.stop_price = px(50_100);
    let accepted = h.ok(Command::NewOrder(stop_limit));
    assert_eq!(shape(&accepted), ["Bal(1,1,OrderFreeze,4)", "Accepted(4)"]);
    let mut stop_market = order(1, Side::Buy, OrderType::StopMarket, TimeInForce::Ioc, 0, CENT_BTC);
    stop_market.stop_price = px(50_200);
    let accepted = h.ok(Command::NewOrder(stop_market));
    // Protection price: 50,200 + 10% = 55,220; reserve 552.2 USDT + 20 bps.
    let EventBody::OrderAccepted(a) = accepted[1] else { unreachable!() };
    assert_eq!((a.price, a.stop_price, a.frozen), (0, px(50_200), 55_330_440_000));
    assert_eq!(h.engine.open_order_ids(), vec![1, 2, 3, 4, 5]);

    let events = h.ok(limit(3, Side::Buy, 50_100, CENT_BTC, TimeInForce::Ioc));
    let settle = |n: u64, buyer: u32| {
        vec![
            format!("Bal({buyer},1,TradeSettlement,{n})"),
            format!("Bal({buyer},0,TradeSettlement,{n})"),
            format!("Bal(2,0,TradeSettlement,{n})"),
            format!("Bal(2,1,TradeSettlement,{n})"),
        ]
    };
    let mut expected = vec!["Bal(3,1,OrderFreeze,6)".to_string(), "Accepted(6)".into(), "Trade(1,m1,t6)".into()];
    expected.extend(settle(1, 3));
    expected.extend(["Stop(4)".into(), "Trade(2,m2,t4)".into()]);
    expected.extend(settle(2, 1));
    expected.extend(["Stop(5)".into(), "Trade(3,m3,t5)".into()]);
    expected.extend(settle(3, 1));
    assert_eq!(shape(&events), expected);
    let stops: Vec<StopTriggered> =
        events.iter().filter_map(|e| if let EventBody::StopTriggered(s) = e { Some(*s) } else { None }).collect();
    assert_eq!((stops[0].stop_price, stops[0].last_price), (px(50_100), px(50_100)));
    assert_eq!((stops[1].stop_price, stops[1].last_price), (px(50_200), px(50_200)));
    assert!(h.engine.open_order_ids().is_empty());
    // The stop-market bought at 50,300 against a reserve at 55,220: all of it came back.
    assert_eq!(h.engine.balance(1, USDT).1, 0);
    assert_conserved(&h);

    // The last price is now 50,300: a buy stop at or below it would trigger at once.
    stop_limit.stop_price = px(50_300);
    let r = rejected(&h.run(Command::NewOrder(stop_limit)));
    assert_eq!(r.reason, RejectReason::StopWouldTriggerImmediately);
}

#[test]
fn gtd_orders_expire_before_the_command_that_reaches_their_time() {
    let mut h = Harness::new(0);
    let mut gtd = order(1, Side::Sell, OrderType::Limit, TimeInForce::Gtd, px(50_000), CENT_BTC);
    gtd.expire_ts_ns = 5_000;
    gtd.client_order_id = 77;
    h.run_at(1_000, Command::NewOrder(gtd));
    assert_eq!(h.engine.open_order_ids(), vec![1]);

    let events = h.run_at(4_999, deposit(2, USDT, 1, 500));
    assert_eq!(shape(&events), ["Bal(2,1,Deposit,500)"]);
    // A stamp from the past counts as the previous time: nothing expires yet.
    let events = h.run_at(10, deposit(2, USDT, 1, 501));
    assert_eq!(shape(&events), ["Bal(2,1,Deposit,501)"]);

    let events = h.run_at(5_000, deposit(2, USDT, 1, 502));
    assert_eq!(shape(&events), ["Cancelled(1,Expired)", "Bal(1,0,OrderRelease,1)", "Bal(2,1,Deposit,502)"]);
    assert!(h.engine.open_order_ids().is_empty());
    assert_eq!(h.engine.balance(1, BTC), (START_BTC, 0));

    // The client order id is free again; an expiry not after now is refused.
    gtd.expire_ts_ns = 5_000;
    let r = rejected(&h.run_at(5_000, Command::NewOrder(gtd)));
    assert_eq!((r.reason, r.account, r.order_id, r.client_order_id), (RejectReason::ExpireTimeInPast, 1, 0, 77));
}

#[test]
fn amend_down_keeps_priority_and_amend_up_loses_it() {
    let mut h = Harness::new(0);
    h.ok(limit(1, Side::Buy, 50_000, 2 * CENT_BTC, TimeInForce::Gtc));
    h.ok(limit(2, Side::Buy, 50_000, CENT_BTC, TimeInForce::Gtc));
    let amend = |order_id, new_qty| {
        Command::Amend(Amend { account: 0, order_id, client_order_id: 0, new_price: px(50_000), new_qty })
    };
    let with_account = |c: Command, account| match c {
        Command::Amend(a) => Command::Amend(Amend { account, ..a }),
        other => other,
    };

    // Down: 1,002 USDT reserve becomes 501; the order keeps its place.
    let events = h.ok(with_account(amend(1, CENT_BTC), 1));
    let full = START_USDT - 100_200_000_000;
    assert_eq!(
        events[0],
        bc(1, USDT, BalanceCause::OrderRelease, 1, (full, 100_200_000_000), (full + 50_100_000_000, 50_100_000_000))
    );
    assert_eq!(shape(&events[1..]), ["Amended(1,true)"]);
    let events = h.ok(limit(3, Side::Sell, 50_000, CENT_BTC, TimeInForce::Gtc));
    assert_eq!(trades(&events)[0].maker_order_id, 1);

    // Up: order 2 goes behind order 4, which came after it.
    h.ok(limit(1, Side::Buy, 50_000, CENT_BTC, TimeInForce::Gtc));
    let events = h.ok(with_account(amend(2, 2 * CENT_BTC), 2));
    assert_eq!(shape(&events), ["Bal(2,1,OrderFreeze,2)", "Amended(2,false)"]);
    let events = h.ok(limit(3, Side::Sell, 50_000, CENT_BTC, TimeInForce::Gtc));
    assert_eq!(trades(&events)[0].maker_order_id, 4);
    assert_eq!(h.engine.open_order_ids(), vec![2]);

    let r = rejected(&h.run(with_account(amend(2, 2 * CENT_BTC), 2)));
    assert_eq!((r.reason, r.order_id), (RejectReason::AmendNoChange, 2));
    let r = rejected(&h.run(with_account(amend(2, 2 * CENT_BTC), 1)));
    assert_eq!(r.reason, RejectReason::UnknownOrder);
    assert_conserved(&h);
}

#[test]
fn adjust_balance_dedups_within_the_window() {
    let config = EngineConfig { adjust_dedup_window: 2, ..EngineConfig::default() };
    let mut h = Harness::with_config(config, 0);
    h.ok(deposit(1, BTC, 5, 100));
    let r = rejected(&h.run(deposit(1, BTC, 5, 100)));
    assert_eq!((r.command, r.account, r.reason), (CommandKind::AdjustBalance, 1, RejectReason::DuplicateReference));
    h.ok(deposit(1, BTC, 5, 101));
    h.ok(deposit(1, BTC, -5, 102));
    // 100 has left the two-entry window.
    h.ok(deposit(1, BTC, 5, 100));
    assert_eq!(h.engine.balance(1, BTC), (START_BTC + 10, 0));
    assert_eq!(rejected(&h.run(deposit(1, BTC, 5, 0))).reason, RejectReason::InvalidReference);
    assert_eq!(rejected(&h.run(deposit(1, BTC, -START_BTC - 11, 103))).reason, RejectReason::InsufficientFunds);
    assert_eq!(rejected(&h.run(deposit(9, BTC, 5, 104))).reason, RejectReason::UnknownAccount);
    assert_eq!(h.engine.supply(BTC), 3 * START_BTC + 10);
}

#[test]
fn out_of_sequence_changes_nothing() {
    let mut h = Harness::new(0);
    let hash = h.engine.state_hash();
    let last = h.engine.last_seq();
    let envelope = CommandEnvelope { seq: last + 2, ts_ns: 1 << 40, command: deposit(1, BTC, 5, 900) };
    let events = h.run_envelope(envelope);
    assert_eq!(rejected(&events).reason, RejectReason::OutOfSequence);
    assert_eq!((h.engine.state_hash(), h.engine.last_seq()), (hash, last));
    // Equal histories hash equal.
    assert_eq!(Harness::new(0).engine.state_hash(), hash);
}

/// xorshift64*: a tiny deterministic generator, so the random test needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A random command over the harness's three accounts and one symbol, biased towards orders
/// near 50,000 so that books fill, cross and trigger stops, with a few that break limits.
fn random_command(rng: &mut Rng, engine: &ReferenceEngine) -> Command {
    let mut account = 1 + rng.below(3) as u32;
    let near = |rng: &mut Rng| px(49_000 + 100 * rng.below(21) as i64);
    let price = if rng.below(30) == 0 { px(60_000) } else { near(rng) };
    let qty = if rng.below(30) == 0 { 20 * UNIT } else { CENT_BTC * (1 + rng.below(4) as i64) / 2 };
    // Mostly an open order, usually with its owner as the account; sometimes one that is gone
    // or never was.
    let open = engine.open_order_ids();
    let known_order = if open.is_empty() || rng.below(8) == 0 { rng.below(100) } else { rng.pick(&open) };
    if let Some(known) = engine.orders.get(&known_order).filter(|_| rng.below(4) != 0) {
        account = known.account;
    }
    match rng.below(20) {
        0..=10 => {
            let order_type = rng.pick(OrderType::ALL);
            let tif = match (order_type, rng.below(4)) {
                (_, 0) => rng.pick(TimeInForce::ALL),
                (OrderType::MarketByQty, _) => rng.pick(&[TimeInForce::Ioc, TimeInForce::Fok]),
                (OrderType::MarketByQuote | OrderType::StopMarket, _) => TimeInForce::Ioc,
                _ => rng.pick(&[TimeInForce::Gtc, TimeInForce::Gtd, TimeInForce::Ioc, TimeInForce::Gtc]),
            };
            let side = if order_type == OrderType::MarketByQuote && rng.below(4) != 0 {
                Side::Buy
            } else {
                rng.pick(Side::ALL)
            };
            let mut c = order(account, side, order_type, tif, price, qty);
            c.stp = rng.pick(SelfTradePrevention::ALL);
            c.post_only = rng.below(4) == 0 && order_type == OrderType::Limit;
            c.client_order_id = rng.below(4);
            c.stop_price = near(rng);
            c.quote_qty = px(rng.below(3) as i64 + 1) / 100;
            c.expire_ts_ns = engine.now + rng.below(400);
            Command::NewOrder(c)
        }
        11 => Command::Cancel(Cancel { account, order_id: known_order, client_order_id: rng.below(4) }),
        12..=13 => {
            let new_qty = CENT_BTC * rng.below(5) as i64 / 2;
            // Often the order's own price, so that a smaller quantity keeps priority.
            let own_price = engine.orders.get(&known_order).map(|o| engine.symbols[&SYM].price(o.price));
            let new_price = match rng.below(3) {
                0 => own_price.unwrap_or(0),
                1 => near(rng),
                _ => rng.pick(&[0, price]),
            };
            Command::Amend(Amend { account, order_id: known_order, client_order_id: 0, new_price, new_qty })
        }
        14 => Command::MassQuote(MassQuote {
            account,
            symbol: SYM,
            bid_price: price - px(200),
            bid_qty: qty * rng.below(2) as i64,
            ask_price: price + px(200),
            ask_qty: qty * rng.below(2) as i64,
        }),
        15 => Command::CancelAll(CancelAll { account, symbol: Some(SYM), side: Some(rng.pick(Side::ALL)) }),
        16 => Command::SetAccountFeeTier { account, fee_tier: rng.below(2) as u8 },
        17 => Command::SetSymbolFees(SymbolFees {
            symbol: SYM,
            tier: 1,
            maker_fee_bps: rng.below(30) as u16,
            taker_fee_bps: rng.below(60) as u16,
        }),
        18 => deposit(account, rng.pick(&[BTC, USDT]), rng.below(UNIT as u64) as i64 - UNIT / 2, rng.below(1 << 20)),
        _ => Command::AdminCancel { order_id: known_order },
    }
}

/// Internal consistency after a command: conservation, non-negative balances, every frozen
/// balance equal to its orders' reserves, each reserve what its order needs, and no crossed
/// book.
fn assert_consistent(engine: &ReferenceEngine) {
    use crate::math::buy_reserve;
    for (asset, state) in &engine.assets {
        let held: i64 =
            engine.balances.iter().filter(|(k, _)| k.1 == *asset).map(|(_, b)| b.available + b.frozen).sum();
        assert_eq!(held + state.fees, state.supply, "asset {asset}");
    }
    for (&(account, asset), balance) in &engine.balances {
        assert!(balance.available >= 0 && balance.frozen >= 0);
        let held: i64 = engine
            .orders
            .values()
            .filter(|o| o.account == account && engine.reserve_asset(o.symbol, o.side) == asset)
            .map(|o| o.frozen)
            .sum();
        assert_eq!(held, balance.frozen, "account {account} asset {asset}");
    }
    for order in engine.orders.values() {
        assert_ne!(order.place, super::Place::Taking);
        let symbol = &engine.symbols[&order.symbol];
        let needed = match order.side {
            Side::Buy => buy_reserve(order.reserve_ticks, order.remaining, symbol.k, order.reserve_bps).unwrap(),
            Side::Sell => symbol.qty(order.remaining),
        };
        assert_eq!(order.frozen, needed, "order {order:?}");
    }
    for symbol in engine.symbols.values() {
        if let (Some(bid), Some(ask)) = (symbol.best(Side::Buy), symbol.best(Side::Sell)) {
            assert!(bid < ask, "crossed book");
        }
        assert!(symbol.book(Side::Buy).len() <= engine.config.max_levels_per_side as usize);
        assert!(symbol.book(Side::Sell).len() <= engine.config.max_levels_per_side as usize);
    }
    assert!(engine.gtd.iter().all(|(_, id)| engine.orders.contains_key(id)));
}

#[test]
fn random_flow_keeps_the_books_consistent() {
    let config = EngineConfig {
        max_orders: 24,
        max_levels_per_side: 4,
        max_stops_per_side: 3,
        default_max_open_orders: 10,
        ..EngineConfig::default()
    };
    let mut kinds = std::collections::HashMap::new();
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut h = Harness::with_config(config, 50_000);
        for _ in 0..3_000 {
            let command = random_command(&mut rng, &h.engine);
            let ts = h.ts + rng.below(40);
            for event in h.run_at(ts, command) {
                let name = shape(&[event])[0].split('(').next().unwrap().to_string();
                *kinds.entry(name).or_insert(0u32) += 1;
            }
            assert_consistent(&h.engine);
        }
    }
    // The flow reaches every path worth checking.
    for kind in ["Trade", "Stop", "Amended", "Cancelled", "Rejected", "Accepted"] {
        assert!(kinds.get(kind).copied().unwrap_or(0) > 50, "{kind}: {kinds:?}");
    }
}
