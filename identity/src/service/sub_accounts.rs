//! Sub-accounts: accounts a user (the parent) creates for desks or bots, each with its own
//! engine account, so its orders and balances are apart from the parent's.
//!
//! The model:
//! - A sub-account is a user row with its own engine account, registered with the engine
//!   like any other (at the parent's fee tier), linked to its parent.
//! - It has no password and cannot log in. Its login email is synthetic and unroutable
//!   (`sub-<random>@sub-account.invalid`), so the parent's `email` for it squats no one's
//!   address: that email only names it, unique among the parent's live sub-accounts.
//! - It acts only through API keys its parent creates for it (CreateSubAccountAPIKey). Its
//!   `permissions` are a ceiling: a key cannot be created beyond them, lowering them
//!   narrows its keys, and every signed request is checked against them, so a change
//!   applies at once.
//! - Only the parent manages it, with a session (the routes are `Policy::Trader`). Every
//!   query filters by the parent, so another user's sub-account is "not found" (1603).
//! - Deleting it deletes its keys and marks it deleted. Its engine account, and whatever it
//!   holds, stays: identity reads balances (QuerySubAccountAssets, through the reader the
//!   node attaches) but cannot move them.

use serde::Serialize;
use utoipa::ToSchema;

use super::account::checked_email;
use super::api_keys::checked_permissions;
use super::{ApiKeyView, CreatedApiKey, Identity, NewApiKey, RequestMeta};
use crate::engine::AssetBalance;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::keys::random_string;
use crate::signing::Permissions;
use crate::store::{CreateSubAccountError, NewSubAccountRow, SubAccountRow, SubjectKind};
use crate::validate;

/// The domain of sub-accounts' synthetic login emails (`.invalid` is reserved: RFC 2606).
pub const SUB_ACCOUNT_LOGIN_DOMAIN: &str = "sub-account.invalid";
/// A password hash that no password verifies against (not a PHC string).
const NO_PASSWORD: &str = "!sub-account: no password login";

/// A CreateSubAccount request.
#[derive(Debug, Clone, Default)]
pub struct NewSubAccount {
    pub email: String,
    pub label: String,
    pub permissions: Vec<String>,
}

