//! The market every profile trades: one quote asset, a few base assets, symbols with the
//! same rules, and accounts funded far beyond what the flow can spend, so that risk never
//! refuses an op and every engine does the same matching work.

use cex_engine::*;

use crate::op::{Op, OpKind, OpSide};

pub const QUOTE: AssetId = 0;
/// Base assets are shared among symbols: balances grow with accounts × assets.
pub const BASE_ASSETS: u32 = 16;
/// 0.01 quote units per base unit, both at 8 decimals.
pub const TICK_SIZE: i64 = 1_000_000;
/// 0.00001 base units.
pub const LOT_SIZE: i64 = 1_000;
/// Where every book starts, in ticks: 50,000.00.
pub const MID_TICKS: i64 = 5_000_000;

/// The engine capacities a workload needs.
pub fn engine_config(symbols: u32, accounts: u32, max_live_orders: u32, matching_only: bool) -> EngineConfig {
    EngineConfig {
        max_accounts: accounts,
        max_assets: (BASE_ASSETS + 1) as u16,
        max_symbols: symbols,
        max_orders: max_live_orders,
        max_balances: accounts * (symbols.min(BASE_ASSETS) + 1),
        max_levels_per_side: 16_384,
        max_stops_per_side: 16,
        adjust_dedup_window: 1 << 20,
        default_max_open_orders: u32::MAX,
        matching_only,
    }
}

fn base_asset(symbol: u32) -> AssetId {
    (1 + symbol % BASE_ASSETS) as AssetId
}

/// Assets, symbols, accounts and deposits, as commands from sequence 1.
pub fn setup_commands(symbols: u32, accounts: u32) -> Vec<Command> {
    let base_assets = symbols.min(BASE_ASSETS);
    let mut commands = vec![Command::AddAsset(AddAsset { asset: QUOTE, scale: 8 })];
    for asset in 1..=base_assets {
        commands.push(Command::AddAsset(AddAsset { asset: asset as AssetId, scale: 8 }));
    }
    for symbol in 0..symbols {
        commands.push(Command::AddSymbol(symbol_spec(symbol)));
    }
    // Half the i64 supply of each asset, shared out: far more than the flow can spend.
    let deposit = i64::MAX / 2 / accounts.max(1) as i64;
    let mut ref_id = 0;
    for account in 0..accounts {
        commands.push(Command::CreateAccount { account, fee_tier: 0 });
        for asset in 0..=base_assets {
            ref_id += 1;
            let deposit = AdjustBalance { account, asset: asset as AssetId, amount: deposit, ref_id };
            commands.push(Command::AdjustBalance(deposit));
        }
    }
    commands
}

fn symbol_spec(symbol: u32) -> SymbolSpec {
    SymbolSpec {
        symbol,
        base: base_asset(symbol),
        quote: QUOTE,
        tick_size: TICK_SIZE,
        lot_size: LOT_SIZE,
        min_qty: LOT_SIZE,
        max_qty: LOT_SIZE * 1_000_000,
        min_notional: 0,
        price_band_bps: 10_000,
        reference_price: 0,
        maker_fee_bps: 10,
        taker_fee_bps: 20,
    }
}

/// The engine command for an op.
pub fn command(op: &Op) -> Command {
    let side = match op.side {
        OpSide::Buy => Side::Buy,
        OpSide::Sell => Side::Sell,
    };
    let limit = |time_in_force| {
        let order = NewOrder::limit(op.account, op.symbol, side, op.price_ticks * TICK_SIZE, op.qty_lots * LOT_SIZE);
        Command::NewOrder(NewOrder { time_in_force, ..order })
    };
    match op.kind {
        OpKind::Gtc => limit(TimeInForce::Gtc),
        OpKind::Ioc => limit(TimeInForce::Ioc),
        OpKind::Cancel => {
            Command::Cancel(Cancel { account: op.account, order_id: op.target_order_id, client_order_id: 0 })
        }
        OpKind::Amend => Command::Amend(Amend {
            account: op.account,
            order_id: op.target_order_id,
            client_order_id: 0,
            new_price: op.price_ticks * TICK_SIZE,
            new_qty: op.qty_lots * LOT_SIZE,
        }),
    }
}
