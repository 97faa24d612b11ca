use super::*;
use crate::testing::*;

fn balance_changed(account: AccountId, asset: AssetId, after: (i64, i64)) -> Event {
    event(EventBody::BalanceChanged(BalanceChanged {
        account,
        asset,
        cause: BalanceCause::Deposit,
        reference: 1,
        available_before: 0,
        frozen_before: 0,
        available_after: after.0,
        frozen_after: after.1,
    }))
}

fn status(accounts: &Accounts, account: AccountId, order_id: OrderId) -> Option<OrderStatus> {
    accounts.order(account, order_id).map(|order| order.status)
}

#[test]
fn balances_copy_the_values_after_each_change() {
    let mut accounts = Accounts::new(10);
    let changes = accounts.apply(5, &[balance_changed(1, 0, (100, 0)), balance_changed(1, 0, (60, 40))]);
    assert_eq!(
        changes.balances,
        [BalanceUpdate { account: 1, asset: 0, balance: Balance { available: 60, frozen: 40 } }]
    );
    accounts.apply(6, &[balance_changed(1, 3, (7, 0)), balance_changed(2, 0, (1, 1))]);
    let assets: Vec<_> = accounts.balances(1).iter().map(|b| (b.asset, b.balance.available)).collect();
    assert_eq!(assets, [(0, 60), (3, 7)]);
    assert_eq!(accounts.balance(2, 0), Some(Balance { available: 1, frozen: 1 }));
    assert_eq!(accounts.balance(2, 1), None);
    assert!(accounts.balances(9).is_empty());
}

#[test]
fn account_status_and_tier_follow_their_events() {
    let mut accounts = Accounts::new(10);
    accounts.apply(1, &[event(EventBody::AccountCreated { account: 4, fee_tier: 2 })]);
    accounts.apply(
        2,
        &[
            event(EventBody::AccountStatusChanged {
                account: 4,
                old: AccountStatus::Active,
                new: AccountStatus::Frozen,
            }),
            event(EventBody::AccountFeeTierChanged { account: 4, old: 2, new: 5 }),
            event(EventBody::AccountFeeTierChanged { account: 8, old: 2, new: 5 }),
        ],
    );
    assert_eq!(accounts.account(4), Some(AccountInfo { status: AccountStatus::Frozen, fee_tier: 5 }));
    assert_eq!(accounts.account(8), None);
}

#[test]
fn an_order_fills_in_parts_then_closes() {
    let mut accounts = Accounts::new(10);
    let mut order = accepted(1, 1, Side::Sell, 100, 10);
    order.client_order_id = 77;
    accounts.apply(1_000, &[accept(order)]);
    let open = accounts.open_orders(1, None);
    assert_eq!(
        (open.len(), open[0].status, open[0].client_order_id, open[0].time_ns),
        (1, OrderStatus::New, 77, 1_000)
    );

    let fill = |trade_id, qty, remaining| Fill {
        trade_id,
        taker_side: Side::Buy,
        price: 100,
        qty,
        maker: (1, remaining),
        taker: (2, 0),
    };
    let changes = accounts.apply(2_000, &[trade(fill(1, 4, 6))]);
    assert_eq!(changes.orders.len(), 1);
    let partial = changes.orders[0];
    assert_eq!(
        (partial.status, partial.executed_qty, partial.cumulative_quote_qty),
        (OrderStatus::PartiallyFilled, 4, 400)
    );
    assert_eq!((partial.remaining_qty(), partial.update_time_ns, partial.time_ns), (6, 2_000, 1_000));

    accounts.apply(3_000, &[trade(fill(2, 6, 0))]);
    assert!(accounts.open_orders(1, None).is_empty());
    let filled = accounts.order(1, 1).unwrap();
    assert_eq!((filled.status, filled.executed_qty, filled.remaining_qty()), (OrderStatus::Filled, 10, 0));
    assert!(accounts.order(2, 1).is_none(), "another account's order id");
}

