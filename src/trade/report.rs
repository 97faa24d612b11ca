//! The gateway's messages as `cex trade` prints them: one line per message for a person, or
//! one JSON object per message. Both come from one list of fields per message, so they
//! always say the same thing. Prices and quantities are decimals in whole units, with the
//! symbol's tick and lot decimals; symbols and assets by name.

use cex_config::{NodeConfig, SymbolConfig};
use cex_gateway_client::codec::{self, ExecType};
use cex_gateway_client::{BookUpdate, LogonInfo, ServerMessage};
use serde_json::{Map, Value};

use super::units::{show_amount, show_price, show_qty};

/// How a field shows in the line for a person.
#[derive(Clone, Copy)]
enum Show {
    /// The value alone.
    Bare,
    /// `key=value`.
    Key(&'static str),
    /// The value after a word: `@ 30000.00`.
    After(&'static str),
    /// Only in JSON.
    JsonOnly,
    /// Only in the line: a word that says what the line is.
    LineOnly,
}

/// One message, as a list of named fields.
pub struct Report {
    fields: Vec<(&'static str, Value, Show)>,
}

impl Report {
    fn new(kind: &'static str) -> Report {
        Report { fields: vec![("type", Value::from(kind), Show::JsonOnly)] }
    }

    /// The word that says what a line is (JSON has `type`).
    fn marker(self, word: &'static str) -> Report {
        self.field("", word, Show::LineOnly)
    }

    fn field(mut self, name: &'static str, value: impl Into<Value>, show: Show) -> Report {
        self.fields.push((name, value.into(), show));
        self
    }

    /// A field that is there only when `value` is.
    fn optional(self, name: &'static str, value: Option<impl Into<Value>>, show: Show) -> Report {
        match value {
            Some(value) => self.field(name, value, show),
            None => self,
        }
    }

    /// The line for a person.
    pub fn line(&self) -> String {
        let parts = self.fields.iter().filter_map(|(_, value, show)| {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            match show {
                Show::Bare | Show::LineOnly => Some(text),
                Show::Key(key) => Some(format!("{key}={text}")),
                Show::After(word) => Some(format!("{word} {text}")),
                Show::JsonOnly => None,
            }
        });
        parts.collect::<Vec<_>>().join(" ")
    }

    /// One JSON object.
    pub fn json(&self) -> String {
        let object: Map<String, Value> = self
            .fields
            .iter()
            .filter(|(_, _, show)| !matches!(show, Show::LineOnly))
            .map(|(name, value, _)| (name.to_string(), value.clone()))
            .collect();
        Value::Object(object).to_string()
    }
}

/// Names and scales from the node's configuration.
pub struct Reporter<'a> {
    config: &'a NodeConfig,
}

impl<'a> Reporter<'a> {
    pub fn new(config: &'a NodeConfig) -> Self {
        Reporter { config }
    }

    /// What the gateway granted at logon.
    pub fn logon(&self, gateway: &str, info: &LogonInfo) -> Report {
        let permissions = permission_names(info.permissions);
        Report::new("logon")
            .marker("LOGGED-ON")
            .field("gateway", gateway, Show::Bare)
            .field("sessionId", info.session_id, Show::Key("session"))
            .field("account", info.account, Show::Key("account"))
            .field("permissions", permissions, Show::Key("permissions"))
            .field("cancelOnDisconnect", info.options.cancel_on_disconnect(), Show::Key("cancel-on-disconnect"))
            .field("heartbeatIntervalMs", info.heartbeat_interval_ms, Show::Key("heartbeat-ms"))
            .field("lastTxid", info.last_txid, Show::Key("last-txid"))
    }

    /// A message sent, with the number a SessionReject would name it by.
    pub fn sent(&self, seq_num: u64, what: &'static str) -> Report {
        Report::new("sent").marker("SENT").field("message", what, Show::Bare).field("seqNum", seq_num, Show::Key("seq"))
    }

    /// `None` for a Heartbeat: nothing for a person there.
    pub fn message(&self, message: &ServerMessage) -> Option<Report> {
        Some(match message {
            ServerMessage::Execution(report) => self.execution(report),
            ServerMessage::Trade(report) => self.trade(report),
            ServerMessage::Balance(update) => self.balance(update),
            ServerMessage::TradeTick(tick) => self.tick(tick),
            ServerMessage::BookUpdate(update) => self.book(update),
            ServerMessage::SessionReject { ref_seq_num, ref_template_id, reason, text } => Report::new("sessionReject")
                .marker("SESSION-REJECT")
                .field("refSeqNum", *ref_seq_num, Show::Key("seq"))
                .field("refTemplateId", *ref_template_id, Show::Key("template"))
                .field("reason", reason.name(), Show::Key("reason"))
                .field("text", text.as_str(), Show::Bare),
            ServerMessage::RetransmitComplete { from_txid, to_txid, messages } => Report::new("retransmitComplete")
                .marker("RETRANSMIT-COMPLETE")
                .field("fromTxid", *from_txid, Show::Key("from"))
                .field("toTxid", *to_txid, Show::Key("to"))
                .field("messages", *messages, Show::Key("messages")),
            ServerMessage::Logout { reason, text } => Report::new("logout")
                .marker("LOGOUT")
                .field("reason", reason.name(), Show::Bare)
                .field("text", text.as_str(), Show::Bare),
            ServerMessage::LogonAccepted(info) => self.logon("", info),
            ServerMessage::LogonRejected { reason, text } => Report::new("logonRejected")
                .marker("LOGON-REJECTED")
                .field("reason", reason.name(), Show::Bare)
                .field("text", text.as_str(), Show::Bare),
            ServerMessage::Heartbeat => return None,
        })
    }

    fn execution(&self, report: &codec::ExecutionReport) -> Report {
        let head = Report::new("execution")
            .field("txid", report.txid, Show::Key("txid"))
            .field("execType", exec_name(report.exec_type), Show::Bare)
            .field("orderId", report.order_id, Show::Key("order"))
            .field("clientOrderId", report.client_order_id, Show::Key("coid"));
        if report.exec_type == ExecType::Rejected {
            return rejected(head, report);
        }
        let head = head.optional("side", report.side.map(|side| side.name().to_uppercase()), Show::Bare).optional(
            "symbol",
            report.symbol.map(|id| self.symbol_name(id)),
            Show::Bare,
        );
        let order = OrderFields { symbol: report.symbol.and_then(|id| self.config.symbol_by_id(id)), report };
        match report.exec_type {
            ExecType::New => order.accepted(head),
            ExecType::Trade => order.fill(head),
            ExecType::Canceled => order.canceled(head),
            ExecType::Replaced => order.replaced(head),
            ExecType::Triggered | ExecType::Rejected => order.triggered(head),
        }
    }

    fn trade(&self, report: &codec::TradeReport) -> Report {
        let symbol = self.config.symbol_by_id(report.symbol);
        let fee_asset = symbol.map(|symbol| match report.fee_asset {
            codec::FeeAsset::Base => &symbol.base,
            codec::FeeAsset::Quote => &symbol.quote,
        });
        Report::new("trade")
            .field("txid", report.txid, Show::Key("txid"))
            .marker("TRADE")
            .field("tradeId", report.trade_id, Show::Key("trade"))
            .field("orderId", report.order_id, Show::Key("order"))
            .field("clientOrderId", report.client_order_id, Show::Key("coid"))
            .field("side", report.side.name().to_uppercase(), Show::Bare)
            .field("symbol", self.symbol_name(report.symbol), Show::Bare)
            .field("qty", qty_text(symbol, report.qty), Show::Bare)
            .field("price", price_text(symbol, report.price), Show::After("@"))
            .field("liquidity", report.liquidity.name().to_uppercase(), Show::Bare)
            .field("notional", self.quote_amount(symbol, report.notional), Show::Key("notional"))
            .field("fee", asset_text(fee_asset, report.fee), Show::Key("fee"))
            .field("leavesQty", qty_text(symbol, report.leaves_qty), Show::Key("leaves"))
    }

    fn quote_amount(&self, symbol: Option<&SymbolConfig>, units: i64) -> String {
        asset_text(symbol.map(|symbol| &symbol.quote), units)
    }

    fn balance(&self, update: &codec::BalanceUpdate) -> Report {
        let asset = self.config.asset_by_id(update.asset);
        let name = asset.map_or_else(|| format!("asset#{}", update.asset), |asset| asset.name.clone());
        let amount = |units: i64| asset.map_or_else(|| units.to_string(), |asset| show_amount(units, asset.scale));
        Report::new("balance")
            .field("txid", update.txid, Show::Key("txid"))
            .marker("BALANCE")
            .field("asset", name, Show::Bare)
            .field("cause", update.cause.name(), Show::Bare)
            .field("reference", update.reference, Show::Key("ref"))
            .field("availableBefore", amount(update.available_before), Show::Key("available"))
            .field("availableAfter", amount(update.available_after), Show::After("->"))
            .field("frozenBefore", amount(update.frozen_before), Show::Key("frozen"))
            .field("frozenAfter", amount(update.frozen_after), Show::After("->"))
    }

    fn tick(&self, tick: &codec::TradeTick) -> Report {
        let symbol = self.config.symbol_by_id(tick.symbol);
        Report::new("tradeTick")
            .field("txid", tick.txid, Show::Key("txid"))
            .marker("TICK")
            .field("symbol", self.symbol_name(tick.symbol), Show::Bare)
            .field("tradeId", tick.trade_id, Show::Key("trade"))
            .field("qty", qty_text(symbol, tick.qty), Show::Bare)
            .field("price", price_text(symbol, tick.price), Show::After("@"))
            .field("takerSide", tick.taker_side.name().to_uppercase(), Show::Key("taker"))
    }

    fn book(&self, update: &BookUpdate) -> Report {
        let symbol = self.config.symbol_by_id(update.symbol);
        let levels: Vec<Value> = update
            .levels
            .iter()
            .map(|level| {
                serde_json::json!({
                    "side": level.side.name().to_uppercase(),
                    "price": price_text(symbol, level.price),
                    "qty": qty_text(symbol, level.qty),
                    "orderCount": level.order_count,
                })
            })
            .collect();
        let shown: Vec<String> = update
            .levels
            .iter()
            .map(|level| {
                let side = level.side.name().to_uppercase();
                let (price, qty) = (price_text(symbol, level.price), qty_text(symbol, level.qty));
                format!("{side} {qty} @ {price} ({})", level.order_count)
            })
            .collect();
        Report::new("bookUpdate")
            .field("txid", update.txid, Show::Key("txid"))
            .marker("BOOK")
            .field("symbol", self.symbol_name(update.symbol), Show::Bare)
            .field("updateType", update.update_type.name(), Show::Bare)
            .field("levels", levels, Show::JsonOnly)
            .field("shown", shown.join(", "), Show::Bare)
    }

    fn symbol_name(&self, id: u32) -> String {
        self.config.symbol_by_id(id).map_or_else(|| format!("symbol#{id}"), |symbol| symbol.name.clone())
    }
}

/// The fields an execution report carries for its exec type, in the symbol's decimals.
struct OrderFields<'a> {
    symbol: Option<&'a SymbolConfig>,
    report: &'a codec::ExecutionReport,
}

impl OrderFields<'_> {
    fn price(&self, units: Option<i64>) -> Option<String> {
        units.map(|units| price_text(self.symbol, units))
    }

