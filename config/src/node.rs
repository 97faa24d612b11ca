//! [`NodeConfig`]: the typed, validated `cex.toml`, and what the rest of the node is built
//! from (engine capacities, journal and snapshot settings, runtime settings, reference data).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use cex_engine::{AddAsset, AssetId, Command, EngineConfig, SymbolId, SymbolSpec};
use cex_journal::{Durability, DurableConfig, FsyncWriter, JournalConfig, SnapshotPolicy};
use cex_runtime::{IdleStrategy, RuntimeConfig};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use crate::demo::DemoSettings;
use crate::error::{ConfigError, ConfigErrors};
use crate::gateway::GatewaySettings;
use crate::limits::LimitSettings;
use crate::locate::{position, KeyIndex};
use crate::refdata::{
    build_refdata, check_asset_ids, check_symbol_ids, default_assets, default_symbols, RawAsset, RawSymbol,
};
use crate::units::{format_minor_units, to_minor_units, UnitsError};

const NANOS_PER_SECOND: u64 = 1_000_000_000;
const TOP_LEVEL_KEYS: &str =
    "data_dir, network, journal, snapshots, engine, rings, gateway, limits, store, email, demo, assets, symbols";

/// The whole node configuration. Build it with [`NodeConfig::default`] (the embedded
/// defaults), [`NodeConfig::parse`] or [`NodeConfig::load`]; all three are valid.
///
/// The scalar sections are public so command-line flags can override them after loading;
/// call [`NodeConfig::validate`] after changing any. The reference data (assets and symbols)
/// is checked as a whole when parsed and is read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// Journals live in `data_dir/journal`. A relative path is relative to the working
    /// directory of the process, not to the file.
    pub data_dir: PathBuf,
    pub network: NetworkConfig,
    pub journal: JournalSettings,
    pub snapshots: SnapshotSettings,
    pub engine: EngineSettings,
    pub rings: RingSettings,
    pub gateway: GatewaySettings,
    pub limits: LimitSettings,
    pub store: StoreSettings,
    pub email: EmailSettings,
    /// `cex run --demo` only.
    pub demo: DemoSettings,
    assets: Vec<AssetConfig>,
    symbols: Vec<SymbolConfig>,
}

/// `[store]`: the database of the sidecars (users, keys, sessions, history).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// `postgres://…` for PostgreSQL; empty for the embedded SQLite file `<data_dir>/cex.db`.
    pub database_url: String,
}

impl StoreSettings {
    /// The PostgreSQL URL, or `None` for the embedded SQLite default.
    pub fn postgres_url(&self) -> Option<&str> {
        Some(self.database_url.as_str()).filter(|url| !url.is_empty())
    }
}

/// `[email]`: how verification codes are emailed. Debug hides the SMTP password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSettings {
    /// Empty: no email is sent; every message goes to the development sink
    /// `<data_dir>/outbox.log`. Else an SMTP server: `smtps://user:pass@host:465` (TLS) or
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS).
    pub smtp_url: String,
    /// The sender: `Name <address>` or `address`.
    pub from: String,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings { smtp_url: String::new(), from: "cex <no-reply@example.com>".to_string() }
    }
}

impl std::fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("smtp_url", &redact_password(&self.smtp_url))
            .field("from", &self.from)
            .finish()
    }
}

impl EmailSettings {
    /// The SMTP URL, or `None` for the development sink.
    pub fn smtp_url(&self) -> Option<&str> {
        Some(self.smtp_url.as_str()).filter(|url| !url.is_empty())
    }
}

/// `url` with the password of its user info, if any, replaced by `***`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_string(),
    }
}

