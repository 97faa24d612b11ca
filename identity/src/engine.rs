//! How identity tells the engine about new accounts. The node implements [`EngineAccounts`]
//! over the runtime's command ring (`Command::CreateAccount`).

use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Registers accounts with the matching engine. Object-safe: identity holds an
/// `Arc<dyn EngineAccounts>`.
///
/// `register` must be idempotent: identity retries an account whose earlier registration
/// failed or was cut short (at login, and in [`crate::Identity::register_pending`]), so an
/// account that already exists with this fee tier must answer `Ok(())`. It resolves once
/// the engine has applied the command (an accepted `AccountCreated`, or `AccountExists`);
/// `Err` carries a reason for the log, such as a reject or a full ring.
pub trait EngineAccounts: Send + Sync + 'static {
    fn register(&self, account: u32, fee_tier: u8) -> BoxFuture<'_, Result<(), String>>;
}

/// Reads an engine account's balances, for QuerySubAccountAssets. Identity keeps no
/// balances: the node attaches the trading read model's with
/// [`crate::Identity::attach_balances`]; until then the endpoint answers 1604.
pub trait AccountBalances: Send + Sync + 'static {
    /// Every asset the account has a balance record of, by ascending asset id.
    fn balances(&self, engine_account: u32) -> Vec<AssetBalance>;
}

/// One asset's balance, as decimal strings in whole units.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AssetBalance {
    #[schema(example = "USDT")]
    pub asset: String,
    /// Free to use.
    #[schema(example = "1250.5")]
    pub available: String,
    /// Held by open orders.
    #[schema(example = "100")]
    pub frozen: String,
}
