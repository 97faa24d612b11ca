//! The random flow reaches every command kind, every reject reason, every cancel reason,
//! every balance cause and every event kind. A change to the flow that loses one fails here.

use std::collections::{BTreeSet, HashSet};

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator};
use cex_engine::*;

#[derive(Default)]
struct Seen {
    commands: BTreeSet<u8>,
    rejects: BTreeSet<RejectReason>,
    cancels: BTreeSet<CancelReason>,
    causes: BTreeSet<BalanceCause>,
    events: HashSet<std::mem::Discriminant<EventBody>>,
}

impl Seen {
    fn note(&mut self, event: &Event) {
        self.events.insert(std::mem::discriminant(&event.body));
        match event.body {
            EventBody::Rejected(rejected) => {
                self.rejects.insert(rejected.reason);
            }
            EventBody::OrderCancelled(cancelled) => {
                self.cancels.insert(cancelled.reason);
            }
            EventBody::BalanceChanged(change) => {
                self.causes.insert(change.cause);
            }
            _ => {}
        }
    }
}

fn run(seed: u64, commands: usize, config: FlowConfig, seen: &mut Seen) {
    let mut flow = FlowGenerator::new(seed, config);
    let mut engine = Engine::new(flow.engine_config());
    let mut events = Vec::new();
    for envelope in flow.setup() {
        engine.apply(&envelope, &mut events);
    }
    events.iter().for_each(|event| seen.note(event));
    for _ in 0..commands {
        let envelope = flow.next_command();
        events.clear();
        engine.apply(&envelope, &mut events);
        flow.observe(&events);
        seen.commands.insert(envelope.command.kind() as u8);
        events.iter().for_each(|event| seen.note(event));
    }
}

#[test]
fn the_flow_reaches_every_kind_of_command_reject_cancel_and_event() {
    let config = FlowConfig { tight_capacities: true, clock_faults_pct: 2, ..FlowConfig::default() };
    let mut seen = Seen::default();
    for seed in 0..3 {
        run(seed, 20_000, config.clone(), &mut seen);
    }
    assert_eq!(seen.commands.len(), 15, "command kinds: {:?}", seen.commands);
    let missing: Vec<_> = RejectReason::ALL.iter().filter(|r| !seen.rejects.contains(r)).collect();
    assert!(missing.is_empty(), "reject reasons never reached: {missing:?}");
    let missing: Vec<_> = CancelReason::ALL.iter().filter(|r| !seen.cancels.contains(r)).collect();
    assert!(missing.is_empty(), "cancel reasons never reached: {missing:?}");
    assert_eq!(seen.causes.len(), BalanceCause::ALL.len(), "balance causes: {:?}", seen.causes);
    assert_eq!(seen.events.len(), 15, "event kinds reached: {}", seen.events.len());
}
