//! Renders engine events into the seed document's `EntityEvent` form: entity, operation and
//! field-level old/new values, with `transaction_id` = the command's sequence. This runs
//! downstream of the engine, off the hot path, and allocates freely.
//!
//! Event ids are sequential, starting at 1 (or wherever `with_next_event_id` says), one per
//! `EntityEvent`. Each `EntityEvent` holds one record. The mapping:
//!
//! - `OrderAccepted` → `Order` Create with every field (old `None`). `status` is `Monitoring`
//!   for stops and `New` otherwise; `remaining` is `qty`, or the budget of a `MarketByQuote`.
//! - `Trade` → `Trade` Create (entity id = trade id), then an `Order` Update for the maker and
//!   one for the taker: `remaining` old = remaining plus qty (plus the notional for a
//!   `MarketByQuote` taker), new = remaining; `status` new `PartiallyFilled` or `Filled`.
//! - `OrderCancelled` → `Order` Delete: `account`, `symbol`, `side` and `remaining` with old
//!   `Some` and new `None`, plus `cancel_reason` with old `None` and new the reason.
//! - `OrderAmended` → `Order` Update: `price`, `qty`.
//! - `StopTriggered` → `Order` Update: `status` `Monitoring` → `Triggered`.
//! - `BalanceChanged` → `Balance` Update, entity id `account << 16 | asset`: `available`,
//!   `frozen`, plus `cause` and `reference` as new-only annotations.
//! - `Rejected` → `CommandRejection` Create, entity id = its own event id (a mass quote can be
//!   refused twice in one transaction): `command`, `account`, `order_id`, `client_order_id`,
//!   `reason_code`, `reason`.
//! - `AssetAdded` → `Asset` Create: `scale`.
//! - `SymbolAdded` → `Symbol` Create: the whole spec, and `status` `Trading`.
//! - `SymbolStatusChanged` → `Symbol` Update: `status`.
//! - `SymbolFeesChanged` → `SymbolFees` Update, entity id `symbol << 8 | tier`:
//!   `maker_fee_bps`, `taker_fee_bps`.
//! - `TierLimitsChanged` → `TierLimits` Update, entity id = tier: `max_open_orders`.
//! - `AccountCreated` → `Account` Create: `fee_tier`, and `status` `Active`.
//! - `AccountStatusChanged`, `AccountFeeTierChanged` → `Account` Update: `status`, `fee_tier`.
//!
//! An Update carries only the fields whose value changed. Enums render as their variant
//! names (`FieldValue::Text`); `post_only` renders as 0 or 1.
//!
//! The engine's events alone do not say what an order's status was before a fill, so a fill's
//! `status` change has old `None`; nor when a balance record is created, so its first change
//! is an Update too. A `Trade` does not say whether its taker is a market order
//! by quote amount either; the renderer remembers the last such `OrderAccepted` of the
//! current transaction, which always precedes that taker's trades. Render every event of a
//! transaction, in order, for this to hold.

