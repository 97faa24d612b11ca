//! The demo users: created once (email taken as verified, password generated and kept in
//! `<data_dir>/demo/credentials.json`, readable by the owner only), reused on every later
//! start, and funded once per asset through staff's audited balance adjustment, on behalf
//! of a demo staff account, with the reason [`FUNDING_REASON`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cex_config::{format_minor_units, to_minor_units, NodeConfig};
use cex_engine::{AccountId, AssetId};
use cex_identity::keys::random_string;
use cex_identity::{Identity, RequestMeta, StaffRole};
use cex_trading::admin::{adjust_balance, adjustments_of, AdjustRequest};
use cex_trading::Trading;
use serde::{Deserialize, Serialize};

use crate::quotes::start_price;

/// The audit reason of every demo funding: how a later start knows it is done.
pub const FUNDING_REASON: &str = "demo seed";
/// The staff account the funding is recorded under.
pub const SEEDER_EMAIL: &str = "seeder@demo.cex.local";
const DOMAIN: &str = "demo.cex.local";
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// What a demo user does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Quotes every symbol.
    Maker,
    /// Trades now and then: trader `n`, from 1.
    Trader(u32),
    /// Funded and left alone, for the person trying the exchange.
    Guest,
}

impl Role {
    pub fn all(traders: u32) -> Vec<Role> {
        let mut roles = vec![Role::Maker];
        roles.extend((1..=traders).map(Role::Trader));
        roles.push(Role::Guest);
        roles
    }

    pub fn email(self) -> String {
        match self {
            Role::Maker => format!("maker@{DOMAIN}"),
            Role::Trader(n) => format!("trader{n}@{DOMAIN}"),
            Role::Guest => format!("guest@{DOMAIN}"),
        }
    }
}

/// One demo user as seeded.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub role: Role,
    pub email: String,
    /// `None` if the user exists but the credentials file no longer has its password.
    pub password: Option<String>,
    pub user_id: i64,
    pub account: AccountId,
    /// Whether this start created it (a restart creates none).
    pub created: bool,
}

#[derive(Debug)]
pub struct SeedError(pub String);

impl std::fmt::Display for SeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "demo seed: {}", self.0)
    }
}

impl std::error::Error for SeedError {}

fn failed(what: &str) -> impl Fn(&dyn std::fmt::Display) -> SeedError + '_ {
    move |error| SeedError(format!("{what}: {error}"))
}

/// Creates the missing demo users and funds those not funded yet; returns them all.
pub async fn seed(
    config: &NodeConfig,
    identity: &std::sync::Arc<Identity>,
    trading: &Trading,
) -> Result<Vec<DemoUser>, SeedError> {
    let roles = Role::all(config.demo.traders);
    let path = credentials_path(&config.data_dir);
    let mut passwords = read_credentials(&path)?;
    let store = identity.store();
    let mut missing = Vec::new();
    for role in &roles {
        let email = role.email();
        if store.user_by_email(&email).await.map_err(|e| failed("user lookup")(&e))?.is_none() {
            passwords.entry(email.clone()).or_insert_with(new_password);
            missing.push(email);
        }
    }
    // Kept before the users exist, so no demo user has a password nobody knows.
    if !missing.is_empty() {
        write_credentials(&path, &passwords)?;
    }
    let meta = RequestMeta::new(None, Some("cex run --demo"));
    let mut users = Vec::with_capacity(roles.len());
    for role in roles {
        let email = role.email();
        let created = missing.contains(&email);
        let password = passwords.get(&email).cloned();
        let user = match store.user_by_email(&email).await.map_err(|e| failed("user lookup")(&e))? {
            Some(user) => user,
            None => {
                let password = password.as_deref().unwrap_or_default();
                identity
                    .register_verified(&email, password, FUNDING_REASON, &meta)
                    .await
                    .map_err(|e| failed(&email)(&e))?
            }
        };
        users.push(DemoUser { role, email, password, user_id: user.id, account: user.engine_account, created });
    }
    let staff_id = seeder(identity).await?;
    for user in &users {
        fund(config, identity, trading, staff_id, user).await?;
    }
    Ok(users)
}

/// The demo staff account (Admin, as the adjustment requires), created on first use with a
/// generated password nobody is shown: it exists to be named in the audit rows.
async fn seeder(identity: &std::sync::Arc<Identity>) -> Result<i64, SeedError> {
    let existing = identity.store().staff_by_email(SEEDER_EMAIL).await.map_err(|e| failed("staff lookup")(&e))?;
    match existing {
        Some(staff) => Ok(staff.id),
        None => {
            let created = identity.create_staff(SEEDER_EMAIL, StaffRole::Admin, None).await;
            Ok(created.map_err(|e| failed("the demo staff account")(&e))?.id)
        }
    }
}

