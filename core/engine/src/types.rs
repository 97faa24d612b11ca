//! Identifiers and the small enums every command and event uses.
//!
//! Units, everywhere in the engine's commands and events:
//! - a quantity is an `i64` count of the base asset's minor units, a multiple of the lot size;
//! - a price is an `i64` count of quote minor units per one whole base unit, a multiple of the
//!   tick size;
//! - a notional or a balance is an `i64` count of minor units of its asset.
//!
//! Inside, the engine works in ticks (`price / tick_size`) and lots (`qty / lot_size`); a
//! symbol is only accepted if one lot at one tick is a whole number of quote minor units, so
//! every notional is exact (`ticks × lots × quote_per_tick_lot`).

pub type AccountId = u32;
pub type AssetId = u16;
pub type SymbolId = u32;
pub type OrderId = u64;
pub type TradeId = u64;

/// Fee tiers are numbered `0..MAX_FEE_TIERS`.
pub const MAX_FEE_TIERS: usize = 8;
/// The largest fee any tier may charge: 10%.
pub const MAX_FEE_BPS: u16 = 1_000;
/// Basis points in one whole.
pub const BPS_DENOMINATOR: i64 = 10_000;
/// Asset scales above this would overflow `10^scale` in i64 arithmetic with headroom.
pub const MAX_ASSET_SCALE: u8 = 18;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:expr),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum $name { $($(#[$vmeta])* $variant = $value),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Decodes the wire value; `None` for a value the schema does not define.
            pub fn from_u8(value: u8) -> Option<Self> {
                match value { $($value => Some($name::$variant),)+ _ => None }
            }

            pub fn name(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }
        }
    };
}

pub(crate) use wire_enum;

wire_enum!(Side { Buy = 0, Sell = 1 });

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

wire_enum!(
    /// How an order's size and price are given.
    OrderType {
        /// Rests at `price` for whatever its time in force allows.
        Limit = 0,
        /// Takes liquidity for `qty` base units, inside the price band.
        MarketByQty = 1,
        /// Buys with `quote_qty` quote units, inside the price band. Buy side only.
        MarketByQuote = 2,
        /// A limit order held back until the last trade price reaches `stop_price`.
        StopLimit = 3,
        /// A market-by-quantity order held back until the last trade reaches `stop_price`.
        StopMarket = 4,
    }
);

impl OrderType {
    pub fn is_stop(self) -> bool {
        matches!(self, OrderType::StopLimit | OrderType::StopMarket)
    }

    pub fn is_market(self) -> bool {
        matches!(self, OrderType::MarketByQty | OrderType::MarketByQuote | OrderType::StopMarket)
    }
}

wire_enum!(TimeInForce { Gtc = 0, Ioc = 1, Fok = 2, Gtd = 3 });

wire_enum!(
    /// What happens when a taker would trade with a resting order of its own account.
    SelfTradePrevention { None = 0, ExpireTaker = 1, ExpireMaker = 2, ExpireBoth = 3 }
);

wire_enum!(
    SymbolStatus {
        /// Orders are accepted and matched.
        Trading = 0,
        /// A pause, such as a circuit breaker: no new orders or amends, cancels allowed,
        /// resting orders stay.
        Halted = 1,
        /// A longer stop: every resting order is cancelled, no new orders.
        Suspended = 2,
        /// Final: every resting order is cancelled, and the status can never change again.
        Delisted = 3,
    }
);

wire_enum!(
    AccountStatus {
        Active = 0,
        /// Compliance hold: no orders, amends or debits; cancels and credits still apply.
        Frozen = 1,
        /// No new orders or amends; cancels, credits and debits apply.
        TradingRestricted = 2,
    }
);

wire_enum!(
    CancelReason {
        User = 0,
        IocRemainder = 1,
        Fok = 2,
        SelfTradePrevention = 3,
        Expired = 4,
        Admin = 5,
        /// A triggered stop-limit whose book side had no room for a new price level.
        BookCapacity = 6,
    }
);

wire_enum!(
    /// Why a balance moved; consumers build ledgers from it.
    BalanceCause {
        Deposit = 0,
        Withdrawal = 1,
        OrderFreeze = 2,
        OrderRelease = 3,
        TradeSettlement = 4,
    }
);