    fn qty(&self, units: Option<i64>) -> Option<String> {
        units.map(|units| qty_text(self.symbol, units))
    }

    /// Base quantity, except for an order by quote amount (known from a New), whose
    /// remainder is a budget.
    fn leaves(&self) -> Option<String> {
        let leaves = self.report.leaves_qty?;
        match (self.report.order_type, self.symbol) {
            (Some(codec::OrderType::MarketByQuote), Some(symbol)) => {
                Some(format!("{} {}", show_amount(leaves, symbol.quote.scale), symbol.quote.name))
            }
            _ => self.qty(Some(leaves)),
        }
    }

    fn accepted(&self, head: Report) -> Report {
        let report = self.report;
        head.optional("orderQty", self.qty(report.order_qty), Show::Bare)
            .optional("price", new_price(self.symbol, report), Show::After("@"))
            .optional("stopPrice", self.price(report.stop_price), Show::Key("stop"))
            .optional("leavesQty", self.leaves(), Show::Key("leaves"))
            .optional("orderType", report.order_type.map(|t| t.name()), Show::Key("type"))
            .optional("timeInForce", report.time_in_force.map(|t| t.name()), Show::Key("tif"))
    }

    fn fill(&self, head: Report) -> Report {
        let report = self.report;
        head.optional("lastQty", self.qty(report.last_qty), Show::Bare)
            .optional("lastPx", self.price(report.last_px), Show::After("@"))
            .optional("liquidity", report.liquidity.map(|l| l.name().to_uppercase()), Show::Bare)
            .optional("tradeId", report.trade_id, Show::Key("trade"))
            .optional("leavesQty", self.leaves(), Show::Key("leaves"))
            .optional("cumQty", self.qty(report.cum_qty), Show::Key("cum"))
    }

