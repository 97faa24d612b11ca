//! `cex trade …`: try the binary gateway from a shell. Logs on with an API key, sends one
//! order, cancel, amend or retransmit request, prints what comes back for `--wait` ms, and
//! logs out. Symbols are names and prices and quantities decimals, read with the node's
//! configuration; the secret comes from a file or the environment, never from a flag, so it
//! stays out of shell history and `ps`.

mod report;
mod units;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cex_config::{NodeConfig, SymbolConfig};
use cex_engine::{Amend, Cancel, CancelAll, Command, NewOrder, OrderType, SelfTradePrevention, Side, TimeInForce};
use cex_gateway_client::{ClientError, Credentials, ServerMessage, Session, SessionOptions};

use crate::run::ConfigArgs;
use report::{Report, Reporter};

/// The environment variable the API secret may come from.
const SECRET_VARIABLE: &str = "CEX_API_SECRET";
/// How long `buy`, `sell`, `cancel`, `cancel-all`, `amend` and `retransmit` print reports.
const DEFAULT_WAIT_MS: u64 = 1_000;
/// The longest stretch without checking for Ctrl-C.
const POLL: Duration = Duration::from_millis(200);

/// Set by Ctrl-C or SIGTERM: log out and stop.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[derive(clap::Args, Debug)]
pub struct TradeArgs {
    /// The gateway, HOST:PORT. Default: the configuration's gateway port on its bind address
    /// (loopback when it binds every interface).
    #[arg(long)]
    gateway: Option<String>,
    /// The API key (`cex keys create` makes one).
    #[arg(long)]
    api_key: String,
    /// A file holding the API secret. Without it, the CEX_API_SECRET variable.
    #[arg(long)]
    secret_file: Option<PathBuf>,
    /// Ask the gateway to cancel the account's open orders if the connection drops without a
    /// Logout (`cex trade` itself always logs out).
    #[arg(long)]
    cancel_on_disconnect: bool,
    /// Print what comes back for this many ms after sending (default 1000; `listen`: until
    /// Ctrl-C).
    #[arg(long)]
    wait: Option<u64>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    action: TradeAction,
}

#[derive(clap::Subcommand, Debug)]
enum TradeAction {
    /// Buy QTY of SYMBOL: a limit order with --price, a market order without.
    Buy(OrderArgs),
    /// Sell QTY of SYMBOL: a limit order with --price, a market order without.
    Sell(OrderArgs),
    /// Cancel one order.
    Cancel(OrderRef),
    /// Cancel every open order of the account, or those of one symbol or side.
    CancelAll {
        #[arg(long)]
        symbol: Option<String>,
        #[arg(long, value_enum)]
        side: Option<SideArg>,
    },
    /// Change a resting limit order's price and total quantity (the gateway needs both).
    Amend {
        #[arg(long)]
        symbol: String,
        #[command(flatten)]
        order: OrderRef,
        #[arg(long, allow_negative_numbers = true)]
        price: String,
        /// The new total quantity, filled part included.
        #[arg(long, allow_negative_numbers = true)]
        qty: String,
    },
    /// Print everything the gateway sends until Ctrl-C (or --wait).
    Listen,
    /// Ask for the account's responses of journal sequences FROM to FROM + COUNT - 1.
    Retransmit {
        #[arg(long)]
        from: u64,
        #[arg(long)]
        count: u32,
    },
}

#[derive(clap::Args, Debug)]
struct OrderArgs {
    /// A symbol name, such as BTC-USDT.
    symbol: String,
    /// The base quantity, a decimal: 0.5.
    #[arg(allow_negative_numbers = true)]
    qty: String,
    /// The limit price, a decimal: 30000.25. Without it: a market order.
    #[arg(long, allow_negative_numbers = true)]
    price: Option<String>,
    /// Default: gtc for a limit order, ioc for a market order.
    #[arg(long, value_enum)]
    tif: Option<TifArg>,
    /// Refuse the order if it would take liquidity.
    #[arg(long)]
    post_only: bool,
    /// Your id for the order; 0 for none.
    #[arg(long, default_value_t = 0)]
    client_order_id: u64,
}

