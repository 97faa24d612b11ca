//! Getting verification codes to people: the [`Delivery`] trait and its two
//! implementations, the development sink [`DevSink`] (each message appended to
//! `<data_dir>/outbox.log`, mode 0600, one JSON object per line: the default) and
//! [`SmtpDelivery`] (email through lettre). There is no SMS gateway yet.
//!
//! Messages are not delivered in the request that asks for them: they are queued in the
//! outbox table and a background worker sends them, retrying with backoff (see
//! `Identity::flush_outbox`). A `Delivery` only sends one message.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
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

/// Sends a message. `Err` holds a reason safe to store and log (no message content, no
/// credential).
pub trait Delivery: Send + Sync + 'static {
    fn deliver<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), String>>;

    /// Whether this delivery can send on `channel` at all. A code is not issued for a
    /// channel that cannot be sent (the request is refused with 1504).
    fn supports(&self, channel: Channel) -> bool {
        let _ = channel;
        true
    }
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

    /// The verification code in the last message to `to` in a dev sink's `log` (the text of
    /// its file): the last six-digit word of the body. For tests and benchmarks, which read
    /// the codes a node sent.
    pub fn last_code(log: &str, to: &str) -> Option<String> {
        let message = log
            .lines()
            .rev()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|message| message["to"] == to)?;
        let mut words = message["body"].as_str()?.split_whitespace().map(|word| word.trim_end_matches('.'));
        words.rfind(|word| word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit())).map(str::to_string)
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

/// Email through SMTP (lettre, rustls with the webpki roots). Text messages are not
/// supported: there is no SMS gateway.
///
/// The URL is lettre's: `smtps://user:pass@host:465` (TLS from the first byte),
/// `smtp://user:pass@host:587?tls=required` (STARTTLS, required), `smtp://host:25` (no TLS:
/// a relay on a trusted network only). Credentials are refused without TLS, and so is
/// `tls=opportunistic` with credentials, since a man in the middle can strip STARTTLS.
/// Each message opens its own connection.
pub struct SmtpDelivery {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The URL with its password replaced, for logs.
    redacted: String,
}

impl std::fmt::Debug for SmtpDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpDelivery").field("url", &self.redacted).field("from", &self.from.to_string()).finish()
    }
}

/// Why an SMTP URL or sender is refused. Never contains the URL (it may hold a password).
pub fn check_smtp_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").ok_or("smtp_url must start with smtp:// or smtps://")?;
    let (authority, query) = match rest.split_once('?') {
        Some((authority, query)) => (authority, Some(query)),
        None => (rest, None),
    };
    let authority = authority.split('/').next().unwrap_or("");
    let (user_info, host) = match authority.rsplit_once('@') {
        Some((user_info, host)) => (Some(user_info), host),
        None => (None, authority),
    };
    let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
    if host.is_empty() {
        return Err("smtp_url has no host".into());
    }
    let tls = query.and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("tls=")));
    let encrypted = match (scheme, tls) {
        ("smtps", None) => true,
        ("smtp", Some("required")) => true,
        ("smtp", None | Some("opportunistic")) => false,
        ("smtp" | "smtps", Some(other)) => {
            return Err(format!("smtp_url: tls={other} is not one of required, opportunistic (smtp:// only)"))
        }
        _ => return Err("smtp_url must start with smtp:// or smtps://".into()),
    };
    if user_info.is_some_and(|info| info.contains(':')) && !encrypted {
        return Err("smtp_url has a password but no TLS: use smtps:// or smtp://…?tls=required".into());
    }
    Ok(())
}

impl SmtpDelivery {
    /// A transport for `url` sending as `from` (`Name <address>` or `address`); each
    /// connection times out after `timeout`. Errors never contain the URL.
    pub fn new(url: &str, from: &str, timeout: Duration) -> Result<SmtpDelivery, String> {
        check_smtp_url(url)?;
        let from: Mailbox = from.parse().map_err(|error| format!("email from: {error}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| format!("smtp_url: {error}"))?
            .timeout(Some(timeout))
            .build();
        Ok(SmtpDelivery { transport, from, redacted: crate::store::redact_url(url) })
    }

    /// The URL with its password hidden.
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }
}

impl Delivery for SmtpDelivery {
    fn deliver<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if message.channel != Channel::Email {
                return Err("SMTP sends email only".to_string());
            }
            let to: Mailbox = message.to.parse().map_err(|error| format!("recipient: {error}"))?;
            let email = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(&message.subject)
                .header(ContentType::TEXT_PLAIN)
                .body(message.body.clone())
                .map_err(|error| format!("building the message: {error}"))?;
            self.transport.send(email).await.map(drop).map_err(|error| format!("smtp: {error}"))
        })
    }

    fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Email
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_code_sent_to_an_address_is_read_back() {
        let line = |to: &str, body: &str| format!("{}\n", json!({"channel": "email", "to": to, "body": body}));
        let log = [
            line("a@example.com", "Your code is 111111."),
            "not json\n".to_string(),
            line("b@example.com", "Your code is 222222."),
            line("a@example.com", "Code 12345 expired; your code is 333333."),
        ]
        .concat();
        assert_eq!(DevSink::last_code(&log, "a@example.com").as_deref(), Some("333333"));
        assert_eq!(DevSink::last_code(&log, "b@example.com").as_deref(), Some("222222"));
        assert_eq!(DevSink::last_code(&log, "c@example.com"), None);
        assert_eq!(DevSink::last_code(&line("d@example.com", "no code here"), "d@example.com"), None);
    }

    #[test]
    fn smtp_urls() {
        for good in [
            "smtps://user:pass@mail.example.com:465",
            "smtps://mail.example.com",
            "smtp://user:pass@mail.example.com:587?tls=required",
            "smtp://mail.example.com:587?tls=opportunistic",
            "smtp://127.0.0.1:2525",
        ] {
            assert_eq!(check_smtp_url(good), Ok(()), "{good}");
            SmtpDelivery::new(good, "cex <no-reply@example.com>", Duration::from_secs(1)).unwrap();
        }
        for (bad, why) in [
            ("mail.example.com", "start with"),
            ("http://mail.example.com", "start with"),
            ("smtp://", "no host"),
            ("smtp://user:hunter2@mail.example.com:587", "no TLS"),
            ("smtp://user:hunter2@mail.example.com:587?tls=opportunistic", "no TLS"),
            ("smtps://mail.example.com?tls=none", "tls=none"),
        ] {
            let error = check_smtp_url(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
            assert!(!error.contains("hunter2"));
        }
        let error = SmtpDelivery::new("smtps://u:hunter2@mail.example.com", "not a mailbox", Duration::from_secs(1));
        assert!(error.unwrap_err().starts_with("email from:"));
        let smtp = SmtpDelivery::new("smtps://u:hunter2@mail.example.com", "a@example.com", Duration::from_secs(1));
        let smtp = smtp.unwrap();
        assert!(!format!("{smtp:?}").contains("hunter2"));
        assert!(smtp.supports(Channel::Email) && !smtp.supports(Channel::Sms));
    }
}