    fn canceled(&self, head: Report) -> Report {
        let report = self.report;
        head.optional("canceledQty", self.qty(report.canceled_qty), Show::Key("canceled"))
            .optional("cumQty", self.qty(report.cum_qty), Show::Key("cum"))
            .optional("cancelReason", report.cancel_reason.map(|r| r.name()), Show::Key("reason"))
    }

    fn replaced(&self, head: Report) -> Report {
        let report = self.report;
        let kept = report.priority_kept.map(|kept| kept == codec::BooleanType::True);
        head.optional("orderQty", self.qty(report.order_qty), Show::Bare)
            .optional("price", self.price(report.price), Show::After("@"))
            .optional("leavesQty", self.leaves(), Show::Key("leaves"))
            .optional("priorityKept", kept, Show::Key("priority-kept"))
    }

    fn triggered(&self, head: Report) -> Report {
        let report = self.report;
        head.optional("stopPrice", self.price(report.stop_price), Show::Key("stop")).optional(
            "lastPx",
            self.price(report.last_px),
            Show::Key("last"),
        )
    }
}

/// A refusal: which command, and the engine's reason with its sentence.
fn rejected(head: Report, report: &codec::ExecutionReport) -> Report {
    let reason = report.reject_reason.map(|reason| reason.name());
    let description = report
        .reject_reason
        .and_then(|reason| cex_engine::RejectReason::from_code(reason.raw()))
        .map(|r| r.description());
    head.optional("rejectedCommand", report.rejected_command.map(|kind| kind.name()), Show::Key("command"))
        .optional("rejectReason", reason, Show::Key("reason"))
        .optional("description", description.map(|text| format!("({text})")), Show::Bare)
}

