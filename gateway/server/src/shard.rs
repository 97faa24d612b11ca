//! One shard: an io_uring executor on a thread of its own that accepts connections, owns one
//! input ring into the engine and one output ring out of it, and routes every engine event to
//! its sessions. Everything in a shard runs on its one thread, so its state needs no locks.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cex_engine::{AccountId, CancelAll, Command};
use cex_gateway_protocol::codec::LogoutReason;
use cex_runtime::{Consumer, Delivery, Producer, SubmitError};
use futures_lite::future;
use glommio::net::TcpListener;

use crate::config::{GatewayConfig, ShardIdle};
use crate::outbound::Signal;
use crate::routing::event_accounts;
use crate::session::{self, Session};
use crate::stats::GatewayStats;
use crate::LogonVerifier;

/// How often a shard checks heartbeats, idle sessions and shutdown.
const HOUSEKEEPING_PERIOD: Duration = Duration::from_millis(100);
/// How long a shutdown waits for sessions to write their Logout.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// How long a cancel-on-disconnect retries a full input ring.
const CANCEL_RETRY_FOR: Duration = Duration::from_secs(2);
/// Deliveries routed before the pump lets the shard's other tasks run.
const PUMP_BATCH: usize = 256;
/// How long the pump waits between polls while it spins. A timer, not a yield: glommio runs
/// ready tasks until its preemption timer fires and polls sockets only when none is ready,
/// so a pump that merely yielded would keep the sockets waiting.
const SPIN_PAUSE: Duration = Duration::from_micros(1);
/// How long the pump sleeps between polls while the shard has no session: it only keeps
/// up with the ring then, and a session's first answer waits at most this once.
const NO_SESSIONS_PAUSE: Duration = Duration::from_millis(1);
/// With `ShardIdle::Spin` the executor polls instead of parking for this long after its
/// last event, which with the pump's short pauses means always.
pub const SPIN_BEFORE_PARK: Duration = Duration::from_secs(1);

/// What every shard shares with the gateway handle.
pub struct Shared {
    pub config: GatewayConfig,
    pub verifier: Arc<dyn LogonVerifier>,
    pub stats: Arc<GatewayStats>,
    /// Logged-on sessions across shards, against `config.max_sessions`.
    pub sessions: AtomicUsize,
    pub stop: AtomicBool,
    /// The event journal, for retransmission; `None` when the journal is off.
    pub events_dir: Option<PathBuf>,
}

impl Shared {
    /// Takes a session slot, if any is left.
    pub fn reserve_session(&self) -> bool {
        let max = self.config.max_sessions;
        self.sessions.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).is_ok()
    }

    pub fn release_session(&self) {
        self.sessions.fetch_sub(1, Ordering::AcqRel);
    }
}

pub struct Shard {
    pub index: usize,
    pub shared: Arc<Shared>,
    producer: RefCell<Producer>,
    producer_id: u16,
    sessions: RefCell<HashMap<u64, Rc<Session>>>,
    by_account: RefCell<HashMap<AccountId, Vec<Rc<Session>>>>,
    /// The last journal sequence routed to this shard's sessions.
    delivered_seq: Cell<u64>,
    next_session: Cell<u64>,
    /// Raised when the shard stops accepting.
    pub stopping: Signal,
    /// Raised each time a session ends, for the shutdown's wait.
    session_ended: Signal,
}

impl Shard {
    pub fn new(index: usize, shared: Arc<Shared>, producer: Producer, consumer_next_seq: u64) -> Shard {
        Shard {
            index,
            shared,
            producer_id: producer.id(),
            producer: RefCell::new(producer),
            sessions: RefCell::default(),
            by_account: RefCell::default(),
            delivered_seq: Cell::new(consumer_next_seq.saturating_sub(1)),
            next_session: Cell::new(1),
            stopping: Signal::default(),
            session_ended: Signal::default(),
        }
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.shared.config
    }

    pub fn stats(&self) -> &GatewayStats {
        &self.shared.stats
    }

    /// Session ids carry the shard, so they are unique across the gateway.
    pub fn new_session_id(&self) -> u64 {
        let counter = self.next_session.get();
        self.next_session.set(counter + 1);
        ((self.index as u64 + 1) << 40) | counter
    }

    /// Adds a logged-on session: from now on it gets every event of its account. Returns the
    /// last journal sequence it will not get live (LogonAccepted's lastTxid).
    pub fn register(&self, session: &Rc<Session>) -> u64 {
        self.sessions.borrow_mut().insert(session.id, session.clone());
        self.by_account.borrow_mut().entry(session.account).or_default().push(session.clone());
        self.shared.stats.sessions_open.fetch_add(1, Ordering::Relaxed);
        self.delivered_seq.get()
    }

    pub fn unregister(&self, session: &Session) {
        if self.sessions.borrow_mut().remove(&session.id).is_none() {
            return;
        }
        let mut by_account = self.by_account.borrow_mut();
        if let Some(list) = by_account.get_mut(&session.account) {
            list.retain(|other| other.id != session.id);
            if list.is_empty() {
                by_account.remove(&session.account);
            }
        }
        self.shared.stats.sessions_open.fetch_sub(1, Ordering::Relaxed);
        self.shared.release_session();
        self.session_ended.raise();
    }

    /// Free slots in the engine's input ring for this shard.
    pub fn free_slots(&self) -> usize {
        self.producer.borrow().free_slots()
    }