#[test]
fn cancel_reasons_map_to_binance_statuses() {
    let reasons = [
        (CancelReason::User, OrderStatus::Cancelled),
        (CancelReason::Admin, OrderStatus::Cancelled),
        (CancelReason::IocRemainder, OrderStatus::Expired),
        (CancelReason::Fok, OrderStatus::Expired),
        (CancelReason::Expired, OrderStatus::Expired),
        (CancelReason::BookCapacity, OrderStatus::Expired),
        (CancelReason::SelfTradePrevention, OrderStatus::ExpiredInMatch),
    ];
    let mut accounts = Accounts::new(10);
    for (order_id, (reason, expected)) in (1..).zip(reasons) {
        accounts.apply(order_id, &[accept(accepted(order_id, 1, Side::Buy, 100, 1))]);
        accounts.apply(order_id, &[cancelled(order_id, 1, Side::Buy, 1, reason)]);
        let order = accounts.order(1, order_id).unwrap();
        assert_eq!((order.status, order.cancel_reason), (expected, Some(reason)));
        assert!(!order.status.is_open());
    }
    assert!(accounts.open_orders(1, None).is_empty());
}

#[test]
fn a_market_order_by_quote_fills_when_its_budget_is_spent() {
    let mut accounts = Accounts::new(10);
    let mut order = accepted(1, 2, Side::Buy, 0, 0);
    (order.order_type, order.time_in_force, order.quote_qty) = (OrderType::MarketByQuote, TimeInForce::Ioc, 500);
    let fill = Fill { trade_id: 1, taker_side: Side::Buy, price: 100, qty: 5, maker: (9, 1), taker: (1, 0) };
    let mut trade_event = trade(fill);
    if let EventBody::Trade(trade) = &mut trade_event.body {
        trade.taker_account = 2;
    }
    accounts.apply(1, &[accept(order), trade_event]);
    let done = accounts.order(2, 1).unwrap();
    assert_eq!(
        (done.status, done.orig_quote_qty, done.cumulative_quote_qty, done.executed_qty),
        (OrderStatus::Filled, 500, 500, 5)
    );
}

#[test]
fn stops_work_once_triggered_and_amends_change_price_and_quantity() {
    let mut accounts = Accounts::new(10);
    let mut stop = accepted(1, 1, Side::Buy, 110, 4);
    (stop.order_type, stop.stop_price) = (OrderType::StopLimit, 105);
    accounts.apply(1, &[accept(stop), limit(2, Side::Sell, 120, 3)]);
    let open = accounts.open_orders(1, Some(SYMBOL));
    assert_eq!(open.iter().map(|o| (o.order_id, o.working)).collect::<Vec<_>>(), [(1, false), (2, true)]);
    accounts.apply(2, &[triggered(1, 1, 105), amended(2, Side::Sell, (120, 3), (121, 5))]);
    assert!(accounts.order(1, 1).unwrap().working);
    let amended_order = accounts.order(1, 2).unwrap();
    assert_eq!((amended_order.price, amended_order.orig_qty, amended_order.status), (121, 5, OrderStatus::New));
    assert!(accounts.open_orders(1, Some(SYMBOL + 1)).is_empty());
}

#[test]
fn closed_orders_are_kept_up_to_the_cap() {
    let mut accounts = Accounts::new(2);
    for order_id in 1..=4 {
        accounts.apply(order_id, &[accept(accepted(order_id, 1, Side::Buy, 100, 1))]);
    }
    for order_id in [3, 1, 4] {
        accounts.apply(10, &[cancelled(order_id, 1, Side::Buy, 1, CancelReason::User)]);
    }
    assert_eq!(status(&accounts, 1, 3), None, "the first to close is forgotten first");
    assert_eq!(status(&accounts, 1, 1), Some(OrderStatus::Cancelled));
    assert_eq!(status(&accounts, 1, 4), Some(OrderStatus::Cancelled));
    assert_eq!(status(&accounts, 1, 2), Some(OrderStatus::New));
    let closed: Vec<OrderId> = accounts.closed_orders(1, None).iter().map(|order| order.order_id).collect();
    assert_eq!(closed, [1, 4], "the kept closed orders, by id");
    assert!(accounts.closed_orders(1, Some(SYMBOL + 1)).is_empty());
    assert!(accounts.closed_orders(2, None).is_empty());
}

#[test]
fn events_for_unknown_orders_change_nothing() {
    let mut accounts = Accounts::new(2);
    let fill = Fill { trade_id: 1, taker_side: Side::Buy, price: 100, qty: 5, maker: (9, 0), taker: (8, 0) };
    let changes = accounts.apply(
        1,
        &[
            trade(fill),
            cancelled(5, 1, Side::Buy, 1, CancelReason::User),
            triggered(6, 1, 10),
            amended(7, Side::Buy, (1, 1), (2, 2)),
        ],
    );
    assert_eq!(changes, AccountChanges::default());
    assert!(accounts.account_ids().next().is_none());
}
