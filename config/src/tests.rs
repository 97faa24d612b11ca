//! Parsing, validation, error placement and conversions, mostly by editing one line of the
//! example file (which spells out every key) and checking the one error it causes.

use std::net::SocketAddr;
use std::path::PathBuf;

use cex_engine::{AddAsset, Command, Engine, EngineConfig, EventBody, SymbolSpec};
use cex_journal::Durability;
use cex_runtime::IdleStrategy;

use crate::{ConfigError, ConfigErrors, NodeConfig, EXAMPLE_TOML};

/// The 1-based line of the `nth` (0-based) line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str, nth: usize) -> usize {
    let mut found = text.lines().enumerate().filter(|(_, line)| line.contains(needle));
    found.nth(nth).unwrap_or_else(|| panic!("{needle:?} #{nth} is not in the text")).0 + 1
}

/// The example file with the first line containing `from` changed to contain `to` instead,
/// and the number of that line.
fn example_with(from: &str, to: &str) -> (String, usize) {
    let line = line_of(EXAMPLE_TOML, from, 0);
    let mut lines: Vec<String> = EXAMPLE_TOML.lines().map(str::to_string).collect();
    lines[line - 1] = lines[line - 1].replacen(from, to, 1);
    (lines.join("\n"), line)
}

fn errors(text: &str) -> ConfigErrors {
    match NodeConfig::parse(text) {
        Ok(_) => panic!("expected errors in:\n{text}"),
        Err(errors) => errors,
    }
}

/// The single error `text` causes.
fn single_error(text: &str) -> ConfigError {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "expected one error, got:\n{errors}");
    errors.errors[0].clone()
}

const TWO_ASSETS: &str = r#"
[[assets]]
id = 0
name = "USDT"
scale = 6

[[assets]]
id = 1
name = "BTC"
scale = 8
"#;

