//! Request/response over the pipeline for async callers (the REST sidecars): submit a
//! command on this client's producer ring and await the events it caused. One pump thread
//! reads the client's consumer ring and completes the waiting requests by request id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use cex_engine::{Command, Event};
use cex_runtime::{Consumer, Producer, SubmitError};
use tokio::sync::oneshot;

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The engine's input ring is full: the caller should answer "busy, retry".
    Busy,
    /// The node is shutting down.
    Closed,
    /// A value the wire format cannot carry.
    Invalid(String),
    /// No answer in time. The command may still be applied: the caller must not assume
    /// it was not.
    Timeout,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Busy => write!(f, "the engine is busy; retry"),
            ClientError::Closed => write!(f, "the engine is shutting down"),
            ClientError::Invalid(why) => write!(f, "invalid command: {why}"),
            ClientError::Timeout => write!(f, "no answer from the engine in time"),
        }
    }
}

/// The engine's answer to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The command's sequence (the events' `txid`).
    pub seq: u64,
    /// The command's timestamp, ns since the epoch.
    pub ts_ns: u64,
    pub events: Vec<Event>,
}

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<Answer>>>>;

pub struct EngineClient {
    producer: Mutex<Producer>,
    waiters: Waiters,
    next_request: AtomicU64,
    stop: Arc<AtomicBool>,
    pump: Option<JoinHandle<()>>,
}

impl EngineClient {
    /// `producer` and `consumer` must be registered for this client alone.
    pub fn start(producer: Producer, consumer: Consumer) -> std::io::Result<EngineClient> {
        let waiters: Waiters = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let id = producer.id();
        let name = format!("cex-{}-pump", producer.name());
        let (pump_waiters, pump_stop) = (waiters.clone(), stop.clone());
        let pump = std::thread::Builder::new().name(name).spawn(move || pump(consumer, id, pump_waiters, pump_stop))?;
        Ok(EngineClient {
            producer: Mutex::new(producer),
            waiters,
            next_request: AtomicU64::new(1),
            stop,
            pump: Some(pump),
        })
    }

    /// Submits `command` and waits up to `timeout` for its events.
    pub async fn submit(&self, command: Command, timeout: Duration) -> Result<Answer, ClientError> {
        let request = self.next_request.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = oneshot::channel();
        self.waiters.lock().expect("waiters lock").insert(request, sender);
        let submitted = self.producer.lock().expect("producer lock").try_submit(request, command);
        if let Err(error) = submitted {
            self.waiters.lock().expect("waiters lock").remove(&request);
            return Err(match error {
                SubmitError::Busy(_) => ClientError::Busy,
                SubmitError::Closed(_) => ClientError::Closed,
                SubmitError::Invalid(_, why) => ClientError::Invalid(why.to_string()),
            });
        }
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                self.waiters.lock().expect("waiters lock").remove(&request);
                Err(ClientError::Timeout)
            }
        }
    }
}

impl Drop for EngineClient {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(pump) = self.pump.take() {
            let _ = pump.join();
        }
    }
}

/// How long the pump sleeps on an empty ring before it looks at the stop flag again; the
/// engine wakes it as soon as something is published.
const IDLE_WAIT: Duration = Duration::from_millis(5);

/// Completes waiters from the consumer ring, sleeping until the engine publishes when there
/// is nothing to read.
fn pump(mut consumer: Consumer, producer: u16, waiters: Waiters, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Acquire) {
        match consumer.poll() {
            Ok(Some(delivery)) => {
                if delivery.origin.producer != producer {
                    continue;
                }
                let waiter = waiters.lock().expect("waiters lock").remove(&delivery.origin.request);
                if let Some(waiter) = waiter {
                    let answer = Answer { seq: delivery.seq, ts_ns: delivery.ts_ns, events: delivery.events.to_vec() };
                    let _ = waiter.send(answer);
                }
            }
            Ok(None) => consumer.wait(IDLE_WAIT),
            Err(error) => {
                tracing::error!(consumer = consumer.name(), "engine client stops: {error}");
                waiters.lock().expect("waiters lock").clear();
                return;
            }
        }
    }
}
