//! `cex run --demo`: a live market on first run, for local trials (docs/OPERATIONS.md,
//! "Demo mode"). It seeds demo users with balances ([`seed`]), then runs a market maker
//! quoting a ladder around a reference price on every symbol and a few traders trading now
//! and then ([`bots`]), inside the node, until [`Demo::stop`].

pub mod bots;
pub mod quotes;
pub mod seed;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cex_config::NodeConfig;
use cex_engine::AccountId;
use cex_node::Services;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use seed::{DemoUser, Role, SeedError};

/// How long the bots get to finish what they are sending when told to stop.
const STOP_GRACE: Duration = Duration::from_secs(10);

pub struct Demo {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    market: Arc<bots::Market>,
    accounts: Vec<AccountId>,
    runtime: tokio::runtime::Handle,
}

impl Demo {
    /// Seeds the demo users (creating and funding only what is missing) and starts the bots
    /// on the node's runtime. Returns the users, for [`banner`].
    pub fn start(config: &NodeConfig, services: &Services) -> Result<(Demo, Vec<DemoUser>), SeedError> {
        let runtime = services.runtime.clone();
        let users = runtime.block_on(seed::seed(config, &services.identity, &services.trading))?;
        let model = services.trading.model().clone();
        let market = Arc::new(bots::Market::new(config, model, services.engine.clone()));
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut accounts = Vec::new();
        for user in &users {
            let (market, stopped) = (market.clone(), stopped.clone());
            let task = match user.role {
                Role::Maker => runtime.spawn(bots::market_maker(market, user.account, stopped)),
                Role::Trader(n) => {
                    let seed = config.demo.seed.wrapping_add(u64::from(n));
                    runtime.spawn(bots::trader(market, user.account, seed, stopped))
                }
                Role::Guest => continue,
            };
            tasks.push(task);
            accounts.push(user.account);
        }
        tracing::warn!(bots = tasks.len(), "demo mode: bots are trading; for local trials only");
        Ok((Demo { stop, tasks, market, accounts, runtime }, users))
    }

    /// Stops the bots, then cancels their orders. Call before the node shuts down.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        let (tasks, market, accounts) = (self.tasks, self.market, self.accounts);
        self.runtime.block_on(async move {
            for task in tasks {
                if tokio::time::timeout(STOP_GRACE, task).await.is_err() {
                    tracing::warn!("demo: a bot did not stop in time");
                }
            }
            for account in accounts {
                market.withdraw(account).await;
            }
        });
        tracing::info!("demo: bots stopped, their orders cancelled");
    }
}

/// What `cex run --demo` prints at start: the warning, where to connect, and the demo
/// users' credentials.
pub fn banner(users: &[DemoUser], rest: SocketAddr, data_dir: &std::path::Path) -> String {
    let mut text = String::from(
        "==================================================================\n\
         DEMO MODE: for local trials only. Bots trade on demo accounts whose\n\
         passwords are printed below and kept in plain text on disk.\n\
         ==================================================================\n",
    );
    text += &format!("REST API: http://{rest}  (log in: POST /api/v1/auth/login)\n");
    text += "Demo users:\n";
    for user in users {
        let role = match user.role {
            Role::Maker => "market maker".to_string(),
            Role::Trader(n) => format!("trader {n}"),
            Role::Guest => "guest, yours to trade with".to_string(),
        };
        let password = user.password.as_deref().unwrap_or("(unknown: the credentials file was removed)");
        text += &format!("  {:<28} password {:<24} {role}\n", user.email, password);
    }
    text += &format!("Credentials file: {}\n", seed::credentials_path(data_dir).display());
    text
}
