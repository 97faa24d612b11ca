//! Which accounts an engine event concerns: the sessions it is routed to.

use cex_engine::{AccountId, Event, EventBody};

/// The accounts `event` reports to: none, one, or a trade's two (once if they are the same).
/// Exactly the accounts a `ResponseMapper` would answer for (tested below).
pub fn event_accounts(event: &Event) -> [Option<AccountId>; 2] {
    match event.body {
        EventBody::Trade(trade) if trade.maker_account == trade.taker_account => [Some(trade.maker_account), None],
        EventBody::Trade(trade) => [Some(trade.maker_account), Some(trade.taker_account)],
        EventBody::Rejected(rejected) => [Some(rejected.account), None],
        EventBody::OrderAccepted(accepted) => [Some(accepted.account), None],
        EventBody::OrderCancelled(cancelled) => [Some(cancelled.account), None],
        EventBody::OrderAmended(amended) => [Some(amended.account), None],
        EventBody::StopTriggered(triggered) => [Some(triggered.account), None],
        EventBody::BalanceChanged(change) => [Some(change.account), None],
        EventBody::AssetAdded { .. }
        | EventBody::SymbolAdded(_)
        | EventBody::SymbolStatusChanged { .. }
        | EventBody::SymbolFeesChanged(_)
        | EventBody::TierLimitsChanged { .. }
        | EventBody::AccountCreated { .. }
        | EventBody::AccountStatusChanged { .. }
        | EventBody::AccountFeeTierChanged { .. } => [None, None],
    }
}

#[cfg(test)]
mod tests {
    use cex_engine::testkit::flow::{FlowConfig, FlowGenerator};
    use cex_engine::Engine;
    use cex_gateway_protocol::ResponseMapper;

    use super::*;

    /// On random order flow, every account a mapper answers for is one the event is routed to.
    #[test]
    fn routes_to_every_account_a_mapper_answers_for() {
        let config = FlowConfig { accounts: 8, ..FlowConfig::default() };
        let mut flow = FlowGenerator::new(0x6a7e, config.clone());
        let mut engine = Engine::new(flow.engine_config());
        let mut mappers: Vec<ResponseMapper> = (0..config.accounts).map(ResponseMapper::new).collect();
        let mut events = Vec::new();
        let mut routed = 0;
        let setup = flow.setup();
        for step in 0..setup.len() + 5_000 {
            let envelope = setup.get(step).copied().unwrap_or_else(|| flow.next_command());
            events.clear();
            engine.apply(&envelope, &mut events);
            flow.observe(&events);
            for event in &events {
                let targets = event_accounts(event);
                for mapper in &mut mappers {
                    let mut answered = false;
                    mapper.map(event, |_| answered = true).unwrap();
                    if answered {
                        assert!(targets.contains(&Some(mapper.account())), "{event:?} not routed to its account");
                        routed += 1;
                    }
                }
            }
        }
        assert!(routed > 1_000, "the flow exercised routing: {routed}");
    }
}