/// What is wrong with an `[email] smtp_url`, if anything. The same rules as identity's
/// `delivery::check_smtp_url`: a scheme of `smtp` or `smtps`, a host, `tls` (if given) one of
/// `required` and `opportunistic` with `smtp://`, and no password without TLS (`smtps://`
/// or `tls=required`), since it would cross the network in clear.
fn smtp_url_problem(url: &str) -> Option<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some("must be empty (the development sink) or an smtp:// or smtps:// URL".into());
    };
    if scheme != "smtp" && scheme != "smtps" {
        return Some(format!("scheme {scheme:?}: must be smtp:// or smtps://"));
    }
    let (authority, query) = match rest.split_once('?') {
        Some((authority, query)) => (authority, Some(query)),
        None => (rest, None),
    };
    let authority = authority.split('/').next().unwrap_or("");
    let (user_info, host) = match authority.rsplit_once('@') {
        Some((user_info, host)) => (Some(user_info), host),
        None => (None, authority),
    };
    if host.rsplit_once(':').map_or(host, |(host, _)| host).is_empty() {
        return Some("has no host".into());
    }
    let tls = query.and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("tls=")));
    let encrypted = match (scheme, tls) {
        ("smtps", None) | ("smtp", Some("required")) => true,
        ("smtp", None | Some("opportunistic")) => false,
        (_, Some(other)) => {
            return Some(format!("tls={other}: use tls=required or tls=opportunistic, with smtp:// only"))
        }
        _ => false,
    };
    if user_info.is_some_and(|info| info.contains(':')) && !encrypted {
        return Some("has a password but no TLS: use smtps:// or smtp://…?tls=required".into());
    }
    None
}

/// `[network]`: where the node listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    pub bind: IpAddr,
    /// REST and WebSocket API.
    pub rest_port: u16,
    /// Binary SBE order gateway.
    pub gateway_port: u16,
    /// Health and metrics.
    pub ops_port: u16,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig { bind: IpAddr::V4(Ipv4Addr::LOCALHOST), rest_port: 8080, gateway_port: 9000, ops_port: 9100 }
    }
}

impl NetworkConfig {
    pub fn rest_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.rest_port)
    }

    pub fn gateway_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.gateway_port)
    }

    pub fn ops_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.ops_port)
    }
}

/// `[journal]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalSettings {
    /// `none`, `mmap` or `fsync`: see OPERATIONS.md.
    #[serde(with = "DurabilityName")]
    pub durability: Durability,
    /// Size of each journal segment file, in MiB.
    pub segment_mb: u64,
    /// `uring` or `mmap`: the writer behind `fsync` durability; see OPERATIONS.md.
    #[serde(with = "FsyncWriterName")]
    pub fsync_writer: FsyncWriter,
}

impl Default for JournalSettings {
    fn default() -> Self {
        JournalSettings { durability: Durability::Mmap, segment_mb: 64, fsync_writer: FsyncWriter::Uring }
    }
}

#[derive(Deserialize)]
#[serde(remote = "FsyncWriter", rename_all = "lowercase")]
enum FsyncWriterName {
    Uring,
    Mmap,
}

#[derive(Deserialize)]
#[serde(remote = "Durability", rename_all = "lowercase")]
enum DurabilityName {
    None,
    Mmap,
    Fsync,
}

/// The name `cex.toml` gives a durability mode.
pub fn durability_name(durability: Durability) -> &'static str {
    match durability {
        Durability::None => "none",
        Durability::Mmap => "mmap",
        Durability::Fsync => "fsync",
    }
}

/// `[snapshots]`. Zero turns a trigger off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotSettings {
    pub every_commands: u64,
    /// Measured in command timestamps, not the wall clock.
    pub every_seconds: u64,
    /// How many snapshot files are kept.
    pub keep: usize,
}

impl Default for SnapshotSettings {
    fn default() -> Self {
        let policy = SnapshotPolicy::default();
        SnapshotSettings {
            every_commands: policy.every_commands,
            every_seconds: policy.every_ns / NANOS_PER_SECOND,
            keep: policy.keep,
        }
    }
}

