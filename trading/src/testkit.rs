//! An exchange in one process for tests without a node: a real engine behind a mutex, with
//! the config's assets and symbols, whose every command also feeds the read model before
//! the answer goes back. It is both the API's [`OrderEntry`] and identity's
//! [`EngineAccounts`], so users registered through identity get engine accounts here.

use std::sync::{Arc, Mutex, PoisonError};

use cex_config::NodeConfig;
use cex_engine::{Command, CommandEnvelope, Engine, Event};
use cex_identity::engine::EngineAccounts;

use crate::entry::{BoxFuture, EngineAnswer, EntryError, OrderEntry};
use crate::read_model::SharedReadModel;

struct Core {
    engine: Engine,
    seq: u64,
    last_ts_ns: u64,
}

pub struct LocalExchange {
    core: Mutex<Core>,
    model: Arc<SharedReadModel>,
}

impl LocalExchange {
    /// A fresh engine with `config`'s capacities, assets and symbols, feeding `model`.
    pub fn new(config: &NodeConfig, model: Arc<SharedReadModel>) -> Arc<LocalExchange> {
        let core = Core { engine: Engine::new(config.engine_config()), seq: 0, last_ts_ns: 0 };
        let exchange = Arc::new(LocalExchange { core: Mutex::new(core), model });
        for command in config.refdata_commands() {
            exchange.apply(command);
        }
        exchange
    }

    /// Applies one command now, feeds the read model, and returns the engine's answer.
    pub fn apply(&self, command: Command) -> EngineAnswer {
        let mut core = self.core.lock().unwrap_or_else(PoisonError::into_inner);
        core.seq += 1;
        core.last_ts_ns = wall_clock_ns().max(core.last_ts_ns);
        let envelope = CommandEnvelope { seq: core.seq, ts_ns: core.last_ts_ns, command };
        let mut events: Vec<Event> = Vec::new();
        core.engine.apply(&envelope, &mut events);
        // Fed while the engine is still locked, so the model sees commands in order.
        self.model.update(|model| model.apply(envelope.seq, envelope.ts_ns, &events));
        EngineAnswer { seq: envelope.seq, ts_ns: envelope.ts_ns, events }
    }

    /// The engine's state hash and last sequence, to prove a refused request changed nothing.
    pub fn fingerprint(&self) -> (u64, u64) {
        let core = self.core.lock().unwrap_or_else(PoisonError::into_inner);
        (core.engine.state_hash(), core.seq)
    }
}

fn wall_clock_ns() -> u64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)
}

impl OrderEntry for LocalExchange {
    fn submit(&self, command: Command) -> BoxFuture<'_, Result<EngineAnswer, EntryError>> {
        Box::pin(async move { Ok(self.apply(command)) })
    }
}

impl EngineAccounts for LocalExchange {
    fn register(&self, account: u32, fee_tier: u8) -> cex_identity::engine::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let answer = self.apply(Command::CreateAccount { account, fee_tier });
            match answer.events.first().map(|event| event.body) {
                Some(cex_engine::EventBody::AccountCreated { .. }) => Ok(()),
                Some(cex_engine::EventBody::Rejected(rejected))
                    if rejected.reason == cex_engine::RejectReason::AccountExists =>
                {
                    Ok(())
                }
                other => Err(format!("CreateAccount answered {other:?}")),
            }
        })
    }
}