    /// Submits one command for `session_id`; the response carries the id back.
    pub fn submit(&self, session_id: u64, command: Command) -> Result<(), SubmitError> {
        self.producer.borrow_mut().try_submit(session_id, command)?;
        self.shared.stats.commands_submitted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Routes one command's events to the sessions of the accounts they concern, and its
    /// answer to the session that sent it; whether any session was concerned.
    fn route(&self, delivery: &Delivery<'_>) -> bool {
        self.delivered_seq.set(delivery.seq);
        let mut reached = false;
        let sessions = self.sessions.borrow();
        if delivery.origin.producer == self.producer_id {
            if let Some(session) = sessions.get(&delivery.origin.request) {
                session.answered();
                reached = true;
            }
        }
        let by_account = self.by_account.borrow();
        for event in delivery.events {
            for account in event_accounts(event).into_iter().flatten() {
                for session in by_account.get(&account).into_iter().flatten() {
                    session.deliver(event);
                    reached = true;
                }
            }
        }
        reached
    }

    /// Cancels every open order of `account`: a session with cancel-on-disconnect ended.
    /// Retries a full ring for a while; the engine must not miss it.
    pub async fn cancel_all(&self, account: AccountId) {
        let command = Command::CancelAll(CancelAll { account, symbol: None, side: None });
        let deadline = Instant::now() + CANCEL_RETRY_FOR;
        loop {
            match self.producer.borrow_mut().try_submit(0, command) {
                Ok(()) => {
                    self.shared.stats.cancel_on_disconnect.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(SubmitError::Busy(_)) if Instant::now() < deadline => {}
                Err(error) => {
                    tracing::error!(account, "cancel-on-disconnect could not reach the engine: {error:?}");
                    return;
                }
            }
            glommio::timer::sleep(Duration::from_millis(1)).await;
        }
    }

    fn sessions(&self) -> Vec<Rc<Session>> {
        self.sessions.borrow().values().cloned().collect()
    }
}

/// Runs a shard until the gateway stops: accepts on `listener`, pumps `consumer`, and keeps
/// the sessions' heartbeats.
pub async fn run(shard: Rc<Shard>, listener: TcpListener, consumer: Consumer) {
    glommio::spawn_local(pump(shard.clone(), consumer)).detach();
    glommio::spawn_local(housekeeping(shard.clone())).detach();
    accept(&shard, listener).await;
    close_all(&shard, LogoutReason::ServerShutdown, "the gateway is shutting down").await;
}

async fn accept(shard: &Rc<Shard>, listener: TcpListener) {
    loop {
        let accepted = future::or(async { Some(listener.accept().await) }, async {
            shard.stopping.wait().await;
            None
        })
        .await;
        match accepted {
            None => return,
            Some(Ok(stream)) => {
                shard.stats().connections.fetch_add(1, Ordering::Relaxed);
                glommio::spawn_local(session::serve(shard.clone(), stream)).detach();
            }
            Some(Err(error)) => {
                // Out of descriptors, for instance: keep serving the sessions there are.
                tracing::warn!(shard = shard.index, "accept failed: {error}");
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Logs every session out and waits, a little, for them to end.
async fn close_all(shard: &Rc<Shard>, reason: LogoutReason, text: &str) {
    for session in shard.sessions() {
        session.close(reason, text.to_string());
    }
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while !shard.sessions.borrow().is_empty() && Instant::now() < deadline {
        future::or(shard.session_ended.wait(), glommio::timer::sleep(HOUSEKEEPING_PERIOD)).await;
    }
}

/// Reads the engine's output and routes it; idles as configured when there is none.
async fn pump(shard: Rc<Shard>, mut consumer: Consumer) {
    // Polls since the last delivery that reached a session: traffic of other clients (REST,
    // the sidecars) must not keep the shard spinning.
    let mut empty_polls: u32 = 0;
    loop {
        let (mut routed, mut reached) = (0, false);
        while routed < PUMP_BATCH {
            match consumer.poll() {
                Ok(Some(delivery)) => {
                    reached |= shard.route(&delivery);
                    routed += 1;
                }
                Ok(None) => break,
                Err(error) => {
                    // The shard can no longer tell its sessions what happened to their
                    // orders: end them rather than leave them blind.
                    tracing::error!(shard = shard.index, "gateway shard lost the engine's output: {error}");
                    shard.stopping.raise();
                    return;
                }
            }
        }
        if shard.shared.stop.load(Ordering::Acquire) {
            return;
        }
        empty_polls = if reached { 0 } else { empty_polls.saturating_add(1) };
        let pause = match shard.config().idle {
            _ if routed == PUMP_BATCH => SPIN_PAUSE,
            _ if shard.sessions.borrow().is_empty() => NO_SESSIONS_PAUSE,
            ShardIdle::Sleep { spins, sleep } if empty_polls > spins => sleep,
            _ => SPIN_PAUSE,
        };
        glommio::timer::sleep(pause).await;
    }
}

/// Heartbeats, idle timeouts and the stop flag, checked every [`HOUSEKEEPING_PERIOD`].
async fn housekeeping(shard: Rc<Shard>) {
    loop {
        glommio::timer::sleep(HOUSEKEEPING_PERIOD).await;
        if shard.shared.stop.load(Ordering::Acquire) {
            shard.stopping.raise();
            return;
        }
        let now = Instant::now();
        for session in shard.sessions() {
            session.keep_alive(now);
        }
    }
}