#[test]
fn defaults_are_valid_and_as_documented() {
    let config = NodeConfig::default();
    config.validate().unwrap();
    assert_eq!(config.data_dir, PathBuf::from("./data"));
    assert_eq!(config.network.rest_addr(), "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
    assert_eq!(config.network.gateway_addr(), "127.0.0.1:9000".parse::<SocketAddr>().unwrap());
    assert_eq!(config.network.ops_addr(), "127.0.0.1:9100".parse::<SocketAddr>().unwrap());
    assert_eq!(config.journal.durability, Durability::Mmap);
    // The runtime's default, which the example file spells out.
    assert_eq!(config.engine.idle, IdleStrategy::default());
    assert_eq!(config.engine.idle, IdleStrategy::Park { spins: 20_000, max_park_us: 1_000 });

    let names: Vec<_> = config.assets().iter().map(|asset| (asset.id, asset.name.as_str(), asset.scale)).collect();
    assert_eq!(names, [(0, "USDT", 6), (1, "BTC", 8), (2, "ETH", 8)]);
    let btc = config.symbol_by_name("BTC-USDT").unwrap();
    assert_eq!(btc.id, 0);
    assert_eq!(
        (btc.base.name.as_str(), btc.base.scale, btc.quote.name.as_str(), btc.quote.scale),
        ("BTC", 8, "USDT", 6)
    );
    assert_eq!(
        btc.spec(),
        SymbolSpec {
            symbol: 0,
            base: 1,
            quote: 0,
            tick_size: 10_000,            // 0.01 USDT
            lot_size: 10_000,             // 0.0001 BTC
            min_qty: 10_000,              // 0.0001 BTC
            max_qty: 1_000 * 100_000_000, // 1000 BTC
            min_notional: 5_000_000,      // 5 USDT
            price_band_bps: 1_000,
            reference_price: 0,
            maker_fee_bps: 10,
            taker_fee_bps: 20,
        }
    );
    let eth = config.symbol_by_name("ETH-USDT").unwrap();
    assert_eq!((eth.id, eth.base.name.as_str(), eth.tick_size, eth.lot_size), (1, "ETH", 10_000, 10_000));
    assert!(config.symbol_by_name("DOGE-USDT").is_none());
    assert_eq!(config.symbol_by_id(1).unwrap().name, "ETH-USDT");
    assert_eq!(config.asset_by_name("ETH").unwrap().id, 2);
    assert_eq!(config.asset_by_id(0).unwrap().name, "USDT");
}

#[test]
fn the_example_file_is_the_defaults() {
    assert_eq!(NodeConfig::parse(EXAMPLE_TOML).unwrap(), NodeConfig::default());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/cex.example.toml");
    assert_eq!(NodeConfig::load(path).unwrap(), NodeConfig::default());
}

#[test]
fn an_empty_file_is_the_defaults() {
    assert_eq!(NodeConfig::parse("").unwrap(), NodeConfig::default());
    assert_eq!(NodeConfig::parse("# nothing here\n\n").unwrap(), NodeConfig::default());
    assert_eq!(NodeConfig::parse("[network]\n[engine]\n").unwrap(), NodeConfig::default());
}

#[test]
fn keys_override_defaults() {
    let config = NodeConfig::parse(
        r#"
data_dir = "/var/lib/cex"
network.rest_port = 18080
[journal]
durability = "fsync"
segment_mb = 128
fsync_writer = "uring"
[snapshots]
every_commands = 0
every_seconds = 30
keep = 5
[engine]
core = 1
idle = "park"
spins = 100
max_park_us = 250
max_orders = 4096
[rings]
input_capacity = 1024
batch_per_ring = 16
output_capacity = 2048
"#,
    )
    .unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/var/lib/cex"));
    assert_eq!(config.network.rest_port, 18080);
    assert_eq!(config.network.gateway_port, 9000);

    let durable = config.durable_config();
    assert_eq!(durable.dir, PathBuf::from("/var/lib/cex/journal"));
    assert_eq!(durable.journal.durability, Durability::Fsync);
    assert_eq!(durable.journal.segment_bytes, 128 << 20);
    assert_eq!(durable.journal.fsync_writer, cex_journal::FsyncWriter::Uring);
    assert!(config.summary().contains("durability fsync (io_uring writer),"), "{}", config.summary());
    assert_eq!(durable.snapshots.every_commands, 0);
    assert_eq!(durable.snapshots.every_ns, 30_000_000_000);
    assert_eq!(durable.snapshots.keep, 5);

    let runtime = config.runtime_config();
    assert_eq!(runtime.engine_core, Some(1));
    assert_eq!(runtime.idle, IdleStrategy::Park { spins: 100, max_park_us: 250 });
    assert_eq!((runtime.input_ring_capacity, runtime.batch_per_ring, runtime.output_ring_capacity), (1024, 16, 2048));

    let engine = config.engine_config();
    assert_eq!(engine, EngineConfig { max_orders: 4096, ..EngineConfig::default() });
    assert!(!engine.matching_only);

    let busy = NodeConfig::parse("[engine]\nidle = \"busy-spin\"\n").unwrap();
    assert_eq!(busy.runtime_config().idle, IdleStrategy::BusySpin);
}

#[test]
fn default_conversions_match_the_crates_defaults() {
    let config = NodeConfig::default();
    assert_eq!(config.engine_config(), EngineConfig::default());
    assert_eq!(config.runtime_config(), cex_runtime::RuntimeConfig::default());
    assert_eq!(config.snapshot_policy(), cex_journal::SnapshotPolicy::default());
    assert_eq!(config.journal_config().segment_bytes, cex_journal::JournalConfig::default().segment_bytes);
    assert_eq!(config.journal_config().fsync_writer, cex_journal::JournalConfig::default().fsync_writer);
    assert_eq!(config.durable_config().dir, PathBuf::from("./data/journal"));
}

#[test]
fn refdata_commands_are_assets_then_symbols() {
    let config = NodeConfig::default();
    let commands = config.refdata_commands();
    assert_eq!(commands.len(), 5);
    assert_eq!(commands[0], Command::AddAsset(AddAsset { asset: 0, scale: 6 }));
    assert_eq!(commands[2], Command::AddAsset(AddAsset { asset: 2, scale: 8 }));
    assert_eq!(commands[3], Command::AddSymbol(config.symbols()[0].spec()));
    assert_eq!(commands[4], Command::AddSymbol(config.symbols()[1].spec()));
}

/// What the engine does with a configuration's reference data: every command must be
/// accepted, which is the point of validating it here.
fn engine_rejections(config: &NodeConfig) -> Vec<String> {
    // The configured asset and symbol capacities, small everything else.
    let engine_config = EngineConfig {
        max_accounts: 16,
        max_orders: 64,
        max_balances: 64,
        max_levels_per_side: 16,
        max_stops_per_side: 16,
        adjust_dedup_window: 16,
        ..config.engine_config()
    };
    let mut engine = Engine::new(engine_config);
    let mut rejections = Vec::new();
    for (seq, command) in config.refdata_commands().into_iter().enumerate() {
        let mut events = Vec::new();
        let envelope = cex_engine::CommandEnvelope { seq: seq as u64 + 1, ts_ns: 1, command };
        engine.apply(&envelope, &mut events);
        for event in events {
            if let EventBody::Rejected(rejected) = event.body {
                rejections.push(format!("{command:?}: {:?}", rejected.reason));
            }
        }
    }
    rejections
}

#[test]
fn the_engine_accepts_the_default_refdata() {
    assert_eq!(engine_rejections(&NodeConfig::default()), Vec::<String>::new());
}

#[test]
fn the_engine_accepts_valid_edge_refdata() {
    let config = NodeConfig::parse(
        r#"
[engine]
max_assets = 3
max_symbols = 2
[[assets]]
id = 2
name = "WEI"
scale = 18
[[assets]]
id = 0
name = "USD"
scale = 0
[[symbols]]
id = 1
name = "WEI-USD"
base = "WEI"
quote = "USD"
tick_size = 1
lot_size = "1"
max_qty = "9"
price_band_bps = 10000
reference_price = "1000"
maker_fee_bps = 1000
taker_fee_bps = 0
"#,
    )
    .unwrap();
    let symbol = config.symbol_by_name("WEI-USD").unwrap();
    assert_eq!((symbol.tick_size, symbol.lot_size, symbol.max_qty), (1, 10i64.pow(18), 9 * 10i64.pow(18)));
    assert_eq!(symbol.min_qty, symbol.lot_size, "min_qty defaults to the lot");
    assert_eq!(symbol.min_notional, 0);
    assert_eq!(engine_rejections(&config), Vec::<String>::new());
}

#[test]
fn refdata_defaults_apply_per_list() {
    // Assets given, symbols not: no symbols (the default ones may name absent assets).
    let config = NodeConfig::parse(TWO_ASSETS).unwrap();
    assert_eq!(config.assets().len(), 2);
    assert!(config.symbols().is_empty());

    // Symbols given, assets not: the default assets.
    let config = NodeConfig::parse(
        "[[symbols]]\nid = 5\nname = \"ETH-BTC\"\nbase = \"ETH\"\nquote = \"BTC\"\ntick_size = \"0.00001\"\n\
         lot_size = \"0.001\"\nmax_qty = \"100\"\n",
    )
    .unwrap();
    assert_eq!(config.assets().len(), 3);
    let symbol = config.symbol_by_name("ETH-BTC").unwrap();
    assert_eq!((symbol.id, symbol.tick_size, symbol.lot_size), (5, 1_000, 100_000));
    assert_eq!(engine_rejections(&config), Vec::<String>::new());

    // Explicitly none.
    let config = NodeConfig::parse("assets = []\nsymbols = []\n").unwrap();
    assert!(config.assets().is_empty() && config.symbols().is_empty());
}

/// One line of the example changed, one error: its key, and the line it is reported on.
#[test]
fn each_rule_reports_its_key_and_line() {
    // (from, to, key, the line reported: the changed one, or the nth line containing this)
    type Case = (&'static str, &'static str, &'static str, Option<(&'static str, usize)>);
    let cases: &[Case] = &[
        ("data_dir = \"./data\"", "data_dir = \"\"", "data_dir", None),
        ("rest_port = 8080", "rest_port = 0", "network.rest_port", None),
        ("gateway_port = 9000", "gateway_port = 8080", "network.gateway_port", None),
        ("ops_port = 9100", "ops_port = 9000", "network.ops_port", None),
        ("segment_mb = 64", "segment_mb = 0", "journal.segment_mb", None),
        ("segment_mb = 64", "segment_mb = 8796093022208", "journal.segment_mb", None),
        ("keep = 3", "keep = 0", "snapshots.keep", None),
        ("every_seconds = 60", "every_seconds = 18446744074", "snapshots.every_seconds", None),
        ("spins = 20000", "spins = 0", "engine.spins", None),
        ("max_park_us = 1000", "max_park_us = 0", "engine.max_park_us", None),
        ("max_orders = 1048576", "max_orders = 0", "engine.max_orders", None),
        ("default_max_open_orders = 200", "default_max_open_orders = 0", "engine.default_max_open_orders", None),
        ("input_capacity = 4096", "input_capacity = 0", "rings.input_capacity", None),
        ("batch_per_ring = 64", "batch_per_ring = 0", "rings.batch_per_ring", None),
        ("output_capacity = 65536", "output_capacity = 0", "rings.output_capacity", None),
        ("shards = 1 ", "shards = 0 ", "gateway.shards", None),
        ("cores = []", "cores = [0, 1]", "gateway.cores", None),
        ("max_frame_bytes = 4096", "max_frame_bytes = 100", "gateway.max_frame_bytes", None),
        ("max_in_flight = 4096", "max_in_flight = 0", "gateway.max_in_flight", None),
        ("heartbeat_max_ms = 60000", "heartbeat_max_ms = 10", "gateway.heartbeat_max_ms", None),
        ("max_outbound_kb = 8192", "max_outbound_kb = 1", "gateway.max_outbound_kb", None),
        ("idle = \"sleep\"", "idle = \"nap\"", "gateway.idle", None),
        ("ip_per_second = 50", "ip_per_second = 0", "limits.ip_per_second", None),
        ("ip_burst = 100", "ip_burst = 0", "limits.ip_burst", None),
        ("user_per_second = 20", "user_per_second = 0", "limits.user_per_second", None),
        ("user_burst = 40", "user_burst = 0", "limits.user_burst", None),
        ("max_tracked = 100000", "max_tracked = 0", "limits.max_tracked", None),
        ("enabled = true", "enabled = \"yes\"", "limits.enabled", None),
        ("traders = 3", "traders = 0", "demo.traders", None),
        ("levels = 5", "levels = 51", "demo.levels", None),
        ("spread_bps = 10", "spread_bps = 0", "demo.spread_bps", None),
        ("quote_interval_ms = 500", "quote_interval_ms = 10", "demo.quote_interval_ms", None),
        ("order_value = \"200\"", "order_value = \"9\"", "demo.order_value", None),
        ("order_value = \"200\"", "order_value = \"2.0000001\"", "demo.order_value", None),
        ("funding_value = \"100000\"", "funding_value = \"1000\"", "demo.funding_value", None),
        ("# \"BTC-USDT\" = \"65000\"", "\"BTC-USDT\" = \"65000.001\"", "demo.prices.BTC-USDT", None),
        ("# \"BTC-USDT\" = \"65000\"", "\"DOGE-USDT\" = \"1\"", "demo.prices.DOGE-USDT", None),
        ("database_url = \"\"", "database_url = \"mysql://x\"", "store.database_url", None),
        ("smtp_url = \"\"", "smtp_url = \"mail.example.com\"", "email.smtp_url", None),
        ("smtp_url = \"\"", "smtp_url = \"http://mail.example.com\"", "email.smtp_url", None),
        ("smtp_url = \"\"", "smtp_url = \"smtp://u:p@mail.example.com:587\"", "email.smtp_url", None),
        ("smtp_url = \"\"", "smtp_url = \"smtps://mail.example.com?tls=none\"", "email.smtp_url", None),
        ("from = \"cex <no-reply@example.com>\"", "from = \"cex\"", "email.from", None),
        ("from = \"cex <no-reply@example.com>\"", "from = \"cex <no-reply@example.com\"", "email.from", None),
        // Reference data. The ids: asset ETH is `id = 2`; the capacity error is on its id.
        ("id = 2", "id = 1", "assets[2].id", None),
        ("scale = 8", "scale = 19", "assets[1].scale", None),
        ("max_assets = 256", "max_assets = 2", "assets[2].id", Some(("id = 2", 0))),
        ("max_symbols = 64", "max_symbols = 1", "symbols[1].id", Some(("id = 1", 1))),
        // A duplicate is reported on the later entry.
        ("name = \"BTC-USDT\"", "name = \"ETH-USDT\"", "symbols[1].name", Some(("name = \"ETH-USDT\"", 1))),
        (
            "id = 0                  # required; below engine.max_symbols; unique",
            "id = 1",
            "symbols[1].id",
            Some(("id = 1", 2)),
        ),
        ("base = \"BTC\"", "base = \"DOGE\"", "symbols[0].base", None),
        ("base = \"BTC\"", "base = \"USDT\"", "symbols[0].quote", Some(("quote = \"USDT\"", 0))),
        ("quote = \"USDT\"", "quote = \"EUR\"", "symbols[0].quote", None),
        ("tick_size = \"0.01\"", "tick_size = \"0.0000001\"", "symbols[0].tick_size", None),
        ("tick_size = \"0.01\"", "tick_size = \"0\"", "symbols[0].tick_size", None),
        ("tick_size = \"0.01\"", "tick_size = \"abc\"", "symbols[0].tick_size", None),
        // 0.001 USDT × 0.0001 BTC is a tenth of a USDT minor unit.
        ("tick_size = \"0.01\"", "tick_size = \"0.001\"", "symbols[0].lot_size", Some(("lot_size = \"0.0001\"", 0))),
        ("lot_size = \"0.0001\"", "lot_size = \"-0.0001\"", "symbols[0].lot_size", None),
        ("lot_size = \"0.0001\"", "lot_size = \"0.000000001\"", "symbols[0].lot_size", None),
        ("min_qty = \"0.0001\"", "min_qty = \"0.00015\"", "symbols[0].min_qty", None),
        ("min_qty = \"0.0001\"", "min_qty = \"2000\"", "symbols[0].min_qty", None),
        ("max_qty = \"1000\"", "max_qty = \"1000.00005\"", "symbols[0].max_qty", None),
        ("max_qty = \"1000\"", "max_qty = \"99999999999999\"", "symbols[0].max_qty", None),
        ("min_notional = \"5\"", "min_notional = \"-5\"", "symbols[0].min_notional", None),
        ("min_notional = \"5\"", "min_notional = \"0.0000001\"", "symbols[0].min_notional", None),
        ("price_band_bps = 1000", "price_band_bps = 0", "symbols[0].price_band_bps", None),
        ("price_band_bps = 1000", "price_band_bps = 10001", "symbols[0].price_band_bps", None),
        ("reference_price = \"0\"", "reference_price = \"100.005\"", "symbols[0].reference_price", None),
        ("reference_price = \"0\"", "reference_price = \"-100\"", "symbols[0].reference_price", None),
        ("maker_fee_bps = 10", "maker_fee_bps = 1001", "symbols[0].maker_fee_bps", None),
        ("taker_fee_bps = 20", "taker_fee_bps = 10000", "symbols[0].taker_fee_bps", None),
    ];
    for &(from, to, key, reported_at) in cases {
        let (text, changed) = example_with(from, to);
        let error = single_error(&text);
        let line = match reported_at {
            None => changed,
            Some((needle, nth)) => line_of(&text, needle, nth),
        };
        assert_eq!((error.key.as_str(), error.line), (key, Some(line)), "{from} -> {to}: {error}");
        assert!(error.column.is_some());
    }
}

