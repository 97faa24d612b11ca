//! API keys an operator provisions for an institutional client (`cex keys create`, `list`,
//! `revoke`), offline against the node's store: no session and no second factor. Whoever
//! runs these holds the node's data directory, vault key included, so asking for the
//! client's two-factor code would protect nothing. Every other rule of CreateAPIKey applies
//! (label, permissions, a sub-account's ceiling, whitelist, `withdraw` safeguards, the key
//! limit), and each change goes to the owner's security log.

use super::api_keys::{check_new_key, insert_key};
use super::{ApiKeyView, CreatedApiKey, IdentityError, NewApiKey};
use crate::clock::{Clock, SystemClock};
use crate::config::IdentityConfig;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::keys::Keys;
use crate::signing::Permissions;
use crate::store::{Store, SubjectKind, UserRow};

/// Who a provisioned key belongs to, and who vouches for it.
struct Owner {
    user: UserRow,
    /// The user whose two-factor decides whether `withdraw` may be granted: the owner, or a
    /// sub-account's parent.
    guardian: UserRow,
    /// A sub-account's permissions: its keys hold nothing beyond them.
    ceiling: Option<Permissions>,
}

/// The node's store and vault key, opened for one operator command.
struct Offline<'a> {
    config: &'a IdentityConfig,
    store: Store,
    keys: Keys,
}

impl<'a> Offline<'a> {
    async fn open(config: &'a IdentityConfig) -> Result<Offline<'a>, IdentityError> {
        std::fs::create_dir_all(&config.data_dir).map_err(IdentityError::DataDir)?;
        let keys = Keys::load_or_create(&config.data_dir).map_err(IdentityError::Keys)?;
        let store = Store::connect(&config.database_url()).await.map_err(IdentityError::Store)?;
        Ok(Offline { config, store, keys })
    }

    /// The live, active owner of `engine_account`.
    async fn owner(&self, engine_account: u32) -> Result<Owner, IdentityError> {
        let user = self
            .store
            .user_by_engine_account(engine_account)
            .await
            .map_err(ApiError::from)?
            .ok_or(IdentityError::UnknownAccount(engine_account))?;
        if user.status != "active" {
            return Err(ApiError::new(ErrorCode::AccountDisabled).into());
        }
        let Some(sub) = self.store.sub_account(user.id).await.map_err(ApiError::from)? else {
            return Ok(Owner { guardian: user.clone(), user, ceiling: None });
        };
        let parent = self.store.user_by_id(sub.parent_id).await.map_err(ApiError::from)?;
        match parent {
            Some(parent) if sub.deleted_at.is_none() && parent.status == "active" => {
                Ok(Owner { user, guardian: parent, ceiling: Some(Permissions::from_stored(&sub.permissions)) })
            }
            _ => Err(ApiError::new(ErrorCode::AccountDisabled).into()),
        }
    }

    async fn log(&self, user_id: i64, event: &str, detail: &str) -> ApiResult<()> {
        let now = SystemClock.now_ms();
        self.store.insert_security_log(SubjectKind::User, user_id, event, detail, None, now).await?;
        Ok(())
    }

    async fn create(&self, engine_account: u32, new: &NewApiKey) -> Result<CreatedApiKey, IdentityError> {
        let Owner { user, guardian, ceiling } = self.owner(engine_account).await?;
        let checked = check_new_key(&self.store, self.config, user.id, &guardian, ceiling, new).await?;
        let created = insert_key(&self.store, &self.keys, user.id, checked, SystemClock.now_ms()).await?;
        let key = &created.key;
        let detail =
            format!("key {} ({}): {}; by an operator (cex keys)", key.id, key.label, key.permissions.join(","));
        self.log(user.id, "api_key_provisioned", &detail).await?;
        tracing::info!(user = user.id, engine_account, key = key.id, "API key provisioned");
        Ok(created)
    }

    async fn list(&self, engine_account: u32) -> Result<Vec<ApiKeyView>, IdentityError> {
        let user = self.owner(engine_account).await?.user;
        let rows = self.store.api_keys_of(user.id).await.map_err(ApiError::from)?;
        Ok(rows.iter().map(ApiKeyView::from).collect())
    }

    async fn revoke(&self, engine_account: u32, api_key: &str) -> Result<ApiKeyView, IdentityError> {
        let user = self.owner(engine_account).await?.user;
        let rows = self.store.api_keys_of(user.id).await.map_err(ApiError::from)?;
        let row =
            rows.iter().find(|row| row.api_key == api_key).ok_or_else(|| ApiError::new(ErrorCode::ApiKeyNotFound))?;
        if !self.store.delete_api_key(user.id, row.id).await.map_err(ApiError::from)? {
            return Err(ApiError::new(ErrorCode::ApiKeyNotFound).into());
        }
        let detail = format!("key {} ({}); by an operator (cex keys)", row.id, row.label);
        self.log(user.id, "api_key_revoked", &detail).await?;
        tracing::info!(user = user.id, engine_account, key = row.id, "API key revoked");
        Ok(ApiKeyView::from(row))
    }

    async fn close(self) {
        self.store.close().await;
    }
}

/// `cex keys create`: a new API key for the user (or sub-account) owning `engine_account`,
/// with `permissions` (names: `read`, `trade`, `withdraw`, `transfer`), `label` and an IP
/// whitelist (empty: any address). The secret is in the answer, and never again.
pub async fn provision_api_key(
    config: &IdentityConfig,
    engine_account: u32,
    permissions: &[String],
    label: &str,
    ip_whitelist: &[String],
) -> Result<CreatedApiKey, IdentityError> {
    let new = NewApiKey {
        label: label.to_string(),
        permissions: permissions.to_vec(),
        ip_whitelist: Some(ip_whitelist.to_vec()),
        two_factor_code: None,
    };
    let offline = Offline::open(config).await?;
    let created = offline.create(engine_account, &new).await;
    offline.close().await;
    created
}

/// `cex keys list`: the API keys of the owner of `engine_account`, never a secret.
pub async fn list_api_keys(config: &IdentityConfig, engine_account: u32) -> Result<Vec<ApiKeyView>, IdentityError> {
    let offline = Offline::open(config).await?;
    let keys = offline.list(engine_account).await;
    offline.close().await;
    keys
}

/// `cex keys revoke`: deletes `api_key`, which must belong to the owner of `engine_account`.
/// It stops working at once for signed requests and new gateway logons.
pub async fn revoke_api_key(
    config: &IdentityConfig,
    engine_account: u32,
    api_key: &str,
) -> Result<ApiKeyView, IdentityError> {
    let offline = Offline::open(config).await?;
    let revoked = offline.revoke(engine_account, api_key).await;
    offline.close().await;
    revoked
}
