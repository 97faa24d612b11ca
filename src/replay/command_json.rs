//! Commands as one-line JSON objects: `seq`, `ts_ns`, the origin (`producer`, `request`),
//! `command` (the kind), then every field
//! of the command in declaration order, snake_case, enums as their variant names, absent
//! options as `null`. Structs are destructured whole, so a new field fails to compile here
//! instead of going missing from the dump.

use std::fmt::Write;

use cex_engine::{
    AddAsset, AdjustBalance, Amend, Cancel, CancelAll, Command, MassQuote, NewOrder, SymbolFees, SymbolSpec,
};
use cex_journal::Origin;
use serde_json::{json, Value};

type Fields = Vec<(&'static str, Value)>;

pub(crate) fn command_json(seq: u64, ts_ns: u64, origin: Origin, command: &Command) -> String {
    let mut out = String::with_capacity(320);
    // Written by hand, not as a `serde_json::Map`, to keep the fields in order.
    let Origin { producer, request } = origin;
    let _ = write!(
        out,
        "{{\"seq\":{seq},\"ts_ns\":{ts_ns},\"producer\":{producer},\"request\":{request},\"command\":\"{}\"",
        command.kind().name()
    );
    for (name, value) in fields(command) {
        let _ = write!(out, ",\"{name}\":{value}");
    }
    out.push('}');
    out
}

fn fields(command: &Command) -> Fields {
    match *command {
        Command::AddAsset(AddAsset { asset, scale }) => vec![("asset", json!(asset)), ("scale", json!(scale))],
        Command::AddSymbol(spec) => symbol_spec(&spec),
        Command::SetSymbolStatus { symbol, status } => {
            vec![("symbol", json!(symbol)), ("status", json!(status.name()))]
        }
        Command::SetSymbolFees(SymbolFees { symbol, tier, maker_fee_bps, taker_fee_bps }) => vec![
            ("symbol", json!(symbol)),
            ("tier", json!(tier)),
            ("maker_fee_bps", json!(maker_fee_bps)),
            ("taker_fee_bps", json!(taker_fee_bps)),
        ],
        Command::SetTierLimits { tier, max_open_orders } => {
            vec![("tier", json!(tier)), ("max_open_orders", json!(max_open_orders))]
        }
        Command::CreateAccount { account, fee_tier } | Command::SetAccountFeeTier { account, fee_tier } => {
            vec![("account", json!(account)), ("fee_tier", json!(fee_tier))]
        }
        Command::SetAccountStatus { account, status } => {
            vec![("account", json!(account)), ("status", json!(status.name()))]
        }
        Command::AdjustBalance(AdjustBalance { account, asset, amount, ref_id }) => vec![
            ("account", json!(account)),
            ("asset", json!(asset)),
            ("amount", json!(amount)),
            ("ref_id", json!(ref_id)),
        ],
        Command::NewOrder(order) => new_order(&order),
        Command::Cancel(Cancel { account, order_id, client_order_id }) => vec![
            ("account", json!(account)),
            ("order_id", json!(order_id)),
            ("client_order_id", json!(client_order_id)),
        ],
        Command::CancelAll(CancelAll { account, symbol, side }) => {
            vec![("account", json!(account)), ("symbol", json!(symbol)), ("side", json!(side.map(|side| side.name())))]
        }
        Command::Amend(amend) => amend_fields(&amend),
        Command::MassQuote(quote) => mass_quote(&quote),
        Command::AdminCancel { order_id } => vec![("order_id", json!(order_id))],
    }
}

fn symbol_spec(spec: &SymbolSpec) -> Fields {
    let SymbolSpec {
        symbol,
        base,
        quote,
        tick_size,
        lot_size,
        min_qty,
        max_qty,
        min_notional,
        price_band_bps,
        reference_price,
        maker_fee_bps,
        taker_fee_bps,
    } = *spec;
    vec![
        ("symbol", json!(symbol)),
        ("base", json!(base)),
        ("quote", json!(quote)),
        ("tick_size", json!(tick_size)),
        ("lot_size", json!(lot_size)),
        ("min_qty", json!(min_qty)),
        ("max_qty", json!(max_qty)),
        ("min_notional", json!(min_notional)),
        ("price_band_bps", json!(price_band_bps)),
        ("reference_price", json!(reference_price)),
        ("maker_fee_bps", json!(maker_fee_bps)),
        ("taker_fee_bps", json!(taker_fee_bps)),
    ]
}

fn new_order(order: &NewOrder) -> Fields {
    let NewOrder {
        account,
        symbol,
        client_order_id,
        side,
        order_type,
        time_in_force,
        price,
        qty,
        quote_qty,
        stop_price,
        expire_ts_ns,
        post_only,
        stp,
    } = *order;
    vec![
        ("account", json!(account)),
        ("symbol", json!(symbol)),
        ("client_order_id", json!(client_order_id)),
        ("side", json!(side.name())),
        ("order_type", json!(order_type.name())),
        ("time_in_force", json!(time_in_force.name())),
        ("price", json!(price)),
        ("qty", json!(qty)),
        ("quote_qty", json!(quote_qty)),
        ("stop_price", json!(stop_price)),
        ("expire_ts_ns", json!(expire_ts_ns)),
        ("post_only", json!(post_only)),
        ("stp", json!(stp.name())),
    ]
}

fn amend_fields(amend: &Amend) -> Fields {
    let Amend { account, order_id, client_order_id, new_price, new_qty } = *amend;
    vec![
        ("account", json!(account)),
        ("order_id", json!(order_id)),
        ("client_order_id", json!(client_order_id)),
        ("new_price", json!(new_price)),
        ("new_qty", json!(new_qty)),
    ]
}

fn mass_quote(quote: &MassQuote) -> Fields {
    let MassQuote { account, symbol, bid_price, bid_qty, ask_price, ask_qty } = *quote;
    vec![
        ("account", json!(account)),
        ("symbol", json!(symbol)),
        ("bid_price", json!(bid_price)),
        ("bid_qty", json!(bid_qty)),
        ("ask_price", json!(ask_price)),
        ("ask_qty", json!(ask_qty)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use cex_engine::{OrderType, SelfTradePrevention, Side, TimeInForce};

    #[test]
    fn a_new_order_keeps_its_field_order_and_names_its_enums() {
        let order = NewOrder {
            client_order_id: 9,
            order_type: OrderType::StopLimit,
            time_in_force: TimeInForce::Gtd,
            stop_price: 5_000,
            expire_ts_ns: 77,
            stp: SelfTradePrevention::ExpireMaker,
            ..NewOrder::limit(3, 1, Side::Sell, 4_000, 10)
        };
        let expected = "{\"seq\":12,\"ts_ns\":34,\"producer\":5,\"request\":6,\"command\":\"NewOrder\",\"account\":3,\"symbol\":1,\
                        \"client_order_id\":9,\"side\":\"Sell\",\"order_type\":\"StopLimit\",\
                        \"time_in_force\":\"Gtd\",\"price\":4000,\"qty\":10,\"quote_qty\":0,\
                        \"stop_price\":5000,\"expire_ts_ns\":77,\"post_only\":false,\"stp\":\"ExpireMaker\"}";
        assert_eq!(command_json(12, 34, Origin { producer: 5, request: 6 }, &Command::NewOrder(order)), expected);
    }

    #[test]
    fn absent_options_are_null() {
        let cancel_all = Command::CancelAll(CancelAll { account: 2, symbol: None, side: Some(Side::Buy) });
        let json: Value = serde_json::from_str(&command_json(1, 2, Origin::INTERNAL, &cancel_all)).unwrap();
        assert_eq!(
            json,
            json!({"seq":1,"ts_ns":2,"producer":0,"request":0,"command":"CancelAll","account":2,"symbol":null,"side":"Buy"})
        );
    }
}
