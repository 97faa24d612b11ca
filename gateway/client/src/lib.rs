//! A blocking client of the binary gateway (docs/BINARY_PROTOCOL.md), over one
//! `std::net::TcpStream` per session: for tests, the `cex trade` CLI and load tools.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use cex_engine::{Command, NewOrder, Side};
//! use cex_gateway_client::{Credentials, ServerMessage, Session, SessionOptions};
//!
//! let credentials = Credentials::new("my-api-key", "my-secret");
//! let mut session = Session::logon("127.0.0.1:9000", &credentials, &SessionOptions::default())?;
//! // The account is the session's: the gateway stamps it on every command.
//! let order = NewOrder { client_order_id: 1, ..NewOrder::limit(0, 0, Side::Buy, 3_000_000_000, 10_000) };
//! session.send(&Command::NewOrder(order))?;
//! while let Some(message) = session.recv(Duration::from_secs(1))? {
//!     if let ServerMessage::Execution(report) = message {
//!         println!("{:?} order {}", report.exec_type, report.order_id);
//!     }
//! }
//! session.logout("done")?;
//! # Ok::<(), cex_gateway_client::ClientError>(())
//! ```
//!
//! A session sends a Heartbeat whenever it has been quiet for the heartbeat interval, but
//! only while the caller is in [`Session::recv`] or [`Session::try_recv`]: a caller that
//! stops reading for three intervals is logged out by the gateway. Nothing here panics on
//! what the gateway sends.

#![forbid(unsafe_code)]

mod error;
mod message;
mod session;

pub use cex_gateway_protocol::codec;
pub use error::ClientError;
pub use message::{BookUpdate, LogonInfo, ServerMessage, MAX_SERVER_FRAME_LENGTH};
pub use session::{Credentials, Session, SessionOptions};