/// A sub-account as its parent sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubAccountView {
    /// Its id in the sub-account routes.
    pub sub_account_id: i64,
    /// The parent's name for it (not a login).
    pub email: String,
    pub label: String,
    /// The most its API keys may do: some of `read`, `trade`, `withdraw`, `transfer`.
    #[schema(value_type = Vec<String>, example = json!(["read", "trade"]))]
    pub permissions: Vec<&'static str>,
    /// False while the engine has not confirmed its account (retried on its next key
    /// creation and at the node's start).
    pub engine_registered: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&SubAccountRow> for SubAccountView {
    fn from(row: &SubAccountRow) -> SubAccountView {
        SubAccountView {
            sub_account_id: row.user_id,
            email: row.email.clone(),
            label: row.label.clone(),
            permissions: Permissions::from_stored(&row.permissions).names(),
            engine_registered: row.engine_registered,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl Identity {
    /// The parent's live sub-account `sub_id`, or 1603.
    async fn own_sub_account(&self, parent_id: i64, sub_id: i64) -> ApiResult<SubAccountRow> {
        self.store.sub_account_of(parent_id, sub_id).await?.ok_or_else(|| ApiError::new(ErrorCode::SubAccountNotFound))
    }

    /// CreateSubAccount: a new sub-account with its own engine account, registered with
    /// the engine before the answer (like RegisterUser: if the engine refuses, 1501, and the
    /// registration is retried).
    pub async fn create_sub_account(
        &self,
        parent_id: i64,
        new: &NewSubAccount,
        meta: &RequestMeta,
    ) -> ApiResult<SubAccountView> {
        let email = checked_email(&new.email)?;
        let label = validate::label(&new.label)
            .ok_or_else(|| ApiError::with_msg(ErrorCode::InvalidField, "label: 1 to 64 characters"))?;
        let permissions = checked_permissions(&new.permissions)?;
        let parent = self.user(parent_id).await?;
        if self.store.sub_account(parent.id).await?.is_some() {
            return Err(ApiError::with_msg(ErrorCode::Forbidden, "a sub-account cannot have sub-accounts"));
        }
        let login_email =
            format!("sub-{}@{SUB_ACCOUNT_LOGIN_DOMAIN}", random_string(24, b"abcdefghijklmnopqrstuvwxyz0123456789"));
        let stored = permissions.to_stored();
        let row = NewSubAccountRow {
            parent_id,
            email: &email,
            label: &label,
            permissions: &stored,
            login_email: &login_email,
            password_hash: NO_PASSWORD,
            fee_tier: parent.fee_tier,
            engine_accounts_max: self.config.engine_accounts_max,
            max_per_parent: self.config.max_sub_accounts_per_user,
            now_ms: self.now_ms(),
        };
        let (user, sub) = match self.store.create_sub_account(&row).await {
            Ok(created) => created,
            Err(CreateSubAccountError::EmailTaken) => return Err(ApiError::new(ErrorCode::SubAccountEmailTaken)),
            Err(CreateSubAccountError::TooMany) => return Err(ApiError::new(ErrorCode::TooManySubAccounts)),
            Err(CreateSubAccountError::Capacity) => return Err(ApiError::new(ErrorCode::EngineCapacity)),
            Err(CreateSubAccountError::ParentGone) => return Err(ApiError::new(ErrorCode::AccountDisabled)),
            Err(CreateSubAccountError::Database(error)) => return Err(error.into()),
        };
        let detail =
            format!("sub-account {} ({label}, {email}): {stored}; engine account {}", user.id, user.engine_account);
        self.security(SubjectKind::User, parent_id, "sub_account_created", &detail, meta).await?;
        self.register_with_engine(&user).await?;
        Ok(SubAccountView::from(&SubAccountRow { engine_registered: true, ..sub }))
    }

    /// QuerySubAccounts: the parent's live sub-accounts.
    pub async fn sub_accounts(&self, parent_id: i64) -> ApiResult<Vec<SubAccountView>> {
        Ok(self.store.sub_accounts_of(parent_id).await?.iter().map(SubAccountView::from).collect())
    }

    /// DeleteSubAccount. With two-factor on, a current code is required. Its keys stop
    /// working at once; its engine account and balances are left as they are.
    pub async fn delete_sub_account(
        &self,
        parent_id: i64,
        sub_id: i64,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> ApiResult<()> {
        let parent = self.user(parent_id).await?;
        self.own_sub_account(parent_id, sub_id).await?;
        self.require_second_factor(&parent, code, meta).await?;
        let keys = self
            .store
            .delete_sub_account(parent_id, sub_id, self.now_ms())
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::SubAccountNotFound))?;
        let detail = format!("sub-account {sub_id}; {keys} API keys deleted");
        self.security(SubjectKind::User, parent_id, "sub_account_deleted", &detail, meta).await
    }

    /// ModifySubAccountPermissions: a new ceiling; its keys are narrowed to it at once.
    pub async fn modify_sub_account_permissions(
        &self,
        parent_id: i64,
        sub_id: i64,
        permissions: &[String],
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> ApiResult<SubAccountView> {
        let permissions = checked_permissions(permissions)?;
        let parent = self.user(parent_id).await?;
        self.own_sub_account(parent_id, sub_id).await?;
        self.require_second_factor(&parent, code, meta).await?;
        let stored = permissions.to_stored();
        let narrow = |key: &str| Permissions::from_stored(key).intersect(permissions).to_stored();
        let row = self
            .store
            .set_sub_account_permissions(parent_id, sub_id, &stored, narrow, self.now_ms())
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::SubAccountNotFound))?;
        let detail = format!("sub-account {sub_id}: {stored}");
        self.security(SubjectKind::User, parent_id, "sub_account_permissions_modified", &detail, meta).await?;
        Ok(SubAccountView::from(&row))
    }

    /// QuerySubAccountAssets: the sub-account's balances, from the reader the node attached
    /// (1604 while there is none). The sub-account is looked up first, so another user's is
    /// "not found" either way.
    pub async fn sub_account_assets(&self, parent_id: i64, sub_id: i64) -> ApiResult<Vec<AssetBalance>> {
        self.own_sub_account(parent_id, sub_id).await?;
        let reader = self.balances.get().ok_or_else(|| ApiError::new(ErrorCode::BalancesUnavailable))?;
        let sub = self.user(sub_id).await?;
        Ok(reader.balances(sub.engine_account))
    }

    /// CreateSubAccountAPIKey: a key for the sub-account, within its permissions, on the
    /// parent's word (the parent's two-factor code if on; `withdraw` needs the parent's
    /// two-factor and an IP whitelist). A pending engine registration is retried first.
    pub async fn create_sub_account_api_key(
        &self,
        parent_id: i64,
        sub_id: i64,
        new: &NewApiKey,
        meta: &RequestMeta,
    ) -> ApiResult<CreatedApiKey> {
        let parent = self.user(parent_id).await?;
        let sub = self.own_sub_account(parent_id, sub_id).await?;
        if !sub.engine_registered {
            self.register_with_engine(&self.user(sub_id).await?).await?;
        }
        let ceiling = Permissions::from_stored(&sub.permissions);
        let created = self.issue_api_key(sub_id, &parent, Some(ceiling), new, meta).await?;
        let key = &created.key;
        let detail = format!("sub-account {sub_id} key {} ({}): {}", key.id, key.label, key.permissions.join(","));
        self.security(SubjectKind::User, parent_id, "sub_account_api_key_created", &detail, meta).await?;
        Ok(created)
    }

    /// QuerySubAccountAPIKeys: the sub-account's keys, never a secret.
    pub async fn sub_account_api_keys(&self, parent_id: i64, sub_id: i64) -> ApiResult<Vec<ApiKeyView>> {
        self.own_sub_account(parent_id, sub_id).await?;
        self.api_keys(sub_id).await
    }

    /// DeleteSubAccountAPIKey. With two-factor on, the parent's code is required.
    pub async fn delete_sub_account_api_key(
        &self,
        parent_id: i64,
        sub_id: i64,
        key_id: i64,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> ApiResult<()> {
        let parent = self.user(parent_id).await?;
        self.own_sub_account(parent_id, sub_id).await?;
        if !self.store.api_keys_of(sub_id).await?.iter().any(|key| key.id == key_id) {
            return Err(ApiError::new(ErrorCode::ApiKeyNotFound));
        }
        self.require_second_factor(&parent, code, meta).await?;
        if !self.store.delete_api_key(sub_id, key_id).await? {
            return Err(ApiError::new(ErrorCode::ApiKeyNotFound));
        }
        let detail = format!("sub-account {sub_id} key {key_id}");
        self.security(SubjectKind::User, parent_id, "sub_account_api_key_deleted", &detail, meta).await
    }
}