#[test]
fn a_bad_tick_is_reported_as_the_brief_shows() {
    let text = format!(
        "{TWO_ASSETS}\n[[symbols]]\nid = 0\nname = \"BTC-USDT\"\nbase = \"BTC\"\nquote = \"USDT\"\n\
         tick_size = \"0.0000001\"\nlot_size = \"0.0001\"\nmax_qty = \"1\"\n"
    );
    let line = line_of(&text, "tick_size", 0);
    let errors = errors(&text).in_file("cex.toml");
    assert_eq!(
        errors.to_string(),
        format!(
            "cex.toml:{line}:1: symbols[0].tick_size: 0.0000001 is not a whole number of USDT minor units (scale 6)\n"
        )
    );
}

#[test]
fn decimal_edge_cases_name_the_key_and_the_problem() {
    let symbol = |field: &str, value: &str| {
        let mut fields = vec![
            ("tick_size", "\"0.01\""),
            ("lot_size", "\"0.0001\""),
            ("max_qty", "\"10\""),
            ("min_notional", "\"5\""),
            ("reference_price", "\"0\""),
        ];
        fields.retain(|(name, _)| *name != field);
        fields.push((field, value));
        let body: String = fields.iter().map(|(name, value)| format!("{name} = {value}\n")).collect();
        format!("{TWO_ASSETS}\n[[symbols]]\nid = 0\nname = \"BTC-USDT\"\nbase = \"BTC\"\nquote = \"USDT\"\n{body}")
    };
    let cases = [
        ("tick_size", "\"0.0000001\"", "0.0000001 is not a whole number of USDT minor units (scale 6)"),
        ("lot_size", "\"0.000000001\"", "0.000000001 is not a whole number of BTC minor units (scale 8)"),
        ("tick_size", "\"-0.01\"", "-0.01 is negative"),
        ("min_notional", "\"-1\"", "-1 is negative"),
        ("tick_size", "\"0\"", "must be above zero"),
        ("tick_size", "\"0.000\"", "must be above zero"),
        ("lot_size", "0", "must be above zero"),
        (
            "max_qty",
            "\"92233720368.54775808\"",
            "92233720368.54775808 is too large: it overflows an i64 count of BTC minor units (scale 8)",
        ),
        (
            "max_qty",
            "\"100000000000\"",
            "100000000000 is too large: it overflows an i64 count of BTC minor units (scale 8)",
        ),
        ("reference_price", "\"1e3\"", "\"1e3\" is not a decimal number (write it like \"0.01\")"),
        ("reference_price", "\"\"", "\"\" is not a decimal number (write it like \"0.01\")"),
        (
            "tick_size",
            "0.01",
            "write decimals as strings, like \"0.01\": a TOML float cannot hold most decimals exactly",
        ),
        (
            "tick_size",
            "true",
            "invalid type: boolean `true`, expected a decimal string such as \"0.01\", or an integer",
        ),
    ];
    for (field, value, message) in cases {
        let text = symbol(field, value);
        let error = single_error(&text);
        let key = format!("symbols[0].{field}");
        assert_eq!((error.key.as_str(), error.message.as_str()), (key.as_str(), message), "{field} = {value}");
        assert_eq!(error.line, Some(line_of(&text, field, 0)));
    }
    // The most an i64 holds is fine; integers are decimals too.
    let config = NodeConfig::parse(&symbol("max_qty", "\"92233720368.5477\"")).unwrap();
    assert_eq!(config.symbols()[0].max_qty, 9_223_372_036_854_770_000);
    let config = NodeConfig::parse(&symbol("max_qty", "10")).unwrap();
    assert_eq!(config.symbols()[0].max_qty, 1_000_000_000);
    // Trailing zeros past the scale change nothing.
    let config = NodeConfig::parse(&symbol("tick_size", "\"0.0100000000\"")).unwrap();
    assert_eq!(config.symbols()[0].tick_size, 10_000);
}