/// What one demo user is given, per asset, in minor units: for each symbol,
/// `funding_value` of its quote asset and that much worth of its base asset at the start
/// price.
pub fn funding(config: &NodeConfig) -> BTreeMap<AssetId, i64> {
    let mut amounts = BTreeMap::new();
    for symbol in config.symbols() {
        let Ok(value) = to_minor_units(&config.demo.funding_value, symbol.quote.scale) else { continue };
        let price = start_price(symbol, &config.demo);
        let base_unit = 10i128.pow(u32::from(symbol.base.scale));
        let base = i64::try_from(i128::from(value) * base_unit / i128::from(price.max(1))).unwrap_or(i64::MAX);
        for (asset, amount) in [(symbol.quote.id, value), (symbol.base.id, base)] {
            let total: &mut i64 = amounts.entry(asset).or_default();
            *total = total.saturating_add(amount);
        }
    }
    amounts.retain(|_, amount| *amount > 0);
    amounts
}

/// Funds each asset the user has no applied demo funding of yet: once, ever.
async fn fund(
    config: &NodeConfig,
    identity: &Identity,
    trading: &Trading,
    staff_id: i64,
    user: &DemoUser,
) -> Result<(), SeedError> {
    let done = adjustments_of(identity.store(), user.user_id).await.map_err(|e| failed("audit lookup")(&e))?;
    for (asset_id, units) in funding(config) {
        let Some(asset) = config.asset_by_id(asset_id) else { continue };
        let funded =
            done.iter().any(|row| row.reason == FUNDING_REASON && row.asset == asset.name && row.status == "applied");
        if funded {
            continue;
        }
        let amount = format_minor_units(units, asset.scale);
        let request = AdjustRequest {
            staff_id,
            user_id: user.user_id,
            asset: &asset.name,
            amount: &amount,
            reason: FUNDING_REASON,
            ip: None,
        };
        adjust_balance(trading, &request)
            .await
            .map_err(|e| failed(&format!("funding {} {}", user.email, asset.name))(&e))?;
    }
    Ok(())
}

fn new_password() -> String {
    // "Demo-" gives the policy's mix of classes whatever is drawn.
    format!("Demo-{}", random_string(16, PASSWORD_ALPHABET))
}

pub fn credentials_path(data_dir: &Path) -> PathBuf {
    data_dir.join("demo").join("credentials.json")
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CredentialsFile {
    /// Email → password.
    users: BTreeMap<String, String>,
}

fn read_credentials(path: &Path) -> Result<BTreeMap<String, String>, SeedError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let file: CredentialsFile =
                serde_json::from_str(&text).map_err(|e| failed(&format!("{}", path.display()))(&e))?;
            Ok(file.users)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(error) => Err(failed(&format!("{}", path.display()))(&error)),
    }
}

/// Writes the file readable by its owner only, through a temporary file and a rename.
fn write_credentials(path: &Path, users: &BTreeMap<String, String>) -> Result<(), SeedError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = failed("the credentials file");
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(&e))?;
    let text = serde_json::to_string_pretty(&CredentialsFile { users: users.clone() }).map_err(|e| io(&e))?;
    let temporary = path.with_extension("json.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(|e| io(&e))?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| io(&e))?;
    std::fs::rename(&temporary, path).map_err(|e| io(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funding_covers_each_asset_of_each_symbol() {
        let config = NodeConfig::default();
        let amounts = funding(&config);
        // 100000 USDT per symbol; 100000 USDT worth of BTC at 65000 and of ETH at 3500.
        assert_eq!(amounts[&0], 200_000_000_000);
        assert_eq!(amounts[&1], 153_846_153);
        assert_eq!(amounts[&2], 2_857_142_857);
    }

    #[test]
    fn credentials_round_trip_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = credentials_path(dir.path());
        assert!(read_credentials(&path).unwrap().is_empty());
        let users = BTreeMap::from([("maker@demo.cex.local".to_string(), new_password())]);
        write_credentials(&path, &users).unwrap();
        assert_eq!(read_credentials(&path).unwrap(), users);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let password = &users["maker@demo.cex.local"];
        assert!(cex_identity::password::check_policy(password, "maker@demo.cex.local").is_ok(), "{password}");
        std::fs::write(&path, "not json").unwrap();
        assert!(read_credentials(&path).is_err());
    }

    #[test]
    fn roles_have_distinct_emails() {
        let emails: Vec<String> = Role::all(3).into_iter().map(Role::email).collect();
        assert_eq!(emails.len(), 5);
        assert_eq!(emails.iter().collect::<std::collections::BTreeSet<_>>().len(), 5);
        assert!(emails.iter().all(|email| cex_identity::validate::email(email).is_some()));
    }
}
