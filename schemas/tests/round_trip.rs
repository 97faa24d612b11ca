//! decode(encode(x)) == x: for every command and event of a long random flow through the
//! engine, for hand-picked values of every kind, and for every value of every enum.

mod common;

use std::collections::BTreeSet;

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator};
use cex_engine::*;
use cex_schema::{codec, decode_command, decode_event, encode_command, encode_event, EncodeError, MAX_MESSAGE_BYTES};

/// Round-trips `command`; returns its template id.
fn command_round_trip(command: &Command) -> u16 {
    let mut buf = [0u8; MAX_MESSAGE_BYTES];
    let length = encode_command(command, &mut buf).unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert_eq!(decode_command(&buf[..length]), Ok(*command));
    template_id(&buf)
}

/// Round-trips `event`; returns its template id.
fn event_round_trip(event: &Event) -> u16 {
    let mut buf = [0u8; MAX_MESSAGE_BYTES];
    let length = encode_event(event, &mut buf).unwrap_or_else(|e| panic!("{event:?}: {e}"));
    assert_eq!(decode_event(&buf[..length]), Ok(*event));
    template_id(&buf)
}

fn template_id(message: &[u8]) -> u16 {
    codec::read_header(message).unwrap().template_id
}

/// What a flow run reached.
#[derive(Default)]
struct Reached {
    commands: usize,
    events: usize,
    templates: BTreeSet<u16>,
    kinds: BTreeSet<CommandKind>,
    bodies: BTreeSet<String>,
    unencodable: usize,
}

/// The flow's bad input includes `CancelAll` on symbol `u32::MAX`, which the engine rejects as
/// unknown. On the wire that value means "every symbol", so the encoder refuses it (see
/// `a_symbol_equal_to_the_null_value_is_refused_rather_than_read_back_as_none`).
fn is_unencodable(command: &Command) -> bool {
    let Command::CancelAll(cancel_all) = command else { return false };
    if cancel_all.symbol != Some(u32::MAX) {
        return false;
    }
    let result = encode_command(command, &mut [0u8; MAX_MESSAGE_BYTES]);
    assert_eq!(result, Err(EncodeError::ReservedNull { field: "CancelAll.symbol" }));
    true
}

impl Reached {
    fn apply(&mut self, engine: &mut Engine, envelope: &CommandEnvelope, events: &mut Vec<Event>) {
        events.clear();
        engine.apply(envelope, events);
        if is_unencodable(&envelope.command) {
            self.unencodable += 1;
        } else {
            self.templates.insert(command_round_trip(&envelope.command));
        }
        self.kinds.insert(envelope.command.kind());
        for event in events.iter() {
            self.templates.insert(event_round_trip(event));
            self.bodies.insert(format!("{:?}", std::mem::discriminant(&event.body)));
        }
        self.commands += 1;
        self.events += events.len();
    }
}

#[test]
fn every_command_and_event_of_a_random_flow_round_trips() {
    let config = FlowConfig { tight_capacities: true, clock_faults_pct: 2, ..FlowConfig::default() };
    let mut reached = Reached::default();
    for seed in 0..3 {
        let mut flow = FlowGenerator::new(seed, config.clone());
        let mut engine = Engine::new(flow.engine_config());
        let mut events = Vec::new();
        for envelope in flow.setup() {
            reached.apply(&mut engine, &envelope, &mut events);
        }
        for _ in 0..17_000 {
            let envelope = flow.next_command();
            reached.apply(&mut engine, &envelope, &mut events);
            flow.observe(&events);
        }
    }
    assert!(
        reached.commands > 50_000 && reached.events > 50_000,
        "{} commands, {} events",
        reached.commands,
        reached.events
    );
    assert!(reached.unencodable < reached.commands / 1_000, "{} unencodable", reached.unencodable);
    assert_eq!(reached.kinds.len(), CommandKind::ALL.len(), "command kinds reached: {:?}", reached.kinds);
    assert_eq!(reached.bodies.len(), 15, "event kinds reached: {}", reached.bodies.len());
    let journal = codec::MESSAGES.iter().filter(|m| m.template_id <= *cex_schema::templates::EVENTS.end());
    let all: BTreeSet<u16> = journal.map(|m| m.template_id).collect();
    assert_eq!(reached.templates, all, "every command and event message of the schema is exercised");
}

#[test]
fn one_of_every_kind_round_trips() {
    common::commands().iter().for_each(|command| _ = command_round_trip(command));
    common::events().iter().for_each(|event| _ = event_round_trip(event));
}