#[test]
fn every_semantic_error_is_reported_at_once() {
    let text = r#"
[network]
rest_port = 0
ops_port = 9000

[journal]
segment_mb = 0

[[assets]]
id = 0
name = "USDT"
scale = 6

[[assets]]
id = 0
name = "USDT"
scale = 30

[[symbols]]
id = 0
name = "BTC-USDT"
base = "BTC"
quote = "USDT"
tick_size = "0.001"
lot_size = "0.0001"
max_qty = "1"
maker_fee_bps = 5000

[[symbols]]
id = 0
name = "X"
base = "USDT"
quote = "USDT"
tick_size = "0.0000001"
lot_size = "1"
min_qty = "2"
max_qty = "1"
price_band_bps = 0
"#;
    let errors = errors(text);
    let found: Vec<(&str, usize)> = errors.iter().map(|error| (error.key.as_str(), error.line.unwrap())).collect();
    let at = |needle: &str, nth: usize| line_of(text, needle, nth);
    assert_eq!(
        found,
        [
            ("network.rest_port", at("rest_port", 0)),
            ("network.ops_port", at("ops_port", 0)),
            ("journal.segment_mb", at("segment_mb", 0)),
            ("assets[1].id", at("id = 0", 1)),
            ("assets[1].name", at("name = \"USDT\"", 1)),
            ("assets[1].scale", at("scale = 30", 0)),
            ("symbols[0].base", at("base = \"BTC\"", 0)),
            ("symbols[0].maker_fee_bps", at("maker_fee_bps", 0)),
            ("symbols[1].id", at("id = 0", 3)),
            ("symbols[1].quote", at("quote = \"USDT\"", 1)),
            ("symbols[1].tick_size", at("tick_size = \"0.0000001\"", 0)),
            ("symbols[1].min_qty", at("min_qty", 0)),
            ("symbols[1].price_band_bps", at("price_band_bps", 0)),
        ],
        "{errors}"
    );
}

