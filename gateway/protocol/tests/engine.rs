//! Order entry to engine commands and back, and engine events to each account's responses:
//! a trade between two accounts reaches both, with client order ids, leaves and cumulative
//! quantities; a random flow maps without error and its reports add up.

use std::collections::{BTreeMap, BTreeSet};

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator};
use cex_engine::testkit::harness::{limit, usdt, Harness, BTC_USDT, LOT};
use cex_engine::*;
use cex_gateway_protocol::codec::{self, ExecType, LiquidityIndicator, MessageDecoder};
use cex_gateway_protocol::*;

/// 0.001 BTC: ten of them at 50,000 USDT clear the symbol's 10 USDT minimum notional.
const Q: i64 = 100 * LOT;

/// What a client sends for `command`, decoded as the gateway decodes it, then stamped with
/// `account`.
fn through_the_wire(command: &Command, account: AccountId) -> Vec<Command> {
    let mut buf = [0u8; 256];
    let length = encode_order_entry(command, &mut buf).unwrap();
    let message = decode_client_message(&buf[..length]).unwrap();
    let mut commands = Vec::new();
    let count = order_entry_commands(account, &message, |command| commands.push(command)).unwrap();
    assert_eq!(count, commands.len());
    commands
}

fn order_entry_kind(command: &Command) -> bool {
    matches!(
        command,
        Command::NewOrder(_) | Command::Cancel(_) | Command::CancelAll(_) | Command::Amend(_) | Command::MassQuote(_)
    )
}

fn account_of(command: &Command) -> AccountId {
    match *command {
        Command::NewOrder(order) => order.account,
        Command::Cancel(cancel) => cancel.account,
        Command::CancelAll(cancel) => cancel.account,
        Command::Amend(amend) => amend.account,
        Command::MassQuote(quote) => quote.account,
        _ => unreachable!(),
    }
}

#[test]
fn order_entry_round_trips_through_the_wire_for_every_command_of_a_random_flow() {
    let mut flow = FlowGenerator::new(7, FlowConfig::default());
    let mut kinds = BTreeSet::new();
    for _ in 0..20_000 {
        let command = flow.next_command().command;
        if !order_entry_kind(&command) {
            let refused = encode_order_entry(&command, &mut [0u8; 256]);
            assert_eq!(refused, Err(OrderEntryError::NotOrderEntryCommand(command.kind())));
            continue;
        }
        if let Command::CancelAll(CancelAll { symbol: Some(u32::MAX), .. }) = command {
            continue; // the wire's null: "every symbol" (see cex-schema's round-trip tests)
        }
        kinds.insert(command.kind());
        assert_eq!(through_the_wire(&command, account_of(&command)), [command]);
    }
    assert_eq!(kinds.len(), 5, "{kinds:?}");
}

#[test]
fn the_session_account_is_stamped_whatever_the_client_meant() {
    let order = Command::NewOrder(limit(1, Side::Buy, usdt(50_000), 10 * Q));
    let Command::NewOrder(stamped) = through_the_wire(&order, 77)[0] else { panic!() };
    assert_eq!(stamped.account, 77);
}

#[test]
fn a_mass_quote_request_is_one_engine_mass_quote_per_entry_in_order() {
    let quotes: Vec<codec::MassQuoteRequestQuotesEntry> = (0..3)
        .map(|i| codec::MassQuoteRequestQuotesEntry { symbol: i, bid_price: 10, bid_qty: 1, ask_price: 20, ask_qty: 2 })
        .collect();
    let request = codec::MassQuoteRequest { quotes: &quotes };
    let mut buf = vec![0u8; request.encoded_length()];
    request.encode(&mut buf).unwrap();
    let message = decode_client_message(&buf).unwrap();
    let mut commands = Vec::new();
    assert_eq!(order_entry_commands(5, &message, |command| commands.push(command)), Ok(3));
    let expected: Vec<Command> = (0..3)
        .map(|symbol| {
            Command::MassQuote(MassQuote { account: 5, symbol, bid_price: 10, bid_qty: 1, ask_price: 20, ask_qty: 2 })
        })
        .collect();
    assert_eq!(commands, expected);

    let empty = codec::MassQuoteRequest { quotes: &[] };
    let mut buf = vec![0u8; empty.encoded_length()];
    empty.encode(&mut buf).unwrap();
    let message = MessageDecoder::decode(&buf).unwrap();
    let result = order_entry_commands(5, &message, |_| panic!("nothing is emitted"));
    assert_eq!(result, Err(OrderEntryError::NoQuotes));
    let refusal = order_entry_refusal(304, &result.unwrap_err());
    assert_eq!(refusal.reason, codec::SessionRejectReason::InvalidFieldValue);
}