/// `[engine]`: the engine thread and the engine's capacities (see `cex_engine::EngineConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineSettings {
    /// The core the engine thread is pinned to; `None` leaves it to the scheduler.
    pub core: Option<usize>,
    pub idle: IdleStrategy,
    pub max_accounts: u32,
    pub max_assets: u16,
    pub max_symbols: u32,
    pub max_orders: u32,
    pub max_balances: u32,
    pub max_levels_per_side: u32,
    pub max_stops_per_side: u32,
    pub adjust_dedup_window: u32,
    pub default_max_open_orders: u32,
}

impl Default for EngineSettings {
    fn default() -> Self {
        let engine = EngineConfig::default();
        EngineSettings {
            core: None,
            idle: IdleStrategy::default(),
            max_accounts: engine.max_accounts,
            max_assets: engine.max_assets,
            max_symbols: engine.max_symbols,
            max_orders: engine.max_orders,
            max_balances: engine.max_balances,
            max_levels_per_side: engine.max_levels_per_side,
            max_stops_per_side: engine.max_stops_per_side,
            adjust_dedup_window: engine.adjust_dedup_window,
            default_max_open_orders: engine.default_max_open_orders,
        }
    }
}

/// `[rings]`: the runtime's ring sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RingSettings {
    /// Slots in each producer's input ring.
    pub input_capacity: usize,
    /// Commands taken from one ring before the next ring's turn.
    pub batch_per_ring: usize,
    /// Slots in each consumer's output ring.
    pub output_capacity: usize,
}

impl Default for RingSettings {
    fn default() -> Self {
        let runtime = RuntimeConfig::default();
        RingSettings {
            input_capacity: runtime.input_ring_capacity,
            batch_per_ring: runtime.batch_per_ring,
            output_capacity: runtime.output_ring_capacity,
        }
    }
}

/// One `[[assets]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetConfig {
    pub id: AssetId,
    pub name: String,
    /// Decimal places of the minor unit: 8 means 1 minor unit = 0.00000001.
    pub scale: u8,
}

/// One `[[symbols]]` entry, in engine units (see `cex_engine::SymbolSpec`): prices and the
/// tick in quote minor units per whole base unit, quantities in base minor units, the
/// notional in quote minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolConfig {
    pub id: SymbolId,
    pub name: String,
    pub base: AssetConfig,
    pub quote: AssetConfig,
    pub tick_size: i64,
    pub lot_size: i64,
    pub min_qty: i64,
    pub max_qty: i64,
    pub min_notional: i64,
    pub price_band_bps: u32,
    /// 0 for none.
    pub reference_price: i64,
    pub maker_fee_bps: u16,
    pub taker_fee_bps: u16,
}

impl SymbolConfig {
    /// The engine's `AddSymbol` payload.
    pub fn spec(&self) -> SymbolSpec {
        SymbolSpec {
            symbol: self.id,
            base: self.base.id,
            quote: self.quote.id,
            tick_size: self.tick_size,
            lot_size: self.lot_size,
            min_qty: self.min_qty,
            max_qty: self.max_qty,
            min_notional: self.min_notional,
            price_band_bps: self.price_band_bps,
            reference_price: self.reference_price,
            maker_fee_bps: self.maker_fee_bps,
            taker_fee_bps: self.taker_fee_bps,
        }
    }

    /// A decimal price ("64123.5", quote per whole base) in engine units. Not checked
    /// against the tick: the engine rejects an off-tick price itself.
    pub fn price_units(&self, text: &str) -> Result<i64, UnitsError> {
        to_minor_units(text, self.quote.scale)
    }

    /// A decimal quantity ("0.25" base) in engine units.
    pub fn qty_units(&self, text: &str) -> Result<i64, UnitsError> {
        to_minor_units(text, self.base.scale)
    }

    /// An engine price as a decimal in whole quote units.
    pub fn format_price(&self, units: i64) -> String {
        format_minor_units(units, self.quote.scale)
    }

    /// An engine quantity as a decimal in whole base units.
    pub fn format_qty(&self, units: i64) -> String {
        format_minor_units(units, self.base.scale)
    }
}