#[test]
fn a_missing_required_key_is_reported_at_its_entry() {
    let text = format!("{TWO_ASSETS}\n[[symbols]]\nname = \"BTC-USDT\"\nbase = \"BTC\"\nquote = \"USDT\"\n");
    let errors = errors(&text);
    let keys: Vec<&str> = errors.iter().map(|error| error.key.as_str()).collect();
    assert_eq!(keys, ["symbols[0].id", "symbols[0].tick_size", "symbols[0].lot_size", "symbols[0].max_qty"]);
    let header = line_of(&text, "[[symbols]]", 0);
    assert!(errors.iter().all(|error| error.line == Some(header) && error.message.contains("required")));

    let error = single_error("[[assets]]\nid = 0\nname = \"USDT\"\n");
    assert_eq!((error.key.as_str(), error.line), ("assets[0].scale", Some(1)));
}

#[test]
fn unknown_keys_are_reported_with_their_line() {
    let error = single_error("[network]\nrest_prt = 1\n");
    assert_eq!((error.key.as_str(), error.line, error.column), ("network.rest_prt", Some(2), Some(1)));
    assert!(error.message.contains("unknown field `rest_prt`"), "{}", error.message);

    let error = single_error("data_dir = \"x\"\n\ncolour = \"blue\"\n");
    assert_eq!((error.key.as_str(), error.line), ("colour", Some(3)));

    // matching_only is a benchmark switch, not a node setting.
    let error = single_error("[engine]\nspins = 5\nmatching_only = true\n");
    assert_eq!((error.key.as_str(), error.line), ("engine.matching_only", Some(3)));

    let (text, line) = example_with("taker_fee_bps = 20", "taker_fees_bps = 20");
    let error = single_error(&text);
    assert_eq!((error.key.as_str(), error.line), ("symbols[0].taker_fees_bps", Some(line)));

    let error = single_error("[[assets]]\nid = 0\nname = \"USDT\"\nscale = 6\ndecimals = 6\n");
    assert_eq!((error.key.as_str(), error.line), ("assets[0].decimals", Some(5)));
}