#[test]
fn every_enum_value_round_trips() {
    let order = common::new_order();
    for &order_type in OrderType::ALL {
        for &time_in_force in TimeInForce::ALL {
            for &stp in SelfTradePrevention::ALL {
                for (&side, post_only) in Side::ALL.iter().flat_map(|side| [(side, false), (side, true)]) {
                    let order = NewOrder { side, order_type, time_in_force, stp, post_only, ..order };
                    command_round_trip(&Command::NewOrder(order));
                }
            }
        }
    }
    for &reason in RejectReason::ALL {
        for &command in CommandKind::ALL {
            let rejected = Rejected { command, account: 1, order_id: 2, client_order_id: 3, reason };
            event_round_trip(&Event { txid: 4, body: EventBody::Rejected(rejected) });
        }
    }
    for &reason in CancelReason::ALL {
        let cancelled = OrderCancelled { order_id: 1, account: 2, symbol: 3, side: Side::Buy, remaining: 4, reason };
        event_round_trip(&Event { txid: 5, body: EventBody::OrderCancelled(cancelled) });
    }
    for &cause in BalanceCause::ALL {
        let change = BalanceChanged { cause, ..balance_change() };
        event_round_trip(&Event { txid: 6, body: EventBody::BalanceChanged(change) });
    }
    for (&old, &new) in SymbolStatus::ALL.iter().zip(SymbolStatus::ALL.iter().rev()) {
        command_round_trip(&Command::SetSymbolStatus { symbol: 1, status: new });
        event_round_trip(&Event { txid: 7, body: EventBody::SymbolStatusChanged { symbol: 1, old, new } });
    }
    for (&old, &new) in AccountStatus::ALL.iter().zip(AccountStatus::ALL.iter().rev()) {
        command_round_trip(&Command::SetAccountStatus { account: 1, status: new });
        event_round_trip(&Event { txid: 8, body: EventBody::AccountStatusChanged { account: 1, old, new } });
    }
}

fn balance_change() -> BalanceChanged {
    BalanceChanged {
        account: 1,
        asset: 2,
        cause: BalanceCause::Deposit,
        reference: 3,
        available_before: 4,
        frozen_before: 5,
        available_after: 6,
        frozen_after: 7,
    }
}

#[test]
fn cancel_all_filters_round_trip_in_every_combination() {
    for symbol in [None, Some(0), Some(u32::MAX - 1)] {
        for side in [None, Some(Side::Buy), Some(Side::Sell)] {
            command_round_trip(&Command::CancelAll(CancelAll { account: u32::MAX, symbol, side }));
        }
    }
}

#[test]
fn a_symbol_equal_to_the_null_value_is_refused_rather_than_read_back_as_none() {
    let command = Command::CancelAll(CancelAll { account: 1, symbol: Some(u32::MAX), side: None });
    let result = encode_command(&command, &mut [0u8; MAX_MESSAGE_BYTES]);
    assert_eq!(result, Err(EncodeError::ReservedNull { field: "CancelAll.symbol" }));
}

#[test]
fn extreme_values_round_trip() {
    let order = NewOrder {
        account: u32::MAX,
        symbol: u32::MAX,
        client_order_id: u64::MAX,
        price: i64::MIN,
        qty: i64::MAX,
        quote_qty: -1,
        stop_price: i64::MIN,
        expire_ts_ns: u64::MAX,
        ..common::new_order()
    };
    command_round_trip(&Command::NewOrder(order));
    let change = BalanceChanged { available_before: i64::MIN, frozen_after: i64::MAX, ..balance_change() };
    event_round_trip(&Event { txid: u64::MAX, body: EventBody::BalanceChanged(change) });
}

#[test]
fn a_buffer_one_byte_short_is_refused_and_the_exact_length_suffices() {
    let mut buf = [0u8; MAX_MESSAGE_BYTES];
    for command in common::commands() {
        let length = encode_command(&command, &mut buf).unwrap();
        let short = encode_command(&command, &mut buf[..length - 1]);
        assert_eq!(short, Err(EncodeError::BufferTooSmall { needed: length, available: length - 1 }));
        assert_eq!(encode_command(&command, &mut buf[..length]), Ok(length));
    }
    for event in common::events() {
        let length = encode_event(&event, &mut buf).unwrap();
        let short = encode_event(&event, &mut buf[..length - 1]);
        assert_eq!(short, Err(EncodeError::BufferTooSmall { needed: length, available: length - 1 }));
    }
}

#[test]
fn max_message_bytes_is_the_longest_command_or_event() {
    let journal = codec::MESSAGES.iter().filter(|m| m.template_id <= *cex_schema::templates::EVENTS.end());
    assert!(journal.clone().all(|m| m.fixed));
    let longest = journal.map(|m| codec::HEADER_LENGTH + m.block_length).max();
    assert_eq!(Some(MAX_MESSAGE_BYTES), longest);
    assert_eq!(MAX_MESSAGE_BYTES, codec::HEADER_LENGTH + codec::Trade::BLOCK_LENGTH);
    assert_eq!(MAX_MESSAGE_BYTES, 109, "the journals size their records by it");
}
