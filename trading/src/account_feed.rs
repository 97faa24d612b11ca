//! What each command changed for one account (its orders, its fills, its balances), and
//! the hub that fans these updates out to the account's user data streams.
//!
//! Each account with a listener has a bounded broadcast channel of its own, so a command
//! wakes only the sockets of the accounts it touched, and a listener that falls behind
//! loses its place (and is closed) instead of the projection thread waiting for it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use cex_engine::AccountId;
use cex_projections::{AccountChanges, BalanceUpdate, OrderView};
use tokio::sync::broadcast;

use crate::account_trades::AccountTrade;

/// Updates buffered per account; a listener this far behind is disconnected.
pub const ACCOUNT_UPDATES_BUFFERED: usize = 1_024;

/// One command's changes to one account, each order and balance in its state after the
/// command, and the account's side of each trade the command made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountUpdate {
    pub seq: u64,
    pub ts_ns: u64,
    pub account: AccountId,
    pub orders: Vec<OrderView>,
    pub fills: Vec<AccountTrade>,
    pub balances: Vec<BalanceUpdate>,
}

impl AccountUpdate {
    /// Splits one command's changes and fills by account, in account order.
    pub fn split(
        seq: u64,
        ts_ns: u64,
        changes: &AccountChanges,
        fills: impl IntoIterator<Item = (AccountId, AccountTrade)>,
    ) -> Vec<AccountUpdate> {
        let mut by_account: BTreeMap<AccountId, AccountUpdate> = BTreeMap::new();
        let empty = |account| AccountUpdate {
            seq,
            ts_ns,
            account,
            orders: Vec::new(),
            fills: Vec::new(),
            balances: Vec::new(),
        };
        for order in &changes.orders {
            by_account.entry(order.account).or_insert_with(|| empty(order.account)).orders.push(*order);
        }
        for (account, fill) in fills {
            by_account.entry(account).or_insert_with(|| empty(account)).fills.push(fill);
        }
        for balance in &changes.balances {
            by_account.entry(balance.account).or_insert_with(|| empty(balance.account)).balances.push(*balance);
        }
        by_account.into_values().collect()
    }
}

/// The accounts being listened to, each with its channel.
#[derive(Debug, Default)]
pub struct AccountFeed {
    channels: Mutex<HashMap<AccountId, broadcast::Sender<Arc<AccountUpdate>>>>,
}

impl AccountFeed {
    /// The account's updates from now on, in sequence order.
    pub fn subscribe(&self, account: AccountId) -> broadcast::Receiver<Arc<AccountUpdate>> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        // Accounts whose listeners have all gone are dropped here and in `publish`, so the
        // map holds only accounts listened to (or about to be found unlistened).
        channels.retain(|_, sender| sender.receiver_count() > 0);
        channels.entry(account).or_insert_with(|| broadcast::channel(ACCOUNT_UPDATES_BUFFERED).0).subscribe()
    }

    /// Whether any account may have a listener: when none has, the read model skips
    /// building updates.
    pub fn any_listener(&self) -> bool {
        !self.channels.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
    }

    /// Sends each update to its account's listeners, if it has any. Never blocks.
    pub fn publish(&self, updates: Vec<Arc<AccountUpdate>>) {
        if updates.is_empty() {
            return;
        }
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        for update in updates {
            let Some(sender) = channels.get(&update.account) else { continue };
            if sender.send(update.clone()).is_err() {
                channels.remove(&update.account);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use cex_projections::Balance;

    use super::*;

    fn balance(account: AccountId, asset: cex_engine::AssetId, available: i64) -> BalanceUpdate {
        BalanceUpdate { account, asset, balance: Balance { available, frozen: 0 } }
    }

    fn update(account: AccountId, seq: u64) -> Arc<AccountUpdate> {
        let changes = AccountChanges { orders: Vec::new(), balances: vec![balance(account, 0, seq as i64)] };
        Arc::new(AccountUpdate::split(seq, seq, &changes, []).remove(0))
    }

    #[test]
    fn a_command_is_split_by_account() {
        let changes =
            AccountChanges { orders: Vec::new(), balances: vec![balance(1, 0, 5), balance(1, 1, 6), balance(2, 0, 7)] };
        let updates = AccountUpdate::split(9, 90, &changes, []);
        assert_eq!(
            updates.iter().map(|update| (update.account, update.balances.len())).collect::<Vec<_>>(),
            [(1, 2), (2, 1)]
        );
        assert!(updates.iter().all(|update| update.seq == 9 && update.ts_ns == 90));
    }

    #[test]
    fn listeners_get_their_own_account_only_and_leaving_frees_the_channel() {
        let feed = AccountFeed::default();
        assert!(!feed.any_listener());
        let mut one = feed.subscribe(1);
        let mut two = feed.subscribe(2);
        feed.publish(vec![update(1, 1), update(2, 2), update(3, 3), update(1, 4)]);
        assert_eq!(one.try_recv().unwrap().seq, 1);
        assert_eq!(one.try_recv().unwrap().seq, 4);
        assert!(one.try_recv().is_err());
        assert_eq!(two.try_recv().unwrap().seq, 2);
        assert!(two.try_recv().is_err());
        drop((one, two));
        feed.publish(vec![update(1, 5), update(2, 6)]);
        assert!(!feed.any_listener(), "channels without listeners are dropped");
    }

    #[test]
    fn a_listener_that_falls_behind_is_told() {
        let feed = AccountFeed::default();
        let mut slow = feed.subscribe(1);
        let burst = ACCOUNT_UPDATES_BUFFERED as u64 + 5;
        feed.publish((1..=burst).map(|seq| update(1, seq)).collect());
        assert!(matches!(slow.try_recv(), Err(broadcast::error::TryRecvError::Lagged(5))));
    }
}
