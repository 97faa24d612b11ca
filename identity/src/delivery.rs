//! Getting verification codes to people: the [`Delivery`] trait and the development sink,
//! which appends each message to `<data_dir>/outbox.log` (mode 0600), one JSON object per
//! line. SMTP (lettre) and SMS gateways are not built yet.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use serde_json::json;

use crate::engine::BoxFuture;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// One message. It carries a code: never log it.
#[derive(Clone)]
pub struct Message {
    pub channel: Channel,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// What the code is for (`verify_email`, `reset_password`, `bind_email`, `bind_phone`).
    pub purpose: String,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("channel", &self.channel)
            .field("to", &self.to)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

/// Sends a message. `Err` holds a reason safe to store (no message content).
pub trait Delivery: Send + Sync + 'static {
    fn deliver<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), String>>;
}

/// Development sink: appends `{"channel","to","purpose","subject","body"}` lines to a file.
#[derive(Debug, Clone)]
pub struct DevSink {
    path: PathBuf,
}

impl DevSink {
    pub fn new(path: impl Into<PathBuf>) -> DevSink {
        DevSink { path: path.into() }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn append(&self, message: &Message) -> std::io::Result<()> {
        let line = json!({
            "channel": message.channel.as_str(),
            "to": message.to,
            "purpose": message.purpose,
            "subject": message.subject,
            "body": message.body,
        });
        let mut file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&self.path)?;
        file.write_all(format!("{line}\n").as_bytes())
    }
}

impl Delivery for DevSink {
    fn deliver<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let sink = self.clone();
            let message = message.clone();
            tokio::task::spawn_blocking(move || sink.append(&message))
                .await
                .map_err(|error| format!("dev sink task: {error}"))?
                .map_err(|error| format!("dev sink {}: {error}", self.path.display()))
        })
    }
}
