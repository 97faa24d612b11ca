//! Capacities. The engine preallocates everything from these at start-up and refuses work
//! beyond them with a reject; it never grows a structure on the hot path.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Account ids are `0..max_accounts`, dense, handed out by the identity service.
    pub max_accounts: u32,
    /// Asset ids are `0..max_assets`.
    pub max_assets: u16,
    /// Symbol ids are `0..max_symbols`.
    pub max_symbols: u32,
    /// Open orders (resting and stop) across all symbols.
    pub max_orders: u32,
    /// (account, asset) balance records.
    pub max_balances: u32,
    /// Distinct prices on one side of one book.
    pub max_levels_per_side: u32,
    /// Untriggered stop orders on one side of one book.
    pub max_stops_per_side: u32,
    /// How many recent `AdjustBalance` reference ids are remembered for duplicate detection.
    pub adjust_dedup_window: u32,
    /// Open orders per account until `SetTierLimits` says otherwise.
    pub default_max_open_orders: u32,
    /// Benchmarks only: match without risk. No funds are checked, frozen or settled and no
    /// balance events are emitted; every other check and all matching are unchanged.
    pub matching_only: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_accounts: 100_000,
            max_assets: 256,
            max_symbols: 64,
            max_orders: 1 << 20,
            max_balances: 1 << 20,
            max_levels_per_side: 4_096,
            max_stops_per_side: 1_024,
            adjust_dedup_window: 1 << 20,
            default_max_open_orders: 200,
            matching_only: false,
        }
    }
}