impl Default for NodeConfig {
    /// The embedded defaults: what `cex run` uses with no `--config`, and what
    /// `config/cex.example.toml` spells out.
    fn default() -> Self {
        let mut config = NodeConfig::without_refdata();
        let mut errors = Vec::new();
        (config.assets, config.symbols) =
            build_refdata(&default_assets(), &default_symbols(), &config.engine, &mut errors);
        assert!(errors.is_empty(), "the embedded reference data is invalid: {errors:?}");
        config
    }
}

impl NodeConfig {
    fn without_refdata() -> NodeConfig {
        NodeConfig {
            data_dir: PathBuf::from("./data"),
            network: NetworkConfig::default(),
            journal: JournalSettings::default(),
            snapshots: SnapshotSettings::default(),
            engine: EngineSettings::default(),
            rings: RingSettings::default(),
            gateway: GatewaySettings::default(),
            limits: LimitSettings::default(),
            store: StoreSettings::default(),
            email: EmailSettings::default(),
            demo: DemoSettings::default(),
            assets: Vec::new(),
            symbols: Vec::new(),
        }
    }

    /// Reads and parses `path`. The errors, I/O ones included, are shown as in `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<NodeConfig, ConfigErrors> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|error| ConfigErrors::single(ConfigError::new("", format!("cannot read the file: {error}"))))
            .map_err(|errors| errors.in_file(path))?;
        NodeConfig::parse(&text).map_err(|errors| errors.in_file(path))
    }

    /// Parses and validates a `cex.toml`. Every key is optional. On failure it reports TOML
    /// syntax errors; else every wrongly typed value or unknown key (the first in each
    /// section and in each `[[assets]]`/`[[symbols]]` entry); else every semantic error. Each
    /// is placed at its line and named by its key.
    ///
    /// `[[assets]]` absent means the default assets (USDT, BTC, ETH); `[[symbols]]` absent
    /// means the default symbols (BTC-USDT, ETH-USDT) if the assets are the defaults too, and
    /// none otherwise.
    pub fn parse(text: &str) -> Result<NodeConfig, ConfigErrors> {
        let (root, syntax_errors) = DeTable::parse_recoverable(text);
        if !syntax_errors.is_empty() {
            let errors = syntax_errors.iter().map(|error| {
                let (line, column) = error.span().map_or((None, None), |span| position(text, span.start));
                ConfigError { line, column, key: String::new(), message: error.message().to_string() }
            });
            return Err(ConfigErrors::new(errors.collect()));
        }
        let index = KeyIndex::new(text, root.get_ref());
        let file = RawFile::read(root.get_ref(), &index)?;

        let mut config = NodeConfig::without_refdata();
        let mut errors = Vec::new();
        if let Some(data_dir) = file.data_dir {
            config.data_dir = data_dir;
        }
        config.network = file.network.unwrap_or_default();
        config.journal = file.journal.unwrap_or_default();
        config.snapshots = file.snapshots.unwrap_or_default();
        config.engine = file.engine.unwrap_or_default().settings();
        config.rings = file.rings.unwrap_or_default();
        config.gateway = file.gateway.unwrap_or_default();
        config.limits = file.limits.unwrap_or_default();
        config.store = file.store.unwrap_or_default();
        config.email = file.email.unwrap_or_default();
        config.demo = file.demo.unwrap_or_default();
        config.check_sections(&mut errors);

        let defaults_note =
            |what: &str, list: &str| format!(" (in the embedded default {what}; define [[{list}]] to replace them)");
        let (assets, default_assets_used) = match file.assets {
            Some(assets) => (assets, false),
            None => (default_assets(), true),
        };
        let (symbols, default_symbols_used) = match file.symbols {
            Some(symbols) => (symbols, false),
            None if default_assets_used => (default_symbols(), true),
            None => (Vec::new(), false),
        };
        let mut refdata_errors = Vec::new();
        (config.assets, config.symbols) = build_refdata(&assets, &symbols, &config.engine, &mut refdata_errors);
        for mut error in refdata_errors {
            if default_assets_used && error.key.starts_with("assets[") {
                error.message += &defaults_note("assets", "assets");
            } else if default_symbols_used && error.key.starts_with("symbols[") {
                error.message += &defaults_note("symbols", "symbols");
            }
            errors.push(error);
        }
        // Against the symbols: only once they are known to be sound.
        if errors.is_empty() {
            config.demo.check(&config.symbols, &mut errors);
        }

        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors::new(errors.into_iter().map(|error| index.place(error)).collect()))
        }
    }

    /// Checks the configuration as it is now, after command-line overrides: ports, sizes,
    /// capacities, and that every asset and symbol id fits the engine's capacities. The errors
    /// carry keys but no lines.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        self.check_sections(&mut errors);
        let assets = self.assets.iter().enumerate().map(|(i, asset)| (i, asset.id));
        check_asset_ids(assets, &self.engine, &mut errors);
        let symbols = self.symbols.iter().enumerate().map(|(i, symbol)| (i, symbol.id));
        check_symbol_ids(symbols, &self.engine, &mut errors);
        self.demo.check(&self.symbols, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors::new(errors))
        }
    }

    /// The scalar sections' rules: everything but the reference data.
    fn check_sections(&self, errors: &mut Vec<ConfigError>) {
        self.gateway.check(errors);
        self.limits.check(errors);
        let mut error = |key: &str, message: String| errors.push(ConfigError::new(key, message));
        if self.data_dir.as_os_str().is_empty() {
            error("data_dir", "must not be empty".into());
        }

        let ports = [
            ("network.rest_port", self.network.rest_port),
            ("network.gateway_port", self.network.gateway_port),
            ("network.ops_port", self.network.ops_port),
        ];
        for (i, &(key, port)) in ports.iter().enumerate() {
            if port == 0 {
                error(key, "0 is not a port a client can reach; choose 1 to 65535".into());
            } else if let Some((other, _)) = ports[..i].iter().find(|(_, earlier)| *earlier == port) {
                error(key, format!("{port} is also {other}; each service needs its own port"));
            }
        }

        if self.journal.segment_mb == 0 {
            error("journal.segment_mb", "must be at least 1".into());
        } else if self.journal.segment_mb > MAX_SEGMENT_MB {
            error("journal.segment_mb", format!("{} is too large: at most {MAX_SEGMENT_MB}", self.journal.segment_mb));
        }

        if self.snapshots.keep == 0 {
            error("snapshots.keep", "must be at least 1".into());
        }
        let url = &self.store.database_url;
        if !url.is_empty() && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            error("store.database_url", "must be empty (SQLite in the data dir) or a postgres:// URL".into());
        }
        if let Some(problem) = self.email.smtp_url().and_then(smtp_url_problem) {
            error("email.smtp_url", problem);
        }
        let from = self.email.from.trim();
        let address = match (from.rfind('<'), from.ends_with('>')) {
            (Some(open), true) => &from[open + 1..from.len() - 1],
            (None, false) => from,
            _ => "",
        };
        let valid_address = address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace)
        });
        if !valid_address {
            error("email.from", "must be an address or `Name <address>`, e.g. \"cex <no-reply@example.com>\"".into());
        }
        let max_seconds = u64::MAX / NANOS_PER_SECOND;
        if self.snapshots.every_seconds > max_seconds {
            let message =
                format!("{} is too large: at most {max_seconds} (0 turns it off)", self.snapshots.every_seconds);
            error("snapshots.every_seconds", message);
        }

        let engine = &self.engine;
        let capacities = [
            ("engine.max_accounts", engine.max_accounts as u64),
            ("engine.max_assets", engine.max_assets as u64),
            ("engine.max_symbols", engine.max_symbols as u64),
            ("engine.max_orders", engine.max_orders as u64),
            ("engine.max_balances", engine.max_balances as u64),
            ("engine.max_levels_per_side", engine.max_levels_per_side as u64),
            ("engine.max_stops_per_side", engine.max_stops_per_side as u64),
            ("engine.adjust_dedup_window", engine.adjust_dedup_window as u64),
            ("engine.default_max_open_orders", engine.default_max_open_orders as u64),
            ("rings.input_capacity", self.rings.input_capacity as u64),
            ("rings.batch_per_ring", self.rings.batch_per_ring as u64),
            ("rings.output_capacity", self.rings.output_capacity as u64),
        ];
        for (key, value) in capacities {
            if value == 0 {
                error(key, "must be above zero".into());
            }
        }
        match engine.idle {
            IdleStrategy::BusySpin => {}
            IdleStrategy::SpinThenYield { spins } | IdleStrategy::Park { spins, .. } if spins == 0 => {
                error("engine.spins", format!("must be above zero with idle = \"{}\"", idle_name(engine.idle)));
            }
            IdleStrategy::Park { max_park_us: 0, .. } => {
                error("engine.max_park_us", "must be above zero with idle = \"park\"".into());
            }
            IdleStrategy::SpinThenYield { .. } | IdleStrategy::Park { .. } => {}
        }
    }

    /// The engine's capacities. `matching_only` (a benchmark mode) is always off.
    pub fn engine_config(&self) -> EngineConfig {
        let engine = &self.engine;
        EngineConfig {
            max_accounts: engine.max_accounts,
            max_assets: engine.max_assets,
            max_symbols: engine.max_symbols,
            max_orders: engine.max_orders,
            max_balances: engine.max_balances,
            max_levels_per_side: engine.max_levels_per_side,
            max_stops_per_side: engine.max_stops_per_side,
            adjust_dedup_window: engine.adjust_dedup_window,
            default_max_open_orders: engine.default_max_open_orders,
            matching_only: false,
        }
    }

    pub fn journal_config(&self) -> JournalConfig {
        JournalConfig {
            segment_bytes: self.journal.segment_mb << 20,
            durability: self.journal.durability,
            fsync_writer: self.journal.fsync_writer,
        }
    }

    pub fn snapshot_policy(&self) -> SnapshotPolicy {
        SnapshotPolicy {
            every_commands: self.snapshots.every_commands,
            every_ns: self.snapshots.every_seconds * NANOS_PER_SECOND,
            keep: self.snapshots.keep,
        }
    }

    /// Where the journals and snapshots live: `data_dir/journal`.
    pub fn journal_dir(&self) -> PathBuf {
        self.data_dir.join("journal")
    }

    /// Journals and snapshots, for `DurableEngine::open`.
    pub fn durable_config(&self) -> DurableConfig {
        DurableConfig { dir: self.journal_dir(), journal: self.journal_config(), snapshots: self.snapshot_policy() }
    }

    pub fn runtime_config(&self) -> RuntimeConfig {
        RuntimeConfig {
            engine_core: self.engine.core,
            idle: self.engine.idle,
            input_ring_capacity: self.rings.input_capacity,
            batch_per_ring: self.rings.batch_per_ring,
            output_ring_capacity: self.rings.output_capacity,
        }
    }

    /// `AddAsset` for every asset, then `AddSymbol` for every symbol, in file order: what a
    /// fresh engine is given before any trading. (An engine recovered from its journal has
    /// them already; it rejects a repeat with `AssetExists`/`SymbolExists`.)
    pub fn refdata_commands(&self) -> Vec<Command> {
        let assets =
            self.assets.iter().map(|asset| Command::AddAsset(AddAsset { asset: asset.id, scale: asset.scale }));
        let symbols = self.symbols.iter().map(|symbol| Command::AddSymbol(symbol.spec()));
        assets.chain(symbols).collect()
    }

    pub fn assets(&self) -> &[AssetConfig] {
        &self.assets
    }

    pub fn symbols(&self) -> &[SymbolConfig] {
        &self.symbols
    }

    pub fn asset_by_name(&self, name: &str) -> Option<&AssetConfig> {
        self.assets.iter().find(|asset| asset.name == name)
    }

    pub fn asset_by_id(&self, id: AssetId) -> Option<&AssetConfig> {
        self.assets.iter().find(|asset| asset.id == id)
    }

    /// The symbol named `name` ("BTC-USDT"), with its id, assets and scales.
    pub fn symbol_by_name(&self, name: &str) -> Option<&SymbolConfig> {
        self.symbols.iter().find(|symbol| symbol.name == name)
    }

    pub fn symbol_by_id(&self, id: SymbolId) -> Option<&SymbolConfig> {
        self.symbols.iter().find(|symbol| symbol.id == id)
    }

    /// One line for logs and `cex config check`: counts, durability, data directory, addresses.
    pub fn summary(&self) -> String {
        format!(
            "{} assets, {} symbols, durability {}{}, data {}, rest {}, gateway {}, ops {}",
            self.assets.len(),
            self.symbols.len(),
            durability_name(self.journal.durability),
            match (self.journal.durability, self.journal.fsync_writer) {
                (Durability::Fsync, FsyncWriter::Uring) => " (io_uring writer)",
                (Durability::Fsync, FsyncWriter::Mmap) => " (mmap writer)",
                _ => "",
            },
            self.data_dir.display(),
            self.network.rest_addr(),
            self.network.gateway_addr(),
            self.network.ops_addr(),
        )
    }
}

