//! API keys, and verifying what is signed with them: HTTP requests (Binance style) and the
//! binary gateway's logon.
//!
//! The secret must be recoverable to check an HMAC, so it cannot be hashed: it is stored
//! sealed with AES-256-GCM under the vault key (`identity-vault.key`), bound to its API key,
//! and shown to the user once, in the CreateAPIKey response.

use std::net::IpAddr;

use serde::Serialize;
use utoipa::ToSchema;

use super::{Identity, RequestMeta};
use crate::config::IdentityConfig;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::keys::{ct_eq, random_string, Keys, ALPHANUMERIC};
use crate::signing::{
    self, ip_allowed, logon_payload, parse_signed_query, timestamp_fresh, KeyGrant, Permission, Permissions,
    ReplayError, LOGON_WINDOW_MS,
};
use crate::store::{ApiKeyRow, Store, SubjectKind, UserRow};
use crate::validate;

const MAX_WHITELIST: usize = 30;

/// A CreateAPIKey request.
#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    pub label: String,
    pub permissions: Vec<String>,
    pub ip_whitelist: Option<Vec<String>>,
    pub two_factor_code: Option<String>,
}

/// An API key as listed: never its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: i64,
    pub api_key: String,
    pub label: String,
    /// Some of `read`, `trade`, `withdraw`, `transfer`.
    #[schema(value_type = Vec<String>, example = json!(["read", "trade"]))]
    pub permissions: Vec<&'static str>,
    /// Exact IPv4/IPv6 addresses; empty: any address.
    pub ip_whitelist: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<&ApiKeyRow> for ApiKeyView {
    fn from(row: &ApiKeyRow) -> ApiKeyView {
        ApiKeyView {
            id: row.id,
            api_key: row.api_key.clone(),
            label: row.label.clone(),
            permissions: Permissions::from_stored(&row.permissions).names(),
            ip_whitelist: split_whitelist(&row.ip_whitelist),
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// The CreateAPIKey answer: the only time the secret is shown.
// Debug hides the secret.
#[derive(Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The HMAC secret: shown here once, never again.
    pub secret_key: String,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey").field("key", &self.key).finish_non_exhaustive()
    }
}

fn split_whitelist(stored: &str) -> Vec<String> {
    stored.split(',').filter(|entry| !entry.is_empty()).map(str::to_string).collect()
}

pub(crate) fn checked_permissions(names: &[String]) -> ApiResult<Permissions> {
    match Permissions::parse(names) {
        Some(permissions) if !permissions.is_empty() => Ok(permissions),
        _ => Err(ApiError::new(ErrorCode::InvalidPermission)),
    }
}

fn checked_whitelist(entries: &[String]) -> ApiResult<String> {
    if entries.len() > MAX_WHITELIST {
        return Err(ApiError::with_msg(ErrorCode::InvalidField, "ipWhitelist: at most 30 addresses"));
    }
    let mut ips = Vec::with_capacity(entries.len());
    for entry in entries {
        let ip: IpAddr = entry
            .trim()
            .parse()
            .map_err(|_| ApiError::with_msg(ErrorCode::InvalidField, "ipWhitelist: IP addresses only"))?;
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    Ok(ips.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(","))
}

fn key_context(api_key: &str) -> String {
    format!("api-key:{api_key}")
}

/// A new key's label, permissions and whitelist, checked.
pub(crate) struct CheckedKey {
    label: String,
    permissions: Permissions,
    whitelist: String,
}

/// What every new key must pass, whoever asks for it (the owner, a sub-account's parent, an
/// operator): the label, the permissions (within `ceiling`), the whitelist, the `withdraw`
/// safeguards on `guardian` and the owner's key limit. The second factor is the caller's
/// business.
pub(crate) async fn check_new_key(
    store: &Store,
    config: &IdentityConfig,
    owner: i64,
    guardian: &UserRow,
    ceiling: Option<Permissions>,
    new: &NewApiKey,
) -> ApiResult<CheckedKey> {
    let label = validate::label(&new.label)
        .ok_or_else(|| ApiError::with_msg(ErrorCode::InvalidField, "label: 1 to 64 characters"))?;
    let permissions = checked_permissions(&new.permissions)?;
    if ceiling.is_some_and(|ceiling| !permissions.is_subset_of(ceiling)) {
        return Err(ApiError::new(ErrorCode::SubAccountPermissionExceeded));
    }
    let whitelist = checked_whitelist(new.ip_whitelist.as_deref().unwrap_or_default())?;
    Identity::check_withdraw_safeguards(permissions, guardian.two_factor_enabled(), &whitelist)?;
    if store.count_api_keys(owner).await? >= config.max_api_keys_per_user {
        return Err(ApiError::new(ErrorCode::TooManyApiKeys));
    }
    Ok(CheckedKey { label, permissions, whitelist })
}

/// Generates the key and its secret, seals the secret and stores the key.
pub(crate) async fn insert_key(
    store: &Store,
    keys: &Keys,
    owner: i64,
    checked: CheckedKey,
    now_ms: i64,
) -> ApiResult<CreatedApiKey> {
    let CheckedKey { label, permissions, whitelist } = checked;
    let api_key = random_string(64, ALPHANUMERIC);
    let secret = random_string(64, ALPHANUMERIC);
    let sealed = keys.seal(&key_context(&api_key), secret.as_bytes());
    let stored = permissions.to_stored();
    let row = store.insert_api_key(owner, &api_key, &sealed, &label, &stored, &whitelist, now_ms).await?;
    Ok(CreatedApiKey { key: ApiKeyView::from(&row), secret_key: secret })
}

impl Identity {
    /// The withdraw permission needs two-factor on and an IP whitelist.
    fn check_withdraw_safeguards(permissions: Permissions, two_factor: bool, whitelist: &str) -> ApiResult<()> {
        if permissions.contains(Permission::Withdraw) && (!two_factor || whitelist.is_empty()) {
            return Err(ApiError::new(ErrorCode::WithdrawNeedsSafeguards));
        }
        Ok(())
    }

    /// CreateAPIKey. With two-factor on, a current code is required.
    pub async fn create_api_key(&self, user_id: i64, new: &NewApiKey, meta: &RequestMeta) -> ApiResult<CreatedApiKey> {
        let user = self.user(user_id).await?;
        let created = self.issue_api_key(user_id, &user, None, new, meta).await?;
        let key = &created.key;
        let detail = format!("key {} ({}): {}", key.id, key.label, key.permissions.join(","));
        self.security(SubjectKind::User, user_id, "api_key_created", &detail, meta).await?;
        Ok(created)
    }

    /// A new key owned by `owner`, on the word of `guardian` (the owner, or the parent of a
    /// sub-account): the guardian's two-factor guards it and decides whether `withdraw` may
    /// be granted. With `ceiling`, the key may hold nothing beyond it.
    pub(crate) async fn issue_api_key(
        &self,
        owner: i64,
        guardian: &UserRow,
        ceiling: Option<Permissions>,
        new: &NewApiKey,
        meta: &RequestMeta,
    ) -> ApiResult<CreatedApiKey> {
        let checked = check_new_key(&self.store, &self.config, owner, guardian, ceiling, new).await?;
        self.require_second_factor(guardian, new.two_factor_code.as_deref(), meta).await?;
        insert_key(&self.store, &self.keys, owner, checked, self.now_ms()).await
    }

    /// DeleteAPIKey. Only the owner's keys; another user's id is "not found".
    pub async fn delete_api_key(
        &self,
        user_id: i64,
        key_id: i64,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> ApiResult<()> {
        let user = self.user(user_id).await?;
        if !self.store.api_keys_of(user_id).await?.iter().any(|key| key.id == key_id) {
            return Err(ApiError::new(ErrorCode::ApiKeyNotFound));
        }
        self.require_second_factor(&user, code, meta).await?;
        if !self.store.delete_api_key(user_id, key_id).await? {
            return Err(ApiError::new(ErrorCode::ApiKeyNotFound));
        }
        self.security(SubjectKind::User, user_id, "api_key_deleted", &format!("key {key_id}"), meta).await
    }

    /// ModifyAPIPermissions: new permissions, and a new whitelist if given.
    pub async fn modify_api_key(
        &self,
        user_id: i64,
        key_id: i64,
        permissions: &[String],
        ip_whitelist: Option<&[String]>,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> ApiResult<ApiKeyView> {
        let permissions = checked_permissions(permissions)?;
        let user = self.user(user_id).await?;
        let keys = self.store.api_keys_of(user_id).await?;
        let current =
            keys.iter().find(|key| key.id == key_id).ok_or_else(|| ApiError::new(ErrorCode::ApiKeyNotFound))?;
        let whitelist = match ip_whitelist {
            Some(entries) => checked_whitelist(entries)?,
            None => current.ip_whitelist.clone(),
        };
        Identity::check_withdraw_safeguards(permissions, user.two_factor_enabled(), &whitelist)?;
        self.require_second_factor(&user, code, meta).await?;
        let stored = permissions.to_stored();
        let row = self
            .store
            .update_api_key(user_id, key_id, &stored, &whitelist, self.now_ms())
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::ApiKeyNotFound))?;
        let detail = format!("key {key_id}: {stored}; whitelist [{whitelist}]");
        self.security(SubjectKind::User, user_id, "api_key_modified", &detail, meta).await?;
        Ok(ApiKeyView::from(&row))
    }

    /// QueryAPIKeys.
    pub async fn api_keys(&self, user_id: i64) -> ApiResult<Vec<ApiKeyView>> {
        Ok(self.store.api_keys_of(user_id).await?.iter().map(ApiKeyView::from).collect())
    }

    /// Verifies a signed HTTP request: key, freshness, signature, IP whitelist, then the
    /// replay cache (only well-signed requests enter it). `raw_query` is the request's query
    /// string as sent; `body` its raw bytes.
    pub async fn authenticate_signed(
        &self,
        api_key: &str,
        raw_query: &str,
        body: &[u8],
        ip: Option<IpAddr>,
    ) -> ApiResult<KeyGrant> {
        let signed = parse_signed_query(raw_query).map_err(|(code, msg)| ApiError::with_msg(code, msg))?;
        let window = signed.recv_window_ms.unwrap_or(self.config.recv_window_default_ms);
        if !(1..=self.config.recv_window_max_ms).contains(&window) {
            let msg = format!("recvWindow must be 1 to {}", self.config.recv_window_max_ms);
            return Err(ApiError::with_msg(ErrorCode::InvalidField, msg));
        }
        let payload = signing::signing_payload(&signed.unsigned_query, body);
        self.verify_key_signature(api_key, &payload, &signed.signature, signed.timestamp_ms, window, ip).await
    }

    /// The binary gateway's logon: `signature` is the raw HMAC-SHA256, keyed with the API
    /// secret, of [`logon_payload`]`(api_key, timestamp_ms, nonce)`; the window is
    /// [`LOGON_WINDOW_MS`] and each signature is accepted once. The gateway checks the
    /// grant's permissions (`trade` to place orders).
    pub async fn verify_logon(
        &self,
        api_key: &str,
        timestamp_ms: i64,
        nonce: u64,
        signature: &[u8],
        ip: Option<IpAddr>,
    ) -> ApiResult<KeyGrant> {
        let payload = logon_payload(api_key, timestamp_ms, nonce);
        self.verify_key_signature(api_key, payload.as_bytes(), signature, timestamp_ms, LOGON_WINDOW_MS, ip).await
    }

    async fn verify_key_signature(
        &self,
        api_key: &str,
        payload: &[u8],
        signature: &[u8],
        timestamp_ms: i64,
        window_ms: i64,
        ip: Option<IpAddr>,
    ) -> ApiResult<KeyGrant> {
        let now = self.now_ms();
        if !timestamp_fresh(timestamp_ms, window_ms, now) {
            return Err(ApiError::new(ErrorCode::StaleTimestamp));
        }
        let row = self.store.api_key_by_key(api_key).await?.ok_or_else(|| ApiError::new(ErrorCode::InvalidApiKey))?;
        let secret = self
            .keys
            .open(&key_context(&row.api_key), &row.secret_sealed)
            .ok_or_else(|| ApiError::internal(format_args!("API key {}: the secret does not open", row.id)))?;
        let secret = String::from_utf8(secret).map_err(|_| ApiError::internal("an API secret is not UTF-8"))?;
        let expected = signing::sign(&secret, payload);
        if !ct_eq(&expected, signature) {
            return Err(ApiError::new(ErrorCode::InvalidSignature));
        }
        if !ip_allowed(&row.ip_whitelist, ip) {
            return Err(ApiError::new(ErrorCode::IpNotAllowed));
        }
        let grant = self.grant_of(&row).await?;
        match self.replay.check_and_insert(signature, timestamp_ms.saturating_add(window_ms + 1), now) {
            Ok(()) => {}
            Err(ReplayError::Replayed) => return Err(ApiError::new(ErrorCode::ReplayedRequest)),
            Err(ReplayError::Full) => return Err(ApiError::new(ErrorCode::ReplayCacheFull)),
        }
        self.store.touch_api_key(row.id, now).await?;
        Ok(grant)
    }

    /// What the key of `row` may do now; refused if its user is disabled.
    async fn grant_of(&self, row: &ApiKeyRow) -> ApiResult<KeyGrant> {
        let user = self.user(row.user_id).await?;
        if user.status != "active" {
            return Err(ApiError::new(ErrorCode::AccountDisabled));
        }
        // A sub-account's key does no more than the sub-account may, and nothing once its
        // parent is disabled.
        let mut permissions = Permissions::from_stored(&row.permissions);
        let sub_account_of = match self.store.sub_account(user.id).await? {
            Some(sub) => {
                let parent = self.user(sub.parent_id).await?;
                if sub.deleted_at.is_some() || parent.status != "active" {
                    return Err(ApiError::new(ErrorCode::AccountDisabled));
                }
                permissions = permissions.intersect(Permissions::from_stored(&sub.permissions));
                Some(sub.parent_id)
            }
            None => None,
        };
        Ok(KeyGrant {
            user_id: user.id,
            engine_account: user.engine_account,
            key_id: row.id,
            permissions,
            sub_account_of,
        })
    }

    /// Whether a grant made when a connection opened still holds: the key still exists and
    /// may still do `permission`, and its user is still active. For connections that outlive
    /// the request that opened them (the user data stream).
    pub async fn recheck_grant(&self, grant: &KeyGrant, permission: Permission) -> ApiResult<()> {
        let keys = self.store.api_keys_of(grant.user_id).await?;
        let row =
            keys.iter().find(|row| row.id == grant.key_id).ok_or_else(|| ApiError::new(ErrorCode::InvalidApiKey))?;
        if !self.grant_of(row).await?.permissions.contains(permission) {
            return Err(ApiError::new(ErrorCode::KeyPermissionDenied));
        }
        Ok(())
    }
}