#[test]
fn type_errors_are_reported_with_their_line() {
    let error = single_error("\n[network]\nrest_port = \"x\"\n");
    assert_eq!((error.key.as_str(), error.line, error.column), ("network.rest_port", Some(3), Some(13)));
    assert_eq!(error.message, "invalid type: string \"x\", expected u16");

    let cases = [
        ("[network]\nbind = \"localhost:80\"\n", "network.bind", 2),
        ("[network]\nops_port = 70000\n", "network.ops_port", 2),
        ("[journal]\ndurability = \"fast\"\n", "journal.durability", 2),
        ("[journal]\nfsync_writer = \"aio\"\n", "journal.fsync_writer", 2),
        ("[snapshots]\nkeep = -1\n", "snapshots.keep", 2),
        ("[engine]\n\nidle = \"sleep\"\n", "engine.idle", 3),
        ("[engine]\nmax_assets = 70000\n", "engine.max_assets", 2),
        ("[engine]\ncore = \"one\"\n", "engine.core", 2),
        ("data_dir = 5\n", "data_dir", 1),
        ("network = 5\n", "network", 1),
        ("assets = 3\n", "assets", 1),
        ("[[assets]]\nid = 0\nname = \"USDT\"\nscale = \"6\"\n", "assets[0].scale", 4),
        ("[[assets]]\nid = 65536\n", "assets[0].id", 2),
    ];
    for (text, key, line) in cases {
        let error = single_error(text);
        assert_eq!((error.key.as_str(), error.line), (key, Some(line)), "{text}: {error}");
    }
}

