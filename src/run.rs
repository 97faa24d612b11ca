//! `cex run`: one exchange process on the embedded defaults or a `cex.toml`.

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::Write;

use cex_config::NodeConfig;
use cex_demo::Demo;
use cex_node::Node;

/// Where the configuration comes from, shared by the commands that need one.
#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    /// The configuration file; without it, the embedded defaults (config/cex.example.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Overrides `data_dir`.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl ConfigArgs {
    pub fn load(&self) -> Result<NodeConfig, cex_config::ConfigErrors> {
        let mut config = match &self.config {
            Some(path) => NodeConfig::load(path)?,
            None => NodeConfig::default(),
        };
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        config.validate()?;
        Ok(config)
    }
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Overrides `[network] rest_port`.
    #[arg(long)]
    rest_port: Option<u16>,
    /// Overrides `[network] gateway_port`.
    #[arg(long)]
    gateway_port: Option<u16>,
    /// Overrides `[network] ops_port`.
    #[arg(long)]
    ops_port: Option<u16>,
    /// Demo mode, for local trials only: seeds demo users with balances and runs a market
    /// maker and a few traders (`[demo]` in cex.toml; docs/OPERATIONS.md, "Demo mode").
    #[arg(long)]
    demo: bool,
}

pub fn run(args: &RunArgs) -> ExitCode {
    init_logging();
    let config = match load(args) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    tracing::info!("{}", config.summary());
    let node = match Node::start(&config) {
        Ok(node) => node,
        Err(error) => {
            tracing::error!("cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let demo = match args.demo.then(|| start_demo(&config, &node)).transpose() {
        Ok(demo) => demo,
        Err(error) => {
            tracing::error!("{error}; stopping");
            let _ = node.shutdown();
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = wait_for_signal() {
        tracing::error!("cannot wait for signals: {error}; stopping");
    }
    if let Some(demo) = demo {
        demo.stop();
    }
    tracing::info!("stopping: intake closed, draining the rings, writing a snapshot");
    match node.shutdown() {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// Seeds the demo users, starts the bots and prints the credentials on stdout.
fn start_demo(config: &NodeConfig, node: &Node) -> Result<Demo, cex_demo::SeedError> {
    tracing::warn!("demo mode is for local trials only: its users' passwords are printed and kept on disk");
    let (demo, users) = Demo::start(config, node.services())?;
    let mut stdout = std::io::stdout().lock();
    let _ = write!(stdout, "{}", cex_demo::banner(&users, node.rest_address(), &config.data_dir));
    let _ = stdout.flush();
    Ok(demo)
}

fn load(args: &RunArgs) -> Result<NodeConfig, cex_config::ConfigErrors> {
    let mut config = args.config.load()?;
    let network = &mut config.network;
    network.rest_port = args.rest_port.unwrap_or(network.rest_port);
    network.gateway_port = args.gateway_port.unwrap_or(network.gateway_port);
    network.ops_port = args.ops_port.unwrap_or(network.ops_port);
    config.validate()?;
    Ok(config)
}

/// Blocks until SIGINT or SIGTERM.
pub(crate) fn wait_for_signal() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    runtime.block_on(async {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = terminate.recv() => Ok(()),
        }
    })
}

/// Logs to stderr; `CEX_LOG` filters (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CEX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
}