/// An order, by the engine's id or by the client's.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
struct OrderRef {
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    order_id: Option<u64>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    client_order_id: Option<u64>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum SideArg {
    Buy,
    Sell,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum TifArg {
    Gtc,
    Ioc,
    Fok,
}

/// Why `cex trade` stopped, and its exit code.
enum Failure {
    /// The invocation is wrong: exit 2.
    Usage(String),
    /// The gateway refused or failed: exit 1.
    Failed(String),
}

/// What to send once logged on.
enum Step {
    Send(Command),
    Retransmit { from: u64, count: u32 },
    Listen,
}

pub fn run(args: &TradeArgs) -> ExitCode {
    match trade(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("cex trade: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("cex trade: {message}");
            ExitCode::FAILURE
        }
    }
}

fn trade(args: &TradeArgs) -> Result<(), Failure> {
    let config = args.config.load().map_err(|errors| Failure::Usage(errors.to_string()))?;
    // Everything typed is checked before the secret is read or anything is sent.
    let step = step(&args.action, &config)?;
    let gateway = args.gateway.clone().unwrap_or_else(|| default_gateway(&config).to_string());
    let mut session = log_on(args, &gateway)?;
    let reporter = Reporter::new(&config);
    let printer = Printer { json: args.json };
    printer.print(&reporter.logon(&gateway, session.info()));
    watch_for_interrupts();
    let wait = match (&step, args.wait) {
        (_, Some(ms)) => Some(Duration::from_millis(ms)),
        (Step::Listen, None) => None,
        (_, None) => Some(Duration::from_millis(DEFAULT_WAIT_MS)),
    };
    let result = send(&mut session, &step, &reporter, &printer)
        .and_then(|()| print_until(&mut session, wait, &step, &reporter, &printer));
    // Only a session still open has a Logout to send.
    let _ = session.logout("cex trade done");
    result
}

fn log_on(args: &TradeArgs, gateway: &str) -> Result<Session, Failure> {
    let credentials = Credentials::new(args.api_key.clone(), read_secret(args.secret_file.as_deref())?);
    let options = SessionOptions { cancel_on_disconnect: args.cancel_on_disconnect, ..SessionOptions::default() };
    Session::logon(gateway, &credentials, &options).map_err(|error| match error {
        ClientError::LogonRejected { .. } => Failure::Failed(error.to_string()),
        other => Failure::Failed(format!("cannot log on to {gateway}: {other}")),
    })
}

/// The command, retransmit request or nothing, from the command line.
fn step(action: &TradeAction, config: &NodeConfig) -> Result<Step, Failure> {
    Ok(match action {
        TradeAction::Buy(order) => Step::Send(Command::NewOrder(new_order(config, order, Side::Buy)?)),
        TradeAction::Sell(order) => Step::Send(Command::NewOrder(new_order(config, order, Side::Sell)?)),
        TradeAction::Cancel(order) => {
            let (order_id, client_order_id) = order.ids();
            Step::Send(Command::Cancel(Cancel { account: 0, order_id, client_order_id }))
        }
        TradeAction::CancelAll { symbol, side } => {
            let symbol =
                symbol.as_deref().map(|name| symbol_named(config, name).map(|symbol| symbol.id)).transpose()?;
            Step::Send(Command::CancelAll(CancelAll { account: 0, symbol, side: side.map(SideArg::side) }))
        }
        TradeAction::Amend { symbol, order, price, qty } => {
            let symbol = symbol_named(config, symbol)?;
            let (order_id, client_order_id) = order.ids();
            let new_price = units::price_units(symbol, price).map_err(Failure::Usage)?;
            let new_qty = units::qty_units(symbol, qty).map_err(Failure::Usage)?;
            Step::Send(Command::Amend(Amend { account: 0, order_id, client_order_id, new_price, new_qty }))
        }
        TradeAction::Listen => Step::Listen,
        TradeAction::Retransmit { from, count } => Step::Retransmit { from: *from, count: *count },
    })
}

/// A NewOrder; the account is left 0, the gateway stamps the session's.
fn new_order(config: &NodeConfig, order: &OrderArgs, side: Side) -> Result<NewOrder, Failure> {
    let symbol = symbol_named(config, &order.symbol)?;
    let qty = units::qty_units(symbol, &order.qty).map_err(Failure::Usage)?;
    let (order_type, price) = match &order.price {
        Some(price) => (OrderType::Limit, units::price_units(symbol, price).map_err(Failure::Usage)?),
        None => (OrderType::MarketByQty, 0),
    };
    let time_in_force = match (order.tif, order_type) {
        (Some(tif), _) => tif.time_in_force(),
        (None, OrderType::Limit) => TimeInForce::Gtc,
        (None, _) => TimeInForce::Ioc,
    };
    Ok(NewOrder {
        account: 0,
        symbol: symbol.id,
        client_order_id: order.client_order_id,
        side,
        order_type,
        time_in_force,
        price,
        qty,
        quote_qty: 0,
        stop_price: 0,
        expire_ts_ns: 0,
        post_only: order.post_only,
        stp: SelfTradePrevention::None,
    })
}

fn symbol_named<'a>(config: &'a NodeConfig, name: &str) -> Result<&'a SymbolConfig, Failure> {
    config.symbol_by_name(name).ok_or_else(|| {
        let known: Vec<&str> = config.symbols().iter().map(|symbol| symbol.name.as_str()).collect();
        Failure::Usage(format!("unknown symbol {name:?}; the configuration has {}", known.join(", ")))
    })
}