use crate::command::SymbolSpec;
use crate::event::*;
use crate::types::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityEvent {
    pub event_id: u64,
    pub transaction_id: u64,
    pub entity_name: &'static str,
    pub operation: EventOperation,
    pub changes: Vec<RecordChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EventOperation {
    Create = 1,
    Update = 2,
    Delete = 3,
}

impl EventOperation {
    pub fn name(self) -> &'static str {
        match self {
            EventOperation::Create => "Create",
            EventOperation::Update => "Update",
            EventOperation::Delete => "Delete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordChange {
    pub entity_id: u64,
    pub field_changes: Vec<FieldChange>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field_name: &'static str,
    pub old_value: Option<FieldValue>,
    pub new_value: Option<FieldValue>,
}

impl FieldChange {
    pub fn created(field_name: &'static str, value: FieldValue) -> Self {
        FieldChange { field_name, old_value: None, new_value: Some(value) }
    }

    pub fn updated(field_name: &'static str, old: FieldValue, new: FieldValue) -> Self {
        FieldChange { field_name, old_value: Some(old), new_value: Some(new) }
    }

    pub fn deleted(field_name: &'static str, value: FieldValue) -> Self {
        FieldChange { field_name, old_value: Some(value), new_value: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue {
    I64(i64),
    U64(u64),
    /// An enum's variant name, such as `Side::name()`.
    Text(&'static str),
}

/// Turns engine events into `EntityEvent`s, numbering them.
#[derive(Debug, Clone)]
pub struct Renderer {
    next_event_id: u64,
    /// `(txid, order id)` of the last `MarketByQuote` order accepted: its trades' taker
    /// remaining is a quote budget, not a base quantity.
    quote_taker: Option<(u64, OrderId)>,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

/// One entity event before it gets its event id.
struct Draft {
    entity_name: &'static str,
    operation: EventOperation,
    record: RecordChange,
}

fn draft(
    entity_name: &'static str,
    operation: EventOperation,
    entity_id: u64,
    field_changes: Vec<FieldChange>,
) -> Draft {
    Draft { entity_name, operation, record: RecordChange { entity_id, field_changes } }
}

impl Renderer {
    pub fn new() -> Self {
        Renderer::with_next_event_id(1)
    }

    /// Continues a numbering, for example after a restart.
    pub fn with_next_event_id(next_event_id: u64) -> Self {
        Renderer { next_event_id, quote_taker: None }
    }

    /// The id the next `EntityEvent` will get.
    pub fn next_event_id(&self) -> u64 {
        self.next_event_id
    }

    pub fn render(&mut self, event: &Event) -> Vec<EntityEvent> {
        self.drafts(event)
            .into_iter()
            .map(|draft| {
                let event_id = self.next_event_id;
                self.next_event_id += 1;
                EntityEvent {
                    event_id,
                    transaction_id: event.txid,
                    entity_name: draft.entity_name,
                    operation: draft.operation,
                    changes: vec![draft.record],
                }
            })
            .collect()
    }

    fn drafts(&mut self, event: &Event) -> Vec<Draft> {
        let single = match event.body {
            EventBody::OrderAccepted(accepted) => {
                if accepted.order_type == OrderType::MarketByQuote {
                    self.quote_taker = Some((event.txid, accepted.order_id));
                }
                order_created(&accepted)
            }
            EventBody::Trade(trade) => {
                let by_quote = self.quote_taker == Some((event.txid, trade.taker_order_id));
                return trade_drafts(&trade, by_quote);
            }
            EventBody::Rejected(rejected) => rejection(&rejected, self.next_event_id),
            EventBody::OrderCancelled(cancelled) => order_deleted(&cancelled),
            EventBody::OrderAmended(amended) => order_amended(&amended),
            EventBody::StopTriggered(triggered) => stop_triggered(&triggered),
            EventBody::BalanceChanged(change) => balance_updated(&change),
            EventBody::AssetAdded { asset, scale } => asset_created(asset, scale),
            EventBody::SymbolAdded(spec) => symbol_created(&spec),
            EventBody::SymbolStatusChanged { symbol, old, new } => {
                let fields = changed("status", text(old.name()), text(new.name()));
                draft("Symbol", EventOperation::Update, symbol as u64, fields)
            }
            EventBody::SymbolFeesChanged(fees) => symbol_fees_updated(&fees),
            EventBody::TierLimitsChanged { tier, old_max_open_orders, new_max_open_orders } => {
                let (old, new) = (uint(old_max_open_orders as u64), uint(new_max_open_orders as u64));
                let fields = changed("max_open_orders", old, new);
                draft("TierLimits", EventOperation::Update, tier as u64, fields)
            }
            EventBody::AccountCreated { account, fee_tier } => account_created(account, fee_tier),
            EventBody::AccountStatusChanged { account, old, new } => {
                let fields = changed("status", text(old.name()), text(new.name()));
                draft("Account", EventOperation::Update, account as u64, fields)
            }
            EventBody::AccountFeeTierChanged { account, old, new } => {
                let fields = changed("fee_tier", uint(old as u64), uint(new as u64));
                draft("Account", EventOperation::Update, account as u64, fields)
            }
        };
        vec![single]
    }
}

fn text(value: &'static str) -> FieldValue {
    FieldValue::Text(value)
}

fn int(value: i64) -> FieldValue {
    FieldValue::I64(value)
}

fn uint(value: u64) -> FieldValue {
    FieldValue::U64(value)
}

/// Pushes an update of `name` only when the value changed.
fn push_changed(fields: &mut Vec<FieldChange>, name: &'static str, old: FieldValue, new: FieldValue) {
    if old != new {
        fields.push(FieldChange::updated(name, old, new));
    }
}

/// A single-field update, empty when the value did not change.
fn changed(name: &'static str, old: FieldValue, new: FieldValue) -> Vec<FieldChange> {
    let mut fields = Vec::with_capacity(1);
    push_changed(&mut fields, name, old, new);
    fields
}

fn order_created(accepted: &OrderAccepted) -> Draft {
    let by_quote = accepted.order_type == OrderType::MarketByQuote;
    let remaining = if by_quote { accepted.quote_qty } else { accepted.qty };
    let status = if accepted.order_type.is_stop() { "Monitoring" } else { "New" };
    let fields = [
        ("account", uint(accepted.account as u64)),
        ("symbol", uint(accepted.symbol as u64)),
        ("client_order_id", uint(accepted.client_order_id)),
        ("side", text(accepted.side.name())),
        ("order_type", text(accepted.order_type.name())),
        ("time_in_force", text(accepted.time_in_force.name())),
        ("price", int(accepted.price)),
        ("qty", int(accepted.qty)),
        ("quote_qty", int(accepted.quote_qty)),
        ("stop_price", int(accepted.stop_price)),
        ("expire_ts_ns", uint(accepted.expire_ts_ns)),
        ("post_only", uint(accepted.post_only as u64)),
        ("stp", text(accepted.stp.name())),
        ("frozen", int(accepted.frozen)),
        ("remaining", int(remaining)),
        ("status", text(status)),
    ];
    let fields = fields.into_iter().map(|(name, value)| FieldChange::created(name, value));
    draft("Order", EventOperation::Create, accepted.order_id, fields.collect())
}

fn trade_drafts(trade: &Trade, taker_by_quote: bool) -> Vec<Draft> {
    let fields = [
        ("symbol", uint(trade.symbol as u64)),
        ("price", int(trade.price)),
        ("qty", int(trade.qty)),
        ("notional", int(trade.notional)),
        ("taker_side", text(trade.taker_side.name())),
        ("maker_order_id", uint(trade.maker_order_id)),
        ("taker_order_id", uint(trade.taker_order_id)),
        ("maker_account", uint(trade.maker_account as u64)),
        ("taker_account", uint(trade.taker_account as u64)),
        ("maker_fee", int(trade.maker_fee)),
        ("taker_fee", int(trade.taker_fee)),
    ];
    let fields = fields.into_iter().map(|(name, value)| FieldChange::created(name, value));
    let taker_used = if taker_by_quote { trade.notional } else { trade.qty };
    vec![
        draft("Trade", EventOperation::Create, trade.trade_id, fields.collect()),
        order_filled(trade.maker_order_id, trade.maker_remaining, trade.qty),
        order_filled(trade.taker_order_id, trade.taker_remaining, taker_used),
    ]
}

/// An order's update after a fill that used `used` of what it had left.
fn order_filled(order_id: OrderId, remaining: i64, used: i64) -> Draft {
    let status = if remaining == 0 { "Filled" } else { "PartiallyFilled" };
    let mut fields = Vec::with_capacity(2);
    push_changed(&mut fields, "remaining", int(remaining + used), int(remaining));
    fields.push(FieldChange::created("status", text(status)));
    draft("Order", EventOperation::Update, order_id, fields)
}

fn order_deleted(cancelled: &OrderCancelled) -> Draft {
    let fields = vec![
        FieldChange::deleted("account", uint(cancelled.account as u64)),
        FieldChange::deleted("symbol", uint(cancelled.symbol as u64)),
        FieldChange::deleted("side", text(cancelled.side.name())),
        FieldChange::deleted("remaining", int(cancelled.remaining)),
        FieldChange::created("cancel_reason", text(cancelled.reason.name())),
    ];
    draft("Order", EventOperation::Delete, cancelled.order_id, fields)
}

fn stop_triggered(triggered: &StopTriggered) -> Draft {
    let fields = vec![FieldChange::updated("status", text("Monitoring"), text("Triggered"))];
    draft("Order", EventOperation::Update, triggered.order_id, fields)
}

fn order_amended(amended: &OrderAmended) -> Draft {
    let mut fields = Vec::with_capacity(2);
    push_changed(&mut fields, "price", int(amended.old_price), int(amended.new_price));
    push_changed(&mut fields, "qty", int(amended.old_qty), int(amended.new_qty));
    draft("Order", EventOperation::Update, amended.order_id, fields)
}

/// The entity id of an (account, asset) balance record.
pub fn balance_entity_id(account: AccountId, asset: AssetId) -> u64 {
    (account as u64) << 16 | asset as u64
}

/// The entity id of a symbol's fees for one tier.
pub fn symbol_fees_entity_id(symbol: SymbolId, tier: u8) -> u64 {
    (symbol as u64) << 8 | tier as u64
}

fn balance_updated(change: &BalanceChanged) -> Draft {
    let mut fields = Vec::with_capacity(4);
    let available = (int(change.available_before), int(change.available_after));
    push_changed(&mut fields, "available", available.0, available.1);
    push_changed(&mut fields, "frozen", int(change.frozen_before), int(change.frozen_after));
    fields.push(FieldChange::created("cause", text(change.cause.name())));
    fields.push(FieldChange::created("reference", uint(change.reference)));
    let entity_id = balance_entity_id(change.account, change.asset);
    draft("Balance", EventOperation::Update, entity_id, fields)
}

fn rejection(rejected: &Rejected, event_id: u64) -> Draft {
    let fields = [
        ("command", text(rejected.command.name())),
        ("account", uint(rejected.account as u64)),
        ("order_id", uint(rejected.order_id)),
        ("client_order_id", uint(rejected.client_order_id)),
        ("reason_code", uint(rejected.reason.code() as u64)),
        ("reason", text(rejected.reason.name())),
    ];
    let fields = fields.into_iter().map(|(name, value)| FieldChange::created(name, value));
    draft("CommandRejection", EventOperation::Create, event_id, fields.collect())
}

fn asset_created(asset: AssetId, scale: u8) -> Draft {
    let fields = vec![FieldChange::created("scale", uint(scale as u64))];
    draft("Asset", EventOperation::Create, asset as u64, fields)
}

fn account_created(account: AccountId, fee_tier: u8) -> Draft {
    let fields = vec![
        FieldChange::created("fee_tier", uint(fee_tier as u64)),
        FieldChange::created("status", text(AccountStatus::Active.name())),
    ];
    draft("Account", EventOperation::Create, account as u64, fields)
}

fn symbol_created(spec: &SymbolSpec) -> Draft {
    let fields = [
        ("base", uint(spec.base as u64)),
        ("quote", uint(spec.quote as u64)),
        ("tick_size", int(spec.tick_size)),
        ("lot_size", int(spec.lot_size)),
        ("min_qty", int(spec.min_qty)),
        ("max_qty", int(spec.max_qty)),
        ("min_notional", int(spec.min_notional)),
        ("price_band_bps", uint(spec.price_band_bps as u64)),
        ("reference_price", int(spec.reference_price)),
        ("maker_fee_bps", uint(spec.maker_fee_bps as u64)),
        ("taker_fee_bps", uint(spec.taker_fee_bps as u64)),
        ("status", text(SymbolStatus::Trading.name())),
    ];
    let fields = fields.into_iter().map(|(name, value)| FieldChange::created(name, value));
    draft("Symbol", EventOperation::Create, spec.symbol as u64, fields.collect())
}

fn symbol_fees_updated(fees: &SymbolFeesChanged) -> Draft {
    let mut fields = Vec::with_capacity(2);
    let maker = (uint(fees.old_maker_fee_bps as u64), uint(fees.new_maker_fee_bps as u64));
    let taker = (uint(fees.old_taker_fee_bps as u64), uint(fees.new_taker_fee_bps as u64));
    push_changed(&mut fields, "maker_fee_bps", maker.0, maker.1);
    push_changed(&mut fields, "taker_fee_bps", taker.0, taker.1);
    let entity_id = symbol_fees_entity_id(fees.symbol, fees.tier);
    draft("SymbolFees", EventOperation::Update, entity_id, fields)
}

impl EntityEvent {
    /// `{"event_id":1,"transaction_id":7,"entity_name":"Order","operation":"Create",
    /// "changes":[{"entity_id":3,"field_changes":[{"field_name":"price","old_value":null,
    /// "new_value":500}]}]}`, with no whitespace.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(128 + 64 * self.changes.len());
        out.push_str("{\"event_id\":");
        out.push_str(&self.event_id.to_string());
        out.push_str(",\"transaction_id\":");
        out.push_str(&self.transaction_id.to_string());
        out.push_str(",\"entity_name\":");
        push_json_string(&mut out, self.entity_name);
        out.push_str(",\"operation\":");
        push_json_string(&mut out, self.operation.name());
        out.push_str(",\"changes\":[");
        for (index, record) in self.changes.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            push_record_json(&mut out, record);
        }
        out.push_str("]}");
        out
    }
}

fn push_record_json(out: &mut String, record: &RecordChange) {
    out.push_str("{\"entity_id\":");
    out.push_str(&record.entity_id.to_string());
    out.push_str(",\"field_changes\":[");
    for (index, change) in record.field_changes.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str("{\"field_name\":");
        push_json_string(out, change.field_name);
        out.push_str(",\"old_value\":");
        push_value_json(out, change.old_value);
        out.push_str(",\"new_value\":");
        push_value_json(out, change.new_value);
        out.push('}');
    }
    out.push_str("]}");
}

fn push_value_json(out: &mut String, value: Option<FieldValue>) {
    match value {
        None => out.push_str("null"),
        Some(FieldValue::I64(number)) => out.push_str(&number.to_string()),
        Some(FieldValue::U64(number)) => out.push_str(&number.to_string()),
        Some(FieldValue::Text(text)) => push_json_string(out, text),
    }
}

/// Writes `text` as a JSON string literal (RFC 8259 escaping).
pub fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ch if (ch as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", ch as u32)),
            ch => out.push(ch),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reject::RejectReason;

    fn trade() -> Trade {
        Trade {
            trade_id: 9,
            symbol: 2,
            price: 5_000_000,
            qty: 3_000,
            notional: 150_000,
            taker_side: Side::Buy,
            maker_order_id: 4,
            taker_order_id: 7,
            maker_account: 1,
            taker_account: 3,
            maker_fee: 15,
            taker_fee: 3,
            maker_remaining: 2_000,
            taker_remaining: 0,
        }
    }

    fn field<'a>(event: &'a EntityEvent, name: &str) -> &'a FieldChange {
        let fields = &event.changes[0].field_changes;
        fields.iter().find(|change| change.field_name == name).expect(name)
    }

    #[test]
    fn trade_renders_a_trade_and_two_order_updates() {
        let mut renderer = Renderer::new();
        let rendered = renderer.render(&Event { txid: 42, body: EventBody::Trade(trade()) });
        let shape: Vec<_> = rendered
            .iter()
            .map(|e| (e.event_id, e.transaction_id, e.entity_name, e.operation, e.changes[0].entity_id))
            .collect();
        assert_eq!(
            shape,
            [
                (1, 42, "Trade", EventOperation::Create, 9),
                (2, 42, "Order", EventOperation::Update, 4),
                (3, 42, "Order", EventOperation::Update, 7),
            ]
        );
        assert_eq!(*field(&rendered[0], "notional"), FieldChange::created("notional", int(150_000)));
        assert_eq!(*field(&rendered[1], "remaining"), FieldChange::updated("remaining", int(5_000), int(2_000)));
        assert_eq!(*field(&rendered[1], "status"), FieldChange::created("status", text("PartiallyFilled")));
        assert_eq!(*field(&rendered[2], "remaining"), FieldChange::updated("remaining", int(3_000), int(0)));
        assert_eq!(*field(&rendered[2], "status"), FieldChange::created("status", text("Filled")));
    }

    fn quote_order(order_id: OrderId) -> OrderAccepted {
        OrderAccepted {
            order_id,
            account: 3,
            symbol: 2,
            client_order_id: 0,
            side: Side::Buy,
            order_type: OrderType::MarketByQuote,
            time_in_force: TimeInForce::Ioc,
            price: 0,
            qty: 0,
            quote_qty: 1_000_000,
            stop_price: 0,
            expire_ts_ns: 0,
            post_only: false,
            stp: SelfTradePrevention::None,
            frozen: 1_000_000,
        }
    }

    #[test]
    fn a_taker_by_quote_amount_counts_its_remaining_in_quote() {
        let mut renderer = Renderer::new();
        renderer.render(&Event { txid: 5, body: EventBody::OrderAccepted(quote_order(7)) });
        let fill = Trade { taker_remaining: 850_000, ..trade() };
        let rendered = renderer.render(&Event { txid: 5, body: EventBody::Trade(fill) });
        let remaining = field(&rendered[2], "remaining");
        assert_eq!(*remaining, FieldChange::updated("remaining", int(1_000_000), int(850_000)));
        // The same order id in a later transaction is a base-quantity order again.
        let rendered = renderer.render(&Event { txid: 6, body: EventBody::Trade(fill) });
        let remaining = field(&rendered[2], "remaining");
        assert_eq!(*remaining, FieldChange::updated("remaining", int(853_000), int(850_000)));
    }

    #[test]
    fn event_ids_increase_by_one_per_entity_event() {
        let mut renderer = Renderer::with_next_event_id(100);
        let mut ids = Vec::new();
        for event in every_kind_of_event() {
            ids.extend(renderer.render(&event).iter().map(|e| e.event_id));
        }
        let expected: Vec<u64> = (100..100 + ids.len() as u64).collect();
        assert_eq!(ids, expected);
        assert_eq!(renderer.next_event_id(), 100 + ids.len() as u64);
    }

    #[test]
    fn an_update_carries_only_changed_fields() {
        let amended = OrderAmended {
            order_id: 3,
            account: 1,
            symbol: 0,
            side: Side::Sell,
            old_price: 100,
            new_price: 200,
            old_qty: 10,
            new_qty: 10,
            priority_kept: false,
        };
        let rendered = Renderer::new().render(&Event { txid: 1, body: EventBody::OrderAmended(amended) });
        let fields = &rendered[0].changes[0].field_changes;
        assert_eq!(*fields, [FieldChange::updated("price", int(100), int(200))]);
    }

    #[test]
    fn a_cancel_deletes_the_order_with_its_reason() {
        let cancelled = OrderCancelled {
            order_id: 8,
            account: 2,
            symbol: 1,
            side: Side::Buy,
            remaining: 4_000,
            reason: CancelReason::Expired,
        };
        let rendered = Renderer::new().render(&Event { txid: 1, body: EventBody::OrderCancelled(cancelled) });
        assert_eq!(rendered[0].operation, EventOperation::Delete);
        assert_eq!(*field(&rendered[0], "remaining"), FieldChange::deleted("remaining", int(4_000)));
        let reason = FieldChange::created("cancel_reason", text("Expired"));
        assert_eq!(*field(&rendered[0], "cancel_reason"), reason);
    }

    #[test]
    fn balance_json_round_trips_its_values() {
        let change = BalanceChanged {
            account: 7,
            asset: 3,
            cause: BalanceCause::OrderFreeze,
            reference: u64::MAX,
            available_before: i64::MAX,
            frozen_before: 0,
            available_after: i64::MAX - 500,
            frozen_after: 500,
        };
        let rendered = Renderer::new().render(&Event { txid: 77, body: EventBody::BalanceChanged(change) });
        let json = Json::parse(&rendered[0].to_json());
        assert_eq!(json.get("event_id"), &Json::Number(1));
        assert_eq!(json.get("transaction_id"), &Json::Number(77));
        assert_eq!(json.get("entity_name"), &Json::Text("Balance".into()));
        assert_eq!(json.get("operation"), &Json::Text("Update".into()));
        let record = &json.get("changes").items()[0];
        assert_eq!(record.get("entity_id"), &Json::Number((7 << 16) | 3));
        let fields: Vec<(String, Json, Json)> = record
            .get("field_changes")
            .items()
            .iter()
            .map(|f| (f.get("field_name").text(), f.get("old_value").clone(), f.get("new_value").clone()))
            .collect();
        let max = i64::MAX as i128;
        let expected = [
            ("available".to_string(), Json::Number(max), Json::Number(max - 500)),
            ("frozen".to_string(), Json::Number(0), Json::Number(500)),
            ("cause".to_string(), Json::Null, Json::Text("OrderFreeze".into())),
            ("reference".to_string(), Json::Null, Json::Number(u64::MAX as i128)),
        ];
        assert_eq!(fields, expected);
    }

    #[test]
    fn every_event_renders_to_parseable_json() {
        let mut renderer = Renderer::new();
        for event in every_kind_of_event() {
            for entity in renderer.render(&event) {
                let json = Json::parse(&entity.to_json());
                assert_eq!(json.get("entity_name"), &Json::Text(entity.entity_name.into()));
            }
        }
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\u0001é\"");
        assert_eq!(Json::parse(&out), Json::Text("a\"b\\c\nd\u{1}é".into()));
    }

    fn every_kind_of_event() -> Vec<Event> {
        let spec = SymbolSpec {
            symbol: 0,
            base: 1,
            quote: 0,
            tick_size: 1_000_000,
            lot_size: 1_000,
            min_qty: 1_000,
            max_qty: 1_000_000_000,
            min_notional: 0,
            price_band_bps: 1_000,
            reference_price: 0,
            maker_fee_bps: 1,
            taker_fee_bps: 2,
        };
        let rejected = Rejected {
            command: crate::CommandKind::MassQuote,
            account: 1,
            order_id: 0,
            client_order_id: 0,
            reason: RejectReason::PostOnlyWouldTake,
        };
        let fees = SymbolFeesChanged {
            symbol: 0,
            tier: 2,
            old_maker_fee_bps: 1,
            old_taker_fee_bps: 2,
            new_maker_fee_bps: 1,
            new_taker_fee_bps: 5,
        };
        let triggered = StopTriggered { order_id: 3, account: 1, symbol: 0, stop_price: 10, last_price: 11 };
        let bodies = [
            EventBody::AssetAdded { asset: 0, scale: 8 },
            EventBody::SymbolAdded(spec),
            EventBody::SymbolStatusChanged { symbol: 0, old: SymbolStatus::Trading, new: SymbolStatus::Halted },
            EventBody::SymbolFeesChanged(fees),
            EventBody::TierLimitsChanged { tier: 1, old_max_open_orders: 10, new_max_open_orders: 20 },
            EventBody::AccountCreated { account: 1, fee_tier: 0 },
            EventBody::AccountStatusChanged { account: 1, old: AccountStatus::Active, new: AccountStatus::Frozen },
            EventBody::AccountFeeTierChanged { account: 1, old: 0, new: 3 },
            EventBody::Rejected(rejected),
            EventBody::OrderAccepted(quote_order(1)),
            EventBody::StopTriggered(triggered),
            EventBody::Trade(trade()),
        ];
        bodies.into_iter().enumerate().map(|(i, body)| Event { txid: i as u64 + 1, body }).collect()
    }

    /// Just enough JSON to read back what `to_json` writes.
    #[derive(Debug, Clone, PartialEq)]
    enum Json {
        Null,
        Number(i128),
        Text(String),
        Array(Vec<Json>),
        Object(Vec<(String, Json)>),
    }

    impl Json {
        fn parse(text: &str) -> Json {
            let mut parser = Parser { chars: text.chars().collect(), pos: 0 };
            let value = parser.value();
            assert_eq!(parser.pos, parser.chars.len(), "trailing input in {text}");
            value
        }

        fn get(&self, key: &str) -> &Json {
            let Json::Object(members) = self else { panic!("not an object: {self:?}") };
            members.iter().find(|(name, _)| name == key).map(|(_, value)| value).expect(key)
        }

        fn items(&self) -> &[Json] {
            let Json::Array(items) = self else { panic!("not an array: {self:?}") };
            items
        }

        fn text(&self) -> String {
            let Json::Text(text) = self else { panic!("not a string: {self:?}") };
            text.clone()
        }
    }

    struct Parser {
        chars: Vec<char>,
        pos: usize,
    }

    impl Parser {
        fn next(&mut self) -> char {
            self.pos += 1;
            self.chars[self.pos - 1]
        }

        fn expect(&mut self, expected: char) {
            assert_eq!(self.next(), expected, "at {}", self.pos - 1);
        }

        fn value(&mut self) -> Json {
            match self.chars[self.pos] {
                '{' => Json::Object(self.list('{', '}', |p| {
                    let key = p.string();
                    p.expect(':');
                    (key, p.value())
                })),
                '[' => Json::Array(self.list('[', ']', Parser::value)),
                '"' => Json::Text(self.string()),
                'n' => {
                    "null".chars().for_each(|c| self.expect(c));
                    Json::Null
                }
                _ => self.number(),
            }
        }

        fn list<T>(&mut self, open: char, close: char, mut item: impl FnMut(&mut Parser) -> T) -> Vec<T> {
            self.expect(open);
            let mut items = Vec::new();
            if self.chars[self.pos] == close {
                self.pos += 1;
                return items;
            }
            loop {
                items.push(item(self));
                match self.next() {
                    ',' => continue,
                    c => {
                        assert_eq!(c, close);
                        return items;
                    }
                }
            }
        }

        fn string(&mut self) -> String {
            self.expect('"');
            let mut out = String::new();
            loop {
                match self.next() {
                    '"' => return out,
                    '\\' => out.push(self.escape()),
                    c => out.push(c),
                }
            }
        }

        fn escape(&mut self) -> char {
            match self.next() {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'u' => {
                    let hex: String = (0..4).map(|_| self.next()).collect();
                    char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap()
                }
                c => c,
            }
        }

        fn number(&mut self) -> Json {
            let start = self.pos;
            while self.pos < self.chars.len() && (self.chars[self.pos] == '-' || self.chars[self.pos].is_ascii_digit())
            {
                self.pos += 1;
            }
            let digits: String = self.chars[start..self.pos].iter().collect();
            Json::Number(digits.parse().unwrap_or_else(|_| panic!("bad number at {start}")))
        }
    }
}
