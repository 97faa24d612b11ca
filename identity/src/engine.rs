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
