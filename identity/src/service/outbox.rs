//! The outbox: every message (a verification code) is queued in the `outbox` table and sent
//! by a background worker, never in the request that asks for it. So a request answers as
//! fast whether or not a message goes out (ResetPassword does not reveal which emails are
//! registered by its timing), a slow or failing mail server delays no request, and a
//! message survives a restart.
//!
//! The worker claims each due message (a lease in the row, so several workers or processes
//! on one database never send it twice at once), hands it to the [`Delivery`], and then
//! marks it delivered (blanking the body) or schedules the next attempt: 1 s, 2 s, 4 s, …
//! up to a minute. A message older than a code's lifetime is given up and blanked. Nothing
//! logged names the code (the body) or a credential.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::Identity;
use crate::delivery::{Channel, Message};
use crate::error::ApiResult;
use crate::store::OutboxMessage;

/// Messages taken per query.
const BATCH: i64 = 16;
/// The shortest wait between two passes.
const MIN_WAIT: Duration = Duration::from_millis(20);

impl Identity {
    /// Queues a message and wakes the worker.
    pub(crate) async fn queue_message(&self, user_id: i64, message: &Message) -> ApiResult<()> {
        let channel = message.channel.as_str();
        self.store
            .insert_outbox(
                Some(user_id),
                channel,
                &message.to,
                &message.purpose,
                &message.subject,
                &message.body,
                self.now_ms(),
            )
            .await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// Sends every message due now that no other worker holds.
    async fn deliver_due(&self) -> Result<(), sqlx::Error> {
        loop {
            let due = self.store.due_outbox(self.now_ms(), BATCH).await?;
            if due.is_empty() {
                return Ok(());
            }
            for message in due {
                self.deliver_one(message).await?;
            }
        }
    }

    async fn deliver_one(&self, row: OutboxMessage) -> Result<(), sqlx::Error> {
        let now = self.now_ms();
        if !self.store.claim_outbox(row.id, now, now + self.config.outbox_lease_ms).await? {
            return Ok(());
        }
        if now - row.created_at >= self.config.code_ttl_ms {
            tracing::warn!(outbox = row.id, attempts = row.attempts, "message given up: its code expired unsent");
            return self.store.give_up_outbox(row.id, "expired before it could be delivered", now).await;
        }
        let channel = match row.channel.as_str() {
            "email" => Channel::Email,
            "sms" => Channel::Sms,
            other => {
                tracing::warn!(outbox = row.id, channel = other, "message given up: unknown channel");
                return self.store.give_up_outbox(row.id, "unknown channel", now).await;
            }
        };
        let message =
            Message { channel, to: row.recipient, subject: row.subject, body: row.body, purpose: row.purpose };
        match self.delivery.deliver(&message).await {
            Ok(()) => {
                tracing::debug!(outbox = row.id, channel = channel.as_str(), "message delivered");
                self.store.mark_delivered(row.id, self.now_ms()).await
            }
            Err(reason) => {
                let attempts = row.attempts + 1;
                let backoff = self.retry_delay(attempts);
                tracing::warn!(outbox = row.id, attempts, retry_in_ms = backoff, %reason, "delivery failed");
                self.store.retry_outbox_later(row.id, &reason, attempts, self.now_ms() + backoff).await
            }
        }
    }

    /// The wait after the `attempts`-th failure: base × 2^(attempts−1), at most the maximum.
    fn retry_delay(&self, attempts: i64) -> i64 {
        let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX).min(30);
        self.config.outbox_retry_base_ms.saturating_mul(1 << doublings).min(self.config.outbox_retry_max_ms)
    }

    /// One pass of the worker; returns how long to sleep before the next (unless woken).
    async fn outbox_pass(&self) -> Duration {
        let poll = Duration::from_millis(self.config.outbox_poll_ms);
        if let Err(error) = self.deliver_due().await {
            tracing::warn!("outbox: {error}");
            return poll;
        }
        match self.store.next_outbox_due().await {
            Ok(Some(at)) => {
                let wait = u64::try_from(at - self.now_ms()).unwrap_or(0);
                Duration::from_millis(wait).clamp(MIN_WAIT, poll.max(MIN_WAIT))
            }
            Ok(None) => poll,
            Err(error) => {
                tracing::warn!("outbox: {error}");
                poll
            }
        }
    }

    /// Sends every message due now, in this task, and waits for the ones another worker is
    /// sending, for at most `timeout`. Returns whether none is left due or in flight
    /// (messages waiting for a later retry do not count). For shutdown, and for tests that
    /// read what was sent.
    pub async fn flush_outbox(&self, timeout: Duration) -> ApiResult<bool> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.deliver_due().await?;
            if self.store.outbox_busy(self.now_ms()).await? == 0 {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Wakes the worker (it also wakes on its own every `outbox_poll_ms`).
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }
}

/// Starts the background worker of `identity`. It stops when identity is closed or dropped.
pub(crate) fn spawn_worker(identity: &Arc<Identity>) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(identity);
    let wake = identity.outbox_wake.clone();
    tokio::spawn(async move {
        loop {
            let wait = {
                let Some(identity) = weak.upgrade() else { return };
                if identity.closing.load(Ordering::Acquire) {
                    return;
                }
                identity.outbox_pass().await
            };
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    })
}
