//! A node in this process for `cex bench rest` and `cex bench ws-fanout`: the node `cex run`
//! starts, in a temporary data directory, on free loopback ports, with the REST rate limits
//! off (the benchmarks measure the path, not the limits), and funded traders made the way a
//! user is: registered and verified through the REST API (codes read back from the dev mail
//! sink), logged in, and credited by an Admin through the staff adjustment route.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cex_config::NodeConfig;
use cex_identity::delivery::DevSink;
use cex_identity::StaffRole;
use cex_journal::Durability;
use cex_node::Node;
use serde_json::json;
use tempfile::TempDir;

use crate::http::Connection;

/// How long a verification code may take to reach the dev sink.
const CODE_WAIT: Duration = Duration::from_secs(10);

/// A logged-in, funded user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trader {
    pub id: i64,
    pub token: String,
}

pub struct BenchNode {
    node: Node,
    config: NodeConfig,
    _dir: TempDir,
    admin_token: String,
    password: String,
}

impl BenchNode {
    /// Starts a node with `durability` in a temporary directory (in `parent` if given), with
    /// an Admin to fund traders.
    pub fn start(durability: Durability, parent: Option<&Path>) -> Result<BenchNode, String> {
        let dir = match parent {
            Some(parent) => tempfile::tempdir_in(parent),
            None => tempfile::tempdir(),
        }
        .map_err(|e| format!("temporary directory: {e}"))?;
        let mut config = NodeConfig::default();
        config.data_dir = dir.path().to_path_buf();
        (config.network.rest_port, config.network.gateway_port, config.network.ops_port) = (0, 0, 0);
        config.journal.durability = durability;
        config.limits.enabled = false;
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let password = format!("bench {seed:x} staple battery");
        let admin_email = "bench-admin@cex.example";
        let identity = cex_node::identity_config(&config);
        let runtime = current_thread()?;
        runtime
            .block_on(cex_identity::create_staff(&identity, admin_email, StaffRole::Admin, Some(&password)))
            .map_err(|e| format!("creating the bench's admin: {e}"))?;
        let node = Node::start(&config).map_err(|e| e.to_string())?;
        let rest = node.rest_address();
        let admin_token = runtime.block_on(login(rest, "/api/admin/auth/login", admin_email, &password))?;
        Ok(BenchNode { node, config, _dir: dir, admin_token, password })
    }

    pub fn rest_address(&self) -> SocketAddr {
        self.node.rest_address()
    }

    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// `count` new traders, each credited with `funds` ((asset, amount) pairs).
    pub fn traders(&self, count: usize, funds: &[(&str, &str)]) -> Result<Vec<Trader>, String> {
        current_thread()?.block_on(async {
            let mut traders = Vec::with_capacity(count);
            for i in 0..count {
                let trader = self.register(&format!("trader{i}@bench.example")).await?;
                self.fund(&trader, funds).await?;
                traders.push(trader);
            }
            Ok(traders)
        })
    }

    async fn register(&self, email: &str) -> Result<Trader, String> {
        let rest = self.rest_address();
        let mut connection = Connection::open(rest).await.map_err(|e| e.to_string())?;
        let credentials = json!({"email": email, "password": self.password});
        let registered = connection.expect("POST", "/api/v1/auth/register", Some(&credentials), None).await?;
        let id = registered["userId"].as_i64().ok_or_else(|| format!("no userId in {registered}"))?;
        let verify = json!({"email": email, "verificationCode": self.emailed_code(email).await?});
        connection.expect("POST", "/api/v1/auth/verify-email", Some(&verify), None).await?;
        let token = login(rest, "/api/v1/auth/login", email, &self.password).await?;
        Ok(Trader { id, token })
    }

    async fn emailed_code(&self, email: &str) -> Result<String, String> {
        let log = cex_node::identity_config(&self.config).outbox_log();
        let deadline = Instant::now() + CODE_WAIT;
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(code) = DevSink::last_code(&text, email) {
                return Ok(code);
            }
            if Instant::now() > deadline {
                return Err(format!("no verification code for {email} in {}", log.display()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn fund(&self, trader: &Trader, funds: &[(&str, &str)]) -> Result<(), String> {
        let mut connection = Connection::open(self.rest_address()).await.map_err(|e| e.to_string())?;
        let path = format!("/api/admin/accounts/{}/adjust", trader.id);
        for (asset, amount) in funds {
            let body = json!({"asset": asset, "amount": amount, "reason": "benchmark funding"});
            connection.expect("POST", &path, Some(&body), Some(&self.admin_token)).await?;
        }
        Ok(())
    }

    pub fn stop(self) -> Result<(), String> {
        self.node.shutdown().map(drop).map_err(|e| e.to_string())
    }
}

async fn login(rest: SocketAddr, path: &str, email: &str, password: &str) -> Result<String, String> {
    let mut connection = Connection::open(rest).await.map_err(|e| e.to_string())?;
    let reply = connection.expect("POST", path, Some(&json!({"email": email, "password": password})), None).await?;
    reply["accessToken"].as_str().map(str::to_string).ok_or_else(|| format!("no accessToken in {reply}"))
}

fn current_thread() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

/// Writes traders as `id token` lines, for the load process.
pub fn write_traders(path: &Path, traders: &[Trader]) -> Result<(), String> {
    let text: String = traders.iter().map(|trader| format!("{} {}\n", trader.id, trader.token)).collect();
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads what [`write_traders`] wrote.
pub fn read_traders(path: &Path) -> Result<Vec<Trader>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .map(|line| {
            let (id, token) = line.split_once(' ').ok_or_else(|| format!("bad trader line {line:?}"))?;
            let id = id.parse().map_err(|_| format!("bad trader id in {line:?}"))?;
            Ok(Trader { id, token: token.to_string() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traders_survive_the_file_between_processes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("traders");
        let traders = vec![Trader { id: 7, token: "a.b.c".into() }, Trader { id: 12, token: "d.e.f".into() }];
        write_traders(&path, &traders).unwrap();
        assert_eq!(read_traders(&path).unwrap(), traders);
        std::fs::write(&path, "7\n").unwrap();
        assert!(read_traders(&path).unwrap_err().contains("bad trader line"));
        std::fs::write(&path, "x a.b.c\n").unwrap();
        assert!(read_traders(&path).unwrap_err().contains("bad trader id"));
    }
}