#[test]
fn a_bad_field_emits_no_command() {
    let quote = codec::MassQuoteRequestQuotesEntry { symbol: 1, bid_price: 10, bid_qty: 1, ask_price: 20, ask_qty: 2 };
    let request = codec::MassQuoteRequest { quotes: &[quote, quote] };
    let mut buf = vec![0u8; request.encoded_length()];
    request.encode(&mut buf).unwrap();
    let message = MessageDecoder::decode(&buf).unwrap();
    let heartbeat = [0u8, 0, 203, 0, 1, 0, 2, 0];
    let not_order_entry = MessageDecoder::decode(&heartbeat).unwrap();
    assert_eq!(
        order_entry_commands(5, &not_order_entry, |_| panic!()),
        Err(OrderEntryError::NotOrderEntry { template_id: 203 })
    );
    let mut commands = 0;
    assert_eq!(order_entry_commands(5, &message, |_| commands += 1), Ok(2));
}

/// Every response of `events` for `mapper`, encoded, framed, and decoded again.
fn responses(mapper: &mut ResponseMapper, events: &[Event]) -> Vec<Response> {
    let mut out = Vec::new();
    for event in events {
        mapper.map(event, |response| out.push(response)).unwrap();
    }
    for response in &out {
        let mut buf = [0u8; MAX_RESPONSE_BYTES + FRAME_HEADER_LENGTH];
        let length = encode_frame(&mut buf, |message| response.encode(message)).unwrap();
        let frame = FrameDecoder::default().decode(&buf[..length]).unwrap().unwrap();
        let decoded = match MessageDecoder::decode(frame.message).unwrap() {
            MessageDecoder::ExecutionReport(m) => Response::Execution(m.value().unwrap()),
            MessageDecoder::TradeReport(m) => Response::Trade(m.value().unwrap()),
            MessageDecoder::BalanceUpdate(m) => Response::Balance(m.value().unwrap()),
            other => panic!("{}", other.name()),
        };
        assert_eq!(&decoded, response);
    }
    out
}

fn executions(responses: &[Response]) -> Vec<codec::ExecutionReport> {
    responses.iter().filter_map(|r| if let Response::Execution(e) = r { Some(*e) } else { None }).collect()
}

fn trade_reports(responses: &[Response]) -> Vec<codec::TradeReport> {
    responses.iter().filter_map(|r| if let Response::Trade(t) = r { Some(*t) } else { None }).collect()
}