#[test]
fn type_errors_in_different_sections_are_all_reported() {
    let text =
        "[network]\nrest_port = \"x\"\n[journal]\ndurability = 1\n[[symbols]]\nid = -1\n[[symbols]]\nbogus = 1\n";
    let keys: Vec<(String, Option<usize>)> = errors(text).into_iter().map(|error| (error.key, error.line)).collect();
    assert_eq!(
        keys,
        [
            ("network.rest_port".to_string(), Some(2)),
            ("journal.durability".to_string(), Some(4)),
            ("symbols[0].id".to_string(), Some(6)),
            ("symbols[1].bogus".to_string(), Some(8)),
        ]
    );
}

#[test]
fn syntax_errors_are_reported_with_their_line() {
    let errors = errors("[network]\nrest_port = \n[engine\n");
    assert!(errors.len() >= 2, "{errors}");
    assert_eq!(errors.errors[0].line, Some(2));
    assert!(errors.iter().any(|error| error.line == Some(3)), "{errors}");
    assert!(errors.iter().all(|error| error.key.is_empty()));

    let error = single_error("[network]\nrest_port = 1\nrest_port = 2\n");
    assert_eq!(error.line, Some(3), "{error}");
}

#[test]
fn errors_in_the_embedded_defaults_say_so() {
    let error = single_error("[engine]\nmax_symbols = 1\n");
    assert_eq!((error.key.as_str(), error.line), ("symbols[1].id", None));
    assert!(error.message.contains("embedded default symbols"), "{}", error.message);
}

#[test]
fn overrides_are_revalidated() {
    let mut config = NodeConfig::default();
    config.network.rest_port = 9000;
    let errors = config.validate().unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors.errors[0],
        ConfigError {
            line: None,
            column: None,
            key: "network.gateway_port".into(),
            message: "9000 is also network.rest_port; each service needs its own port".into(),
        }
    );
    config.network.gateway_port = 9001;
    config.data_dir = "/srv/cex".into();
    config.validate().unwrap();
    assert_eq!(config.durable_config().dir, PathBuf::from("/srv/cex/journal"));

    config.engine.max_assets = 2;
    assert_eq!(config.validate().unwrap_err().errors[0].key, "assets[2].id");
}

#[test]
fn load_reports_the_file_and_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.toml");
    let errors = NodeConfig::load(&missing).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.errors[0].line, None);
    let shown = errors.to_string();
    assert!(shown.starts_with(&format!("{}: cannot read the file: ", missing.display())), "{shown}");

    let path = dir.path().join("cex.toml");
    std::fs::write(&path, "[network]\nrest_port = 0\n").unwrap();
    let errors = NodeConfig::load(&path).unwrap_err();
    assert_eq!(
        errors.to_string(),
        format!("{}:2:1: network.rest_port: 0 is not a port a client can reach; choose 1 to 65535\n", path.display())
    );

    std::fs::write(&path, "[network]\nrest_port = 18080\n").unwrap();
    assert_eq!(NodeConfig::load(&path).unwrap().network.rest_port, 18080);
}

