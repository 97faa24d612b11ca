//! The REST port: the sidecars' routers on one multi-threaded tokio runtime: identity
//! (users, sessions, 2FA, API keys, staff) and trading (orders, account queries, market
//! data, staff balance adjustments), in one router with one route table.

use std::sync::Arc;
use std::time::Duration;

use cex_config::NodeConfig;
use cex_engine::{Command, EventBody, RejectReason};
use cex_identity::{EngineAccounts, Identity, IdentityConfig};
use cex_trading::{EngineAnswer, EntryError, Markets, OrderEntry, SharedReadModel, Trading};

use crate::engine_client::{ClientError, EngineClient};
use crate::http::HttpServer;

/// How long a sidecar waits for the engine's answer to one command.
pub const ENGINE_ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Worker threads of the REST runtime: the engine keeps its own core.
const REST_WORKERS: usize = 2;

/// Identity's settings from cex.toml: the data directory, `[store]`, `[email]` and the
/// engine's account capacity; the rest are identity's defaults.
pub fn identity_config(config: &NodeConfig) -> IdentityConfig {
    let mut identity = IdentityConfig::new(&config.data_dir);
    identity.database_url = config.store.postgres_url().map(str::to_string);
    identity.engine_accounts_max = config.engine.max_accounts;
    identity.smtp_url = config.email.smtp_url().map(str::to_string);
    identity.email_from = config.email.from.clone();
    identity
}

/// The REST port, and the identity store it serves, for the node's other parts.
pub struct Rest {
    pub server: HttpServer,
    pub identity: Arc<Identity>,
    /// The REST runtime: where other parts run identity's async work.
    pub runtime: tokio::runtime::Handle,
    pub trading: Arc<Trading>,
}

/// Opens the store (running migrations), registers accounts whose registration failed
/// earlier, opens trading over `model`, binds the port and serves.
pub fn start(config: &NodeConfig, engine: Arc<EngineClient>, model: Arc<SharedReadModel>) -> Result<Rest, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(REST_WORKERS)
        .thread_name("cex-rest")
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the REST runtime: {error}"))?;
    let accounts = Arc::new(AccountsOverPipeline { engine: engine.clone() });
    let (identity, trading) = runtime.block_on(async {
        let identity = Identity::open(identity_config(config), accounts).await.map_err(|e| e.to_string())?;
        identity.register_pending().await.map_err(|e| e.to_string())?;
        let entry = Arc::new(EngineEntry { engine });
        let trading =
            Trading::open(identity.clone(), Markets::new(config), model, entry).await.map_err(|e| e.to_string())?;
        Ok::<_, String>((identity, trading))
    })?;
    identity.attach_balances(trading.clone());
    let address = config.network.rest_addr();
    let listener = std::net::TcpListener::bind(address).map_err(|error| format!("cannot bind {address}: {error}"))?;
    let (app, _) = cex_trading::router(&identity, &trading, &config.limits).map_err(|error| error.to_string())?;
    let app = crate::limits::layer(app, &config.limits);
    let handle = runtime.handle().clone();
    let server = HttpServer::spawn("cex-rest", runtime, listener, app).map_err(|error| error.to_string())?;
    Ok(Rest { server, identity, runtime: handle, trading })
}

/// Registers identity's accounts with the engine through the command ring.
struct AccountsOverPipeline {
    engine: Arc<EngineClient>,
}

impl EngineAccounts for AccountsOverPipeline {
    fn register(&self, account: u32, fee_tier: u8) -> cex_identity::engine::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let command = Command::CreateAccount { account, fee_tier };
            let answer = self.engine.submit(command, ENGINE_ANSWER_TIMEOUT).await.map_err(|e| e.to_string())?;
            match answer.events.first().map(|event| event.body) {
                Some(EventBody::AccountCreated { .. }) => Ok(()),
                // Identity retries registrations: one the engine already has is done.
                Some(EventBody::Rejected(rejected)) if rejected.reason == RejectReason::AccountExists => Ok(()),
                Some(EventBody::Rejected(rejected)) => Err(rejected.reason.description().to_string()),
                other => Err(format!("unexpected answer to CreateAccount: {other:?}")),
            }
        })
    }
}

/// Trading's way to the engine: the sidecars' ring, with the node's answer timeout.
struct EngineEntry {
    engine: Arc<EngineClient>,
}

impl OrderEntry for EngineEntry {
    fn submit(&self, command: Command) -> cex_trading::BoxFuture<'_, Result<EngineAnswer, EntryError>> {
        Box::pin(async move {
            match self.engine.submit(command, ENGINE_ANSWER_TIMEOUT).await {
                Ok(answer) => Ok(EngineAnswer { seq: answer.seq, ts_ns: answer.ts_ns, events: answer.events }),
                Err(ClientError::Busy) => Err(EntryError::Busy),
                Err(ClientError::Closed) => Err(EntryError::Closed),
                Err(ClientError::Invalid(why)) => Err(EntryError::Invalid(why)),
                Err(ClientError::Timeout) => Err(EntryError::Timeout),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_config_follows_cex_toml() {
        let defaults = identity_config(&NodeConfig::default());
        assert_eq!((defaults.database_url, defaults.smtp_url), (None, None), "SQLite and the dev sink");
        assert_eq!(defaults.email_from, cex_identity::config::DEFAULT_EMAIL_FROM);
        assert_eq!(defaults.engine_accounts_max, NodeConfig::default().engine.max_accounts);

        let config = NodeConfig::parse(
            "data_dir = \"/var/lib/cex\"\n[engine]\nmax_accounts = 5000\n[store]\ndatabase_url = \"postgres://db/cex\"\n\
             [email]\nsmtp_url = \"smtps://cex:pw@mail.example.com\"\nfrom = \"Desk <desk@example.com>\"\n",
        )
        .unwrap();
        let identity = identity_config(&config);
        assert_eq!(identity.data_dir, std::path::PathBuf::from("/var/lib/cex"));
        assert_eq!(identity.database_url.as_deref(), Some("postgres://db/cex"));
        assert_eq!(identity.smtp_url.as_deref(), Some("smtps://cex:pw@mail.example.com"));
        assert_eq!(identity.email_from, "Desk <desk@example.com>");
        assert_eq!(identity.engine_accounts_max, 5000);
    }
}