#[test]
fn a_trade_between_two_accounts_reports_to_both_sides() {
    let mut market = Harness::with_market(2);
    let (mut seller, mut buyer) = (ResponseMapper::new(1), ResponseMapper::new(2));
    let price = usdt(50_000);

    // Account 1 rests a sell of 30 lots, client order id 11.
    let sell = NewOrder { client_order_id: 11, ..limit(1, Side::Sell, price, 30 * Q) };
    let [command] = through_the_wire(&Command::NewOrder(sell), 1)[..] else { panic!() };
    let events = market.ok(command).to_vec();
    let seller_new = executions(&responses(&mut seller, &events));
    assert!(responses(&mut buyer, &events).is_empty(), "nothing of account 1 goes to account 2");
    assert_eq!(seller_new.len(), 1);
    let new = seller_new[0];
    let maker_order = new.order_id;
    assert_eq!((new.exec_type, new.client_order_id, new.symbol), (ExecType::New, 11, Some(BTC_USDT)));
    assert_eq!((new.side, new.price, new.order_qty), (Some(codec::Side::Sell), Some(price), Some(30 * Q)));
    assert_eq!((new.leaves_qty, new.cum_qty, new.order_type), (Some(30 * Q), Some(0), Some(codec::OrderType::Limit)));
    assert_eq!((new.txid, new.last_qty, new.trade_id), (market.seq, None, None));

    // Account 2 buys 10 lots, client order id 22: one trade.
    let buy = NewOrder { client_order_id: 22, ..limit(2, Side::Buy, price, 10 * Q) };
    let [command] = through_the_wire(&Command::NewOrder(buy), 2)[..] else { panic!() };
    let events = market.ok(command).to_vec();
    let trade = market.trades()[0];
    let (for_seller, for_buyer) = (responses(&mut seller, &events), responses(&mut buyer, &events));

    let maker = executions(&for_seller);
    assert_eq!(maker.len(), 1, "the seller's order only traded");
    let fill = maker[0];
    assert_eq!((fill.exec_type, fill.order_id, fill.client_order_id), (ExecType::Trade, maker_order, 11));
    assert_eq!((fill.last_px, fill.last_qty, fill.trade_id), (Some(price), Some(10 * Q), Some(trade.trade_id)));
    assert_eq!((fill.leaves_qty, fill.cum_qty, fill.order_qty), (Some(20 * Q), Some(10 * Q), Some(30 * Q)));
    assert_eq!((fill.liquidity, fill.side), (Some(LiquidityIndicator::Maker), Some(codec::Side::Sell)));

    let taker = executions(&for_buyer);
    assert_eq!(taker.iter().map(|e| e.exec_type).collect::<Vec<_>>(), [ExecType::New, ExecType::Trade]);
    let fill = taker[1];
    assert_eq!(
        (fill.order_id, fill.client_order_id, fill.liquidity),
        (trade.taker_order_id, 22, Some(LiquidityIndicator::Taker))
    );
    assert_eq!((fill.leaves_qty, fill.cum_qty, fill.side), (Some(0), Some(10 * Q), Some(codec::Side::Buy)));

    let (maker_trade, taker_trade) = (trade_reports(&for_seller)[0], trade_reports(&for_buyer)[0]);
    assert_eq!((maker_trade.fee, maker_trade.fee_asset), (trade.maker_fee, codec::FeeAsset::Quote));
    assert_eq!((taker_trade.fee, taker_trade.fee_asset), (trade.taker_fee, codec::FeeAsset::Base));
    assert_eq!((maker_trade.notional, taker_trade.qty, taker_trade.client_order_id), (trade.notional, 10 * Q, 22));

    // Settlement: each side sees only its own balances move.
    for (mapper_account, responses) in [(1, &for_seller), (2, &for_buyer)] {
        let moved: Vec<codec::BalanceUpdate> =
            responses.iter().filter_map(|r| if let Response::Balance(b) = r { Some(*b) } else { None }).collect();
        let expected =
            events.iter().filter(|e| matches!(e.body, EventBody::BalanceChanged(b) if b.account == mapper_account));
        assert_eq!(moved.len(), expected.count(), "account {mapper_account}");
        assert!(!moved.is_empty());
    }
    assert_eq!(buyer.tracked_orders(), 0, "the filled order is forgotten");
    assert_eq!(seller.tracked_orders(), 1);

    // The seller cancels the rest by client order id.
    let cancel = Command::Cancel(Cancel { account: 1, order_id: 0, client_order_id: 11 });
    let [command] = through_the_wire(&cancel, 1)[..] else { panic!() };
    let events = market.ok(command).to_vec();
    let cancelled = executions(&responses(&mut seller, &events))[0];
    assert_eq!(
        (cancelled.exec_type, cancelled.client_order_id, cancelled.leaves_qty),
        (ExecType::Canceled, 11, Some(0))
    );
    assert_eq!((cancelled.canceled_qty, cancelled.cum_qty), (Some(20 * Q), Some(10 * Q)));
    assert_eq!(cancelled.cancel_reason, Some(codec::CancelReason::User));
    assert_eq!(seller.tracked_orders(), 0);

    // A second cancel is refused with the engine's reason code.
    let events = market.apply(command).to_vec();
    let rejected = executions(&responses(&mut seller, &events))[0];
    assert_eq!((rejected.exec_type, rejected.client_order_id, rejected.order_id), (ExecType::Rejected, 11, 0));
    assert_eq!(rejected.reject_reason, Some(codec::RejectReason::UnknownOrder));
    assert_eq!(rejected.reject_reason.map(codec::RejectReason::raw), Some(RejectReason::UnknownOrder.code()));
    assert_eq!(rejected.rejected_command, Some(codec::CommandKind::Cancel));
    assert_eq!((rejected.symbol, rejected.side), (None, None));
}

#[test]
fn a_self_trade_reports_both_sides_to_the_one_account() {
    let mut market = Harness::with_market(1);
    let mut mapper = ResponseMapper::new(1);
    let price = usdt(50_000);
    let events =
        market.ok(Command::NewOrder(NewOrder { client_order_id: 1, ..limit(1, Side::Sell, price, 10 * Q) })).to_vec();
    responses(&mut mapper, &events);
    let events =
        market.ok(Command::NewOrder(NewOrder { client_order_id: 2, ..limit(1, Side::Buy, price, 10 * Q) })).to_vec();
    let fills: Vec<(u64, Option<LiquidityIndicator>)> = executions(&responses(&mut mapper, &events))
        .iter()
        .filter(|e| e.exec_type == ExecType::Trade)
        .map(|e| (e.client_order_id, e.liquidity))
        .collect();
    assert_eq!(fills, [(1, Some(LiquidityIndicator::Maker)), (2, Some(LiquidityIndicator::Taker))]);
    assert_eq!(mapper.tracked_orders(), 0);
}