/// A New's price: `MARKET` for the types without one.
fn new_price(symbol: Option<&SymbolConfig>, report: &codec::ExecutionReport) -> Option<String> {
    let market = matches!(
        report.order_type,
        Some(codec::OrderType::MarketByQty | codec::OrderType::MarketByQuote | codec::OrderType::StopMarket)
    );
    if market {
        return Some("MARKET".to_string());
    }
    report.price.map(|units| price_text(symbol, units))
}

fn exec_name(exec_type: ExecType) -> &'static str {
    match exec_type {
        ExecType::New => "NEW",
        ExecType::Rejected => "REJECTED",
        ExecType::Trade => "FILL",
        ExecType::Canceled => "CANCELED",
        ExecType::Replaced => "REPLACED",
        ExecType::Triggered => "TRIGGERED",
    }
}

/// Engine units when the symbol is not in this configuration: better raw than wrong.
fn price_text(symbol: Option<&SymbolConfig>, units: i64) -> String {
    symbol.map_or_else(|| units.to_string(), |symbol| show_price(symbol, units))
}

fn qty_text(symbol: Option<&SymbolConfig>, units: i64) -> String {
    symbol.map_or_else(|| units.to_string(), |symbol| show_qty(symbol, units))
}

fn asset_text(asset: Option<&cex_config::AssetConfig>, units: i64) -> String {
    asset.map_or_else(|| units.to_string(), |asset| format!("{} {}", show_amount(units, asset.scale), asset.name))
}

fn permission_names(permissions: codec::KeyPermissions) -> String {
    let names = [
        (permissions.read(), "read"),
        (permissions.trade(), "trade"),
        (permissions.withdraw(), "withdraw"),
        (permissions.transfer(), "transfer"),
    ];
    let held: Vec<&str> = names.iter().filter(|(held, _)| *held).map(|(_, name)| *name).collect();
    if held.is_empty() {
        "none".to_string()
    } else {
        held.join(",")
    }
}

