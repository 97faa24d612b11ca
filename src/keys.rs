//! `cex keys …`: an operator provisions, lists and revokes an institutional client's API keys,
//! offline against the node's store (like `cex admin create-staff`), with or without a
//! running node. The key signs the binary gateway's Logon and REST requests.

use std::net::IpAddr;
use std::process::ExitCode;

use cex_identity::service::{ApiKeyView, CreatedApiKey};
use cex_identity::{ErrorCode, IdentityConfig, IdentityError, Permissions};

use crate::run::ConfigArgs;

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Create an API key for the user owning an engine account. Prints the key and its
    /// secret; the secret is shown this once.
    Create {
        /// The engine account id of an existing user (or sub-account).
        #[arg(long)]
        account: u32,
        /// Comma-separated: read, trade, withdraw, transfer.
        #[arg(long, value_delimiter = ',', required = true)]
        permissions: Vec<String>,
        /// A name for the key, 1 to 64 characters.
        #[arg(long, default_value = "gateway")]
        label: String,
        /// Allow the key only from this address; repeat for more. Without it: any address.
        #[arg(long = "ip")]
        ips: Vec<IpAddr>,
        /// Print the key (and its secret) as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List the API keys of the user owning an engine account (never their secrets).
    List {
        #[arg(long)]
        account: u32,
        /// One JSON object per key.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Delete an API key: signed requests and new gateway logons with it fail at once.
    Revoke {
        #[arg(long)]
        account: u32,
        #[arg(long)]
        api_key: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// Why a `cex keys` command failed, and its exit code.
enum Failure {
    /// The invocation is wrong: exit 2.
    Usage(String),
    /// It could not be done: exit 1.
    Failed(String),
}

pub fn run(command: &KeysCommand) -> ExitCode {
    let (name, result) = match command {
        KeysCommand::Create { account, permissions, label, ips, json, config } => {
            ("create", create(config, *account, permissions, label, ips, *json))
        }
        KeysCommand::List { account, json, config } => ("list", list(config, *account, *json)),
        KeysCommand::Revoke { account, api_key, config } => ("revoke", revoke(config, *account, api_key)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("cex keys {name}: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("cex keys {name}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn create(
    config: &ConfigArgs,
    account: u32,
    permissions: &[String],
    label: &str,
    ips: &[IpAddr],
    json: bool,
) -> Result<(), Failure> {
    check_permissions(permissions)?;
    let identity = identity_config(config)?;
    let whitelist: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
    let created = block_on(cex_identity::provision_api_key(&identity, account, permissions, label, &whitelist))?;
    if json {
        let text = serde_json::to_string(&created).map_err(|error| Failure::Failed(error.to_string()))?;
        println!("{text}");
    } else {
        print_created(account, &created);
    }
    Ok(())
}

fn print_created(account: u32, created: &CreatedApiKey) {
    let key = &created.key;
    println!(
        "created API key {} for engine account {account}: label {:?}, permissions {}, {}",
        key.id,
        key.label,
        key.permissions.join(","),
        allowed_from(&key.ip_whitelist),
    );
    println!("api key: {}", key.api_key);
    println!("secret:  {}", created.secret_key);
    println!("The secret is shown once and cannot be recovered: store it now (for `cex trade`, in a file");
    println!("readable only by you, passed with --secret-file, or in the CEX_API_SECRET variable).");
}

fn list(config: &ConfigArgs, account: u32, json: bool) -> Result<(), Failure> {
    let identity = identity_config(config)?;
    let keys = block_on(cex_identity::list_api_keys(&identity, account))?;
    for key in &keys {
        if json {
            let text = serde_json::to_string(key).map_err(|error| Failure::Failed(error.to_string()))?;
            println!("{text}");
        } else {
            println!("{}", key_line(key));
        }
    }
    if keys.is_empty() && !json {
        println!("engine account {account} has no API keys");
    }
    Ok(())
}

fn key_line(key: &ApiKeyView) -> String {
    let last_used = key.last_used_at.map_or_else(|| "never".to_string(), |ms| ms.to_string());
    format!(
        "{} {} label={:?} permissions={} {} created_ms={} last_used_ms={last_used}",
        key.id,
        key.api_key,
        key.label,
        key.permissions.join(","),
        allowed_from(&key.ip_whitelist),
        key.created_at,
    )
}

fn revoke(config: &ConfigArgs, account: u32, api_key: &str) -> Result<(), Failure> {
    let identity = identity_config(config)?;
    let revoked = block_on(cex_identity::revoke_api_key(&identity, account, api_key))?;
    println!("revoked API key {} ({}) of engine account {account}", revoked.id, revoked.api_key);
    Ok(())
}

fn allowed_from(whitelist: &[String]) -> String {
    if whitelist.is_empty() {
        "from any address".to_string()
    } else {
        format!("from {}", whitelist.join(","))
    }
}

/// Refuses unknown names before the store is opened: a typo is a usage error.
fn check_permissions(names: &[String]) -> Result<(), Failure> {
    match Permissions::parse(names) {
        Some(permissions) if !permissions.is_empty() => Ok(()),
        _ => Err(Failure::Usage(format!(
            "--permissions {:?}: use one or more of read, trade, withdraw, transfer",
            names.join(",")
        ))),
    }
}

fn identity_config(config: &ConfigArgs) -> Result<IdentityConfig, Failure> {
    let config = config.load().map_err(|errors| Failure::Usage(errors.to_string()))?;
    Ok(cex_node::identity_config(&config))
}

fn block_on<T>(future: impl std::future::Future<Output = Result<T, IdentityError>>) -> Result<T, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::Failed(format!("cannot start a runtime: {error}")))?;
    runtime.block_on(future).map_err(failure)
}

/// Refusals of what was asked (a malformed field or permission set) are usage errors;
/// everything else is a failure.
fn failure(error: IdentityError) -> Failure {
    match &error {
        IdentityError::Api(api) if is_usage(api.code) => Failure::Usage(error.to_string()),
        _ => Failure::Failed(error.to_string()),
    }
}

fn is_usage(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::InvalidField
            | ErrorCode::InvalidPermission
            | ErrorCode::WithdrawNeedsSafeguards
            | ErrorCode::SubAccountPermissionExceeded
    )
}
