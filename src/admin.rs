//! `cex admin …`: bootstrap tasks run against the node's store, with or without a running node.

use std::process::ExitCode;

use cex_identity::StaffRole;

use crate::run::ConfigArgs;

#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a staff account (the first Admin, typically). Prints a generated password once.
    CreateStaff {
        #[arg(long)]
        email: String,
        /// Admin, Operator, ComplianceOfficer, RiskManager, CustomerSupport or MarketMaker.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub fn run(command: &AdminCommand) -> ExitCode {
    let AdminCommand::CreateStaff { email, role, config } = command;
    let Some(role) = StaffRole::parse(role) else {
        let roles: Vec<&str> = StaffRole::ALL.iter().map(|role| role.as_str()).collect();
        eprintln!("cex admin create-staff: unknown role {role:?}; one of {}", roles.join(", "));
        return ExitCode::from(2);
    };
    let config = match config.load() {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    let identity = cex_node::identity_config(&config);
    let created =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|error| error.to_string()).and_then(
            |runtime| {
                runtime.block_on(cex_identity::create_staff(&identity, email, role, None)).map_err(|e| e.to_string())
            },
        );
    match created {
        Ok(staff) => {
            println!("created staff {} ({}) with role {}", staff.id, staff.email, staff.role);
            if let Some(password) = staff.generated_password {
                println!("password (shown once; change it after the first login): {password}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("cex admin create-staff: {error}");
            ExitCode::FAILURE
        }
    }
}
