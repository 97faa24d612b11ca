//! Identity: users, sessions, two-factor, API keys and signed requests, sub-accounts, the
//! delivery of verification codes (outbox, dev sink, SMTP), staff roles, and the
//! authorization layer every HTTP sidecar uses. See docs/IDENTITY.md.
//!
//! - [`Identity`] (in [`service`]) is the service: open it with an [`IdentityConfig`] and an
//!   [`EngineAccounts`] implementation.
//! - [`http::router`] gives the axum router of the user-domain endpoints.
//! - [`authz::SecureRouter`] is how every sidecar declares its routes with a [`authz::Policy`].
//! - [`create_staff`] bootstraps staff accounts (`cex admin create-staff`); [`provision_api_key`],
//!   [`list_api_keys`] and [`revoke_api_key`] manage a client's API keys for an operator
//!   (`cex keys`).
//! - [`openapi`] generates the OpenAPI document (`/api/docs/openapi.json`) and its page
//!   (`/api/docs`).
//! - [`Identity::verify_logon`] checks a binary-gateway logon against the same API keys.

pub mod authz;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod engine;
pub mod error;
pub mod http;
pub mod keys;
pub mod openapi;
pub mod password;
pub mod service;
pub mod signing;
pub mod store;
pub mod tokens;
pub mod totp;
pub mod validate;

pub use config::IdentityConfig;
pub use engine::{AccountBalances, AssetBalance, EngineAccounts};
pub use error::{ApiError, ApiResult, ErrorCode};
pub use service::{
    create_staff, list_api_keys, provision_api_key, revoke_api_key, Identity, IdentityError, RequestMeta, StaffCreated,
    StaffRole, TokenPair,
};
pub use signing::{KeyGrant, Permission, Permissions};