impl OrderRef {
    /// `(order_id, client_order_id)` as Cancel and Amend take them: order id 0 selects by
    /// client order id.
    fn ids(&self) -> (u64, u64) {
        (self.order_id.unwrap_or(0), self.client_order_id.unwrap_or(0))
    }
}

impl SideArg {
    fn side(self) -> Side {
        match self {
            SideArg::Buy => Side::Buy,
            SideArg::Sell => Side::Sell,
        }
    }
}

impl TifArg {
    fn time_in_force(self) -> TimeInForce {
        match self {
            TifArg::Gtc => TimeInForce::Gtc,
            TifArg::Ioc => TimeInForce::Ioc,
            TifArg::Fok => TimeInForce::Fok,
        }
    }
}

/// The secret from `file` (surrounding whitespace dropped), or else from CEX_API_SECRET.
fn read_secret(file: Option<&Path>) -> Result<String, Failure> {
    let secret = match file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| Failure::Failed(format!("cannot read the secret file {}: {error}", path.display())))?,
        None => std::env::var(SECRET_VARIABLE)
            .map_err(|_| Failure::Usage(format!("no API secret: pass --secret-file PATH or set {SECRET_VARIABLE}")))?,
    };
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(Failure::Usage("the API secret is empty".to_string()));
    }
    Ok(secret.to_string())
}

/// The configured gateway: its bind address, or loopback when that is every interface.
fn default_gateway(config: &NodeConfig) -> SocketAddr {
    let address = config.network.gateway_addr();
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, address.port())
}

fn send(session: &mut Session, step: &Step, reporter: &Reporter<'_>, printer: &Printer) -> Result<(), Failure> {
    let sent = match step {
        Step::Send(command) => session.send(command).map(|seq_num| (seq_num, message_name(command))),
        Step::Retransmit { from, count } => {
            session.retransmit(*from, *count).map(|seq_num| (seq_num, "RetransmitRequest"))
        }
        Step::Listen => return Ok(()),
    };
    let (seq_num, name) = sent.map_err(|error| Failure::Failed(error.to_string()))?;
    printer.print(&reporter.sent(seq_num, name));
    Ok(())
}

/// The gateway message a command goes out as.
fn message_name(command: &Command) -> &'static str {
    match command {
        Command::NewOrder(_) => "NewOrderSingle",
        Command::Cancel(_) => "CancelOrder",
        Command::CancelAll(_) => "CancelAllOrders",
        Command::Amend(_) => "AmendOrder",
        Command::MassQuote(_) => "MassQuoteRequest",
        other => other.kind().name(),
    }
}

/// Prints every message until `wait` has passed (`None`: until interrupted). A retransmit
/// ends at its RetransmitComplete; a Logout from the gateway ends the session as a failure.
fn print_until(
    session: &mut Session,
    wait: Option<Duration>,
    step: &Step,
    reporter: &Reporter<'_>,
    printer: &Printer,
) -> Result<(), Failure> {
    let deadline = wait.map(|wait| Instant::now() + wait);
    while !INTERRUPTED.load(Ordering::Relaxed) {
        let left = deadline.map_or(POLL, |deadline| deadline.saturating_duration_since(Instant::now()));
        if deadline.is_some() && left.is_zero() {
            break;
        }
        let message = match session.recv(left.min(POLL)) {
            Ok(Some(message)) => message,
            Ok(None) => continue,
            Err(error @ (ClientError::Decode(_) | ClientError::UnexpectedMessage { .. })) => {
                eprintln!("cex trade: skipped a message: {error}");
                continue;
            }
            Err(error) => return Err(Failure::Failed(error.to_string())),
        };
        if let Some(report) = reporter.message(&message) {
            printer.print(&report);
        }
        match message {
            ServerMessage::Logout { reason, text } => {
                return Err(Failure::Failed(format!("the gateway ended the session: {}: {text}", reason.name())))
            }
            ServerMessage::RetransmitComplete { .. } if matches!(step, Step::Retransmit { .. }) => break,
            _ => {}
        }
    }
    Ok(())
}

/// Ctrl-C and SIGTERM set [`INTERRUPTED`], so the session ends with a Logout.
fn watch_for_interrupts() {
    let watcher = std::thread::Builder::new().name("cex-trade-signals".into()).spawn(|| {
        if crate::run::wait_for_signal().is_ok() {
            INTERRUPTED.store(true, Ordering::Relaxed);
        }
    });
    if let Err(error) = watcher {
        eprintln!("cex trade: Ctrl-C will not log out cleanly: {error}");
    }
}

struct Printer {
    json: bool,
}

impl Printer {
    fn print(&self, report: &Report) {
        if self.json {
            println!("{}", report.json());
        } else {
            println!("{}", report.line());
        }
    }
}