/// 2^43 MiB is 2^63 bytes: the most a segment size can be and still fit an `isize`.
const MAX_SEGMENT_MB: u64 = (isize::MAX as u64) >> 20;

fn idle_name(idle: IdleStrategy) -> &'static str {
    match idle {
        IdleStrategy::BusySpin => "busy-spin",
        IdleStrategy::SpinThenYield { .. } => "spin-then-yield",
        IdleStrategy::Park { .. } => "park",
    }
}

// ---------------------------------------------------------------------------------------
// The file as written: every section optional, every key checked for its type and name.

#[derive(Default)]
struct RawFile {
    data_dir: Option<PathBuf>,
    network: Option<NetworkConfig>,
    journal: Option<JournalSettings>,
    snapshots: Option<SnapshotSettings>,
    engine: Option<RawEngine>,
    rings: Option<RingSettings>,
    gateway: Option<GatewaySettings>,
    limits: Option<LimitSettings>,
    store: Option<StoreSettings>,
    email: Option<EmailSettings>,
    demo: Option<DemoSettings>,
    assets: Option<Vec<RawAsset>>,
    symbols: Option<Vec<RawSymbol>>,
}

impl RawFile {
    /// Each section on its own, so a problem in one does not hide those in the others.
    fn read(root: &DeTable<'_>, index: &KeyIndex<'_>) -> Result<RawFile, ConfigErrors> {
        let mut file = RawFile::default();
        let mut errors = Vec::new();
        for (key, value) in root {
            let key = key.get_ref().as_ref();
            match key {
                "data_dir" => file.data_dir = section(key, value, index, &mut errors),
                "network" => file.network = section(key, value, index, &mut errors),
                "journal" => file.journal = section(key, value, index, &mut errors),
                "snapshots" => file.snapshots = section(key, value, index, &mut errors),
                "engine" => file.engine = section(key, value, index, &mut errors),
                "rings" => file.rings = section(key, value, index, &mut errors),
                "gateway" => file.gateway = section(key, value, index, &mut errors),
                "limits" => file.limits = section(key, value, index, &mut errors),
                "store" => file.store = section(key, value, index, &mut errors),
                "email" => file.email = section(key, value, index, &mut errors),
                "demo" => file.demo = section(key, value, index, &mut errors),
                "assets" => file.assets = list(key, value, index, &mut errors),
                "symbols" => file.symbols = list(key, value, index, &mut errors),
                _ => {
                    errors.push(index.place(ConfigError::new(
                        key,
                        format!("unknown key `{key}`, expected one of: {TOP_LEVEL_KEYS}"),
                    )))
                }
            }
        }
        if errors.is_empty() {
            Ok(file)
        } else {
            Err(ConfigErrors::new(errors))
        }
    }
}