#[cfg(test)]
mod tests {
    use cex_gateway_protocol::null_execution_report;

    use super::*;

    #[test]
    fn a_new_order_reads_as_decimals_with_the_symbol_name() {
        let config = NodeConfig::default();
        let new = codec::ExecutionReport {
            order_id: 5,
            client_order_id: 1,
            symbol: Some(0),
            side: Some(codec::Side::Buy),
            order_type: Some(codec::OrderType::Limit),
            time_in_force: Some(codec::TimeInForce::Gtc),
            price: Some(30_000_000_000),
            order_qty: Some(50_000_000),
            leaves_qty: Some(50_000_000),
            cum_qty: Some(0),
            ..null_execution_report(17, ExecType::New)
        };
        let report = Reporter::new(&config).message(&ServerMessage::Execution(new)).unwrap();
        assert_eq!(
            report.line(),
            "txid=17 NEW order=5 coid=1 BUY BTC-USDT 0.5000 @ 30000.00 leaves=0.5000 type=Limit tif=Gtc"
        );
        let json: Value = serde_json::from_str(&report.json()).unwrap();
        assert_eq!(json["type"], "execution");
        assert_eq!(json["price"], "30000.00");
        assert_eq!(json["symbol"], "BTC-USDT");
        assert_eq!(json["txid"], 17);
    }

    #[test]
    fn a_rejection_names_the_reason() {
        let config = NodeConfig::default();
        let rejected = codec::ExecutionReport {
            client_order_id: 2,
            reject_reason: Some(codec::RejectReason::PriceNotTickMultiple),
            rejected_command: Some(codec::CommandKind::NewOrder),
            ..null_execution_report(18, ExecType::Rejected)
        };
        let line = Reporter::new(&config).message(&ServerMessage::Execution(rejected)).unwrap().line();
        assert_eq!(
            line,
            "txid=18 REJECTED order=0 coid=2 command=NewOrder reason=PriceNotTickMultiple \
             (price is not a multiple of the tick size)"
        );
    }

    #[test]
    fn trades_and_balances_name_their_assets() {
        let config = NodeConfig::default();
        let reporter = Reporter::new(&config);
        let trade = codec::TradeReport {
            txid: 19,
            trade_id: 3,
            order_id: 5,
            client_order_id: 1,
            symbol: 0,
            side: codec::Side::Buy,
            liquidity: codec::LiquidityIndicator::Maker,
            price: 30_000_000_000,
            qty: 10_000_000,
            notional: 3_000_000_000,
            fee: 10_000,
            fee_asset: codec::FeeAsset::Base,
            leaves_qty: 40_000_000,
        };
        assert_eq!(
            reporter.message(&ServerMessage::Trade(trade)).unwrap().line(),
            "txid=19 TRADE trade=3 order=5 coid=1 BUY BTC-USDT 0.1000 @ 30000.00 MAKER notional=3000.000000 USDT \
             fee=0.00010000 BTC leaves=0.4000"
        );
        let balance = codec::BalanceUpdate {
            txid: 19,
            asset: 0,
            cause: codec::BalanceCause::TradeSettlement,
            reference: 3,
            available_before: 1_000_000_000,
            frozen_before: 3_000_000_000,
            available_after: 1_000_000_000,
            frozen_after: 0,
        };
        assert_eq!(
            reporter.message(&ServerMessage::Balance(balance)).unwrap().line(),
            "txid=19 BALANCE USDT TradeSettlement ref=3 available=1000.000000 -> 1000.000000 \
             frozen=3000.000000 -> 0.000000"
        );
        assert!(reporter.message(&ServerMessage::Heartbeat).is_none());
    }

    #[test]
    fn an_unknown_symbol_shows_raw_units() {
        let config = NodeConfig::default();
        let tick =
            codec::TradeTick { txid: 1, trade_id: 2, symbol: 9, price: 123, qty: 4, taker_side: codec::Side::Sell };
        assert_eq!(
            Reporter::new(&config).message(&ServerMessage::TradeTick(tick)).unwrap().line(),
            "txid=1 TICK symbol#9 trade=2 4 @ 123 taker=SELL"
        );
    }
}
