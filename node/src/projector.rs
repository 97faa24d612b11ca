//! The read model's writer: a consumer of the pipeline on a thread of its own, applying
//! every command's events to the trading read model in sequence order. It starts at
//! sequence 1, so at start it rebuilds the model from the event journal and then follows the
//! live ring; the REST handlers read the model under its lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cex_engine::Event;
use cex_runtime::{Consumer, ConsumerError, ConsumerThread};
use cex_trading::{ReadModel, SharedReadModel};

/// Commands applied under one write lock: large enough that replaying the journal does not
/// take the lock per command, small enough that readers never wait long.
const BATCH: usize = 512;

/// Starts the projection thread over `consumer`, feeding `model`.
pub fn start(consumer: Consumer, model: Arc<SharedReadModel>) -> std::io::Result<ConsumerThread> {
    ConsumerThread::spawn("cex-projections", move |stop| run(consumer, &model, stop))
}

/// How long the thread sleeps on an empty ring before it looks at the stop flag again; the
/// engine wakes it as soon as something is published.
const IDLE_WAIT: Duration = Duration::from_millis(5);

/// Applies batches until told to stop, sleeping until the engine publishes when there is
/// nothing to read: an order's answer waits for the model to reach its command.
fn run(mut consumer: Consumer, model: &SharedReadModel, stop: &AtomicBool) {
    let mut first_events: Vec<Event> = Vec::with_capacity(256);
    while !stop.load(Ordering::Acquire) {
        match apply_batch(&mut consumer, model, &mut first_events) {
            Ok(0) => consumer.wait(IDLE_WAIT),
            Ok(_) => {}
            Err(error) => {
                // The model stays as it was; /metrics shows the lag growing.
                tracing::error!(applied = model.applied_seq(), "the read model stops: {error}");
                return;
            }
        }
    }
}

/// Applies up to [`BATCH`] commands; how many. The first is polled before the lock is
/// taken, so an idle poll never blocks the readers.
fn apply_batch(
    consumer: &mut Consumer,
    model: &SharedReadModel,
    first_events: &mut Vec<Event>,
) -> Result<usize, ConsumerError> {
    let Some(first) = consumer.poll()? else { return Ok(0) };
    let (seq, ts_ns) = (first.seq, first.ts_ns);
    first_events.clear();
    first_events.extend_from_slice(first.events);
    model.update(|model: &mut ReadModel| {
        model.apply(seq, ts_ns, first_events);
        for applied in 1..BATCH {
            match consumer.poll()? {
                Some(delivery) => model.apply(delivery.seq, delivery.ts_ns, delivery.events),
                None => return Ok(applied),
            }
        }
        Ok(BATCH)
    })
}