fn section<T: DeserializeOwned>(
    key: &str,
    value: &Spanned<DeValue<'_>>,
    index: &KeyIndex<'_>,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    match T::deserialize(ValueDeserializer::from(value.clone())) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            let span = error.span().or(Some(value.span()));
            let mut placed = index.at_span(span, error.message());
            if placed.key.is_empty() {
                placed.key = key.to_string();
            }
            errors.push(placed);
            None
        }
    }
}

/// `[[key]]` entries, each read on its own.
fn list<T: DeserializeOwned>(
    key: &str,
    value: &Spanned<DeValue<'_>>,
    index: &KeyIndex<'_>,
    errors: &mut Vec<ConfigError>,
) -> Option<Vec<T>> {
    let Some(items) = value.get_ref().as_array() else {
        let message = format!("expected [[{key}]] tables (an array of tables), found: {}", value.get_ref().type_str());
        errors.push(index.place(ConfigError::new(key, message)));
        return None;
    };
    let before = errors.len();
    let parsed: Vec<T> =
        items.iter().enumerate().filter_map(|(i, item)| section(&format!("{key}[{i}]"), item, index, errors)).collect();
    (errors.len() == before).then_some(parsed)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawEngine {
    core: Option<usize>,
    idle: IdleName,
    spins: u32,
    max_park_us: u32,
    max_accounts: u32,
    max_assets: u16,
    max_symbols: u32,
    max_orders: u32,
    max_balances: u32,
    max_levels_per_side: u32,
    max_stops_per_side: u32,
    adjust_dedup_window: u32,
    default_max_open_orders: u32,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum IdleName {
    BusySpin,
    SpinThenYield,
    Park,
}

impl Default for RawEngine {
    /// The runtime's defaults: `IdleStrategy::default()`, and for the keys it leaves out
    /// (`max_park_us` when it is not `park`, `spins` when it is `busy-spin`) 1000 µs and
    /// 10_000 spins.
    fn default() -> Self {
        let engine = EngineSettings::default();
        let (idle, spins, max_park_us) = match engine.idle {
            IdleStrategy::BusySpin => (IdleName::BusySpin, 10_000, 1_000),
            IdleStrategy::SpinThenYield { spins } => (IdleName::SpinThenYield, spins, 1_000),
            IdleStrategy::Park { spins, max_park_us } => (IdleName::Park, spins, max_park_us),
        };
        RawEngine {
            core: engine.core,
            idle,
            spins,
            max_park_us,
            max_accounts: engine.max_accounts,
            max_assets: engine.max_assets,
            max_symbols: engine.max_symbols,
            max_orders: engine.max_orders,
            max_balances: engine.max_balances,
            max_levels_per_side: engine.max_levels_per_side,
            max_stops_per_side: engine.max_stops_per_side,
            adjust_dedup_window: engine.adjust_dedup_window,
            default_max_open_orders: engine.default_max_open_orders,
        }
    }
}

impl RawEngine {
    fn settings(self) -> EngineSettings {
        let idle = match self.idle {
            IdleName::BusySpin => IdleStrategy::BusySpin,
            IdleName::SpinThenYield => IdleStrategy::SpinThenYield { spins: self.spins },
            IdleName::Park => IdleStrategy::Park { spins: self.spins, max_park_us: self.max_park_us },
        };
        EngineSettings {
            core: self.core,
            idle,
            max_accounts: self.max_accounts,
            max_assets: self.max_assets,
            max_symbols: self.max_symbols,
            max_orders: self.max_orders,
            max_balances: self.max_balances,
            max_levels_per_side: self.max_levels_per_side,
            max_stops_per_side: self.max_stops_per_side,
            adjust_dedup_window: self.adjust_dedup_window,
            default_max_open_orders: self.default_max_open_orders,
        }
    }
}