#[test]
fn an_amend_reports_the_new_price_and_quantity() {
    let mut market = Harness::with_market(1);
    let mut mapper = ResponseMapper::new(1);
    let events = market
        .ok(Command::NewOrder(NewOrder { client_order_id: 5, ..limit(1, Side::Buy, usdt(49_000), 10 * Q) }))
        .to_vec();
    let order_id = executions(&responses(&mut mapper, &events))[0].order_id;
    let amend = Amend { account: 1, order_id, client_order_id: 0, new_price: usdt(49_000), new_qty: 8 * Q };
    let events = market.ok(Command::Amend(amend)).to_vec();
    let replaced = executions(&responses(&mut mapper, &events))[0];
    assert_eq!(
        (replaced.exec_type, replaced.client_order_id, replaced.price),
        (ExecType::Replaced, 5, Some(usdt(49_000)))
    );
    assert_eq!((replaced.order_qty, replaced.leaves_qty, replaced.cum_qty), (Some(8 * Q), Some(8 * Q), Some(0)));
    assert_eq!(replaced.priority_kept, Some(codec::BooleanType::True));
}

#[test]
fn a_mapper_started_late_reports_what_the_events_carry() {
    let mut market = Harness::with_market(2);
    let price = usdt(50_000);
    market.ok(Command::NewOrder(NewOrder { client_order_id: 9, ..limit(1, Side::Sell, price, 10 * Q) }));
    let events = market.ok(Command::NewOrder(limit(2, Side::Buy, price, 4 * Q))).to_vec();
    let mut late = ResponseMapper::new(1);
    let fill = executions(&responses(&mut late, &events))[0];
    assert_eq!((fill.client_order_id, fill.order_qty, fill.cum_qty, fill.leaves_qty), (0, None, None, Some(6 * Q)));
    assert_eq!(late.tracked_orders(), 0);
}

/// A long random flow: every event maps for every account without error; each trade gives one
/// maker and one taker report across the accounts; per order, fills add up to `cumQty`; and
/// the mappers remember exactly the engine's open orders, forgetting each as it closes.
#[test]
fn a_random_flow_maps_and_its_reports_add_up() {
    let config = FlowConfig { tight_capacities: true, ..FlowConfig::default() };
    let mut flow = FlowGenerator::new(3, config);
    let mut engine = Engine::new(flow.engine_config());
    let mut mappers: BTreeMap<AccountId, ResponseMapper> = BTreeMap::new();
    let mut events = Vec::new();
    let (mut trades, mut fills, mut exec_types) = (0usize, 0usize, BTreeSet::new());
    let mut filled: BTreeMap<OrderId, i64> = BTreeMap::new();
    for envelope in flow.setup() {
        events.clear();
        engine.apply(&envelope, &mut events);
        for event in &events {
            if let EventBody::AccountCreated { account, .. } = event.body {
                mappers.insert(account, ResponseMapper::new(account));
            }
        }
    }
    for step in 0..30_000 {
        let envelope = flow.next_command();
        events.clear();
        engine.apply(&envelope, &mut events);
        flow.observe(&events);
        trades += events.iter().filter(|e| matches!(e.body, EventBody::Trade(_))).count();
        for mapper in mappers.values_mut() {
            for event in &events {
                mapper
                    .map(event, |response| {
                        if let Response::Execution(report) = response {
                            exec_types.insert(report.exec_type);
                            if report.exec_type == ExecType::Trade {
                                fills += 1;
                                let total = filled.entry(report.order_id).or_default();
                                *total += report.last_qty.unwrap();
                                if let Some(cum) = report.cum_qty {
                                    assert_eq!(cum, *total, "order {}", report.order_id);
                                }
                            }
                        }
                    })
                    .unwrap();
            }
        }
        if step % 1_000 == 0 {
            let tracked: usize = mappers.values().map(ResponseMapper::tracked_orders).sum();
            assert_eq!(tracked, engine.open_orders(), "the mappers remember exactly the open orders");
        }
    }
    assert!(trades > 1_000, "{trades} trades");
    assert_eq!(fills, 2 * trades, "a maker and a taker report per trade");
    assert_eq!(exec_types.len(), 6, "every exec type: {exec_types:?}");
    let tracked: usize = mappers.values().map(ResponseMapper::tracked_orders).sum();
    assert_eq!(tracked, engine.open_orders());
}

#[test]
fn public_trades_become_trade_ticks() {
    let mut market = Harness::with_market(2);
    market.ok(Command::NewOrder(limit(1, Side::Sell, usdt(50_000), 10 * Q)));
    let events = market.ok(Command::NewOrder(limit(2, Side::Buy, usdt(50_000), 10 * Q))).to_vec();
    let ticks: Vec<codec::TradeTick> = events.iter().filter_map(|e| trade_tick(e).unwrap()).collect();
    let trade = market.trades()[0];
    let expected = codec::TradeTick {
        txid: market.seq,
        trade_id: trade.trade_id,
        symbol: BTC_USDT,
        price: usdt(50_000),
        qty: 10 * Q,
        taker_side: codec::Side::Buy,
    };
    assert_eq!(ticks, [expected]);
}