#[test]
fn symbols_convert_client_decimals() {
    let config = NodeConfig::default();
    let btc = config.symbol_by_name("BTC-USDT").unwrap();
    assert_eq!(btc.price_units("64123.45"), Ok(64_123_450_000));
    assert_eq!(btc.qty_units("0.25"), Ok(25_000_000));
    assert_eq!(btc.format_price(64_123_450_000), "64123.45");
    assert_eq!(btc.format_qty(25_000_000), "0.25");
    assert_eq!(btc.qty_units("0.000000001"), Err(crate::UnitsError::TooPrecise));
}

#[test]
fn the_summary_names_the_essentials() {
    assert_eq!(
        NodeConfig::default().summary(),
        "3 assets, 2 symbols, durability mmap, data ./data, rest 127.0.0.1:8080, gateway 127.0.0.1:9000, \
         ops 127.0.0.1:9100"
    );
}

#[test]
fn names_must_be_names() {
    for name in ["", "US DT", "TAB\\t"] {
        let error = single_error(&format!("[[assets]]\nid = 0\nname = \"{name}\"\nscale = 6\n"));
        assert_eq!((error.key.as_str(), error.line), ("assets[0].name", Some(3)), "{error}");
    }
}

#[test]
fn email_settings() {
    let config = NodeConfig::default();
    assert_eq!(config.email.smtp_url(), None, "the development sink by default");
    assert_eq!(config.email.from, "cex <no-reply@example.com>");

    let config = NodeConfig::parse(
        "[email]\nsmtp_url = \"smtps://cex:hunter2@mail.example.com:465\"\nfrom = \"Desk <desk@example.com>\"\n",
    )
    .unwrap();
    assert_eq!(config.email.smtp_url(), Some("smtps://cex:hunter2@mail.example.com:465"));
    assert_eq!(config.email.from, "Desk <desk@example.com>");
    let shown = format!("{config:?}");
    assert!(shown.contains("smtps://cex:***@mail.example.com:465") && !shown.contains("hunter2"), "{shown}");

    for good in [
        "smtp://user:pass@mail.example.com:587?tls=required",
        "smtp://mail.example.com:587?tls=opportunistic",
        "smtp://127.0.0.1:2525",
        "smtps://mail.example.com",
    ] {
        NodeConfig::parse(&format!("[email]\nsmtp_url = \"{good}\"\n")).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for from in ["no-reply@example.com", "cex <no-reply@example.com>"] {
        NodeConfig::parse(&format!("[email]\nfrom = \"{from}\"\n")).unwrap();
    }
    let error = single_error("[email]\nsmtp_url = \"smtp://u:hunter2@mail.example.com\"\n");
    assert!(error.message.contains("no TLS") && !error.message.contains("hunter2"), "{error}");
    let error = single_error("[email]\nsmtp = \"smtp://mail.example.com\"\n");
    assert_eq!(error.key, "email.smtp");

    // Overridden after loading and checked again.
    let mut config = NodeConfig::default();
    config.email.smtp_url = "ftp://mail.example.com".into();
    let errors = config.validate().unwrap_err();
    assert_eq!(errors.errors[0].key, "email.smtp_url");
}

#[test]
fn limit_settings() {
    let defaults = NodeConfig::default().limits;
    assert!(defaults.enabled);
    assert_eq!((defaults.ip_per_second, defaults.ip_burst), (50, 100));
    assert_eq!((defaults.user_per_second, defaults.user_burst), (20, 40));
    let config = NodeConfig::parse("[limits]\nenabled = false\nuser_per_second = 5\n").unwrap();
    assert!(!config.limits.enabled);
    assert_eq!((config.limits.user_per_second, config.limits.ip_per_second), (5, 50));
    let mut overridden = NodeConfig::default();
    overridden.limits.ip_burst = 0;
    assert_eq!(overridden.validate().unwrap_err().errors[0].key, "limits.ip_burst");
}

#[test]
fn demo_settings() {
    let config = NodeConfig::parse("[demo]\ntraders = 5\n[demo.prices]\n\"ETH-USDT\" = \"3000.5\"\n").unwrap();
    assert_eq!((config.demo.traders, config.demo.levels), (5, 5));
    let eth = config.symbol_by_name("ETH-USDT").unwrap();
    assert_eq!(config.demo.price_of(eth), Some(3_000_500_000));
    assert_eq!(config.demo.price_of(config.symbol_by_name("BTC-USDT").unwrap()), None);
    let mut overridden = NodeConfig::default();
    overridden.demo.level_step_bps = 0;
    assert_eq!(overridden.validate().unwrap_err().errors[0].key, "demo.level_step_bps");
}
