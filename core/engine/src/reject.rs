//! Every reason the engine can refuse a command. The numeric codes are part of the wire
//! protocol: never renumber a variant, only add new ones.

macro_rules! reject_reasons {
    ($($(#[$meta:meta])* $variant:ident = $code:expr => $text:expr),+ $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum RejectReason { $($(#[$meta])* $variant = $code),+ }

        impl RejectReason {
            pub const ALL: &'static [RejectReason] = &[$(RejectReason::$variant),+];

            pub fn code(self) -> u16 {
                self as u16
            }

            pub fn from_code(code: u16) -> Option<Self> {
                match code { $($code => Some(RejectReason::$variant),)+ _ => None }
            }

            pub fn name(self) -> &'static str {
                match self { $(RejectReason::$variant => stringify!($variant)),+ }
            }

            /// A sentence fit for an API error message.
            pub fn description(self) -> &'static str {
                match self { $(RejectReason::$variant => $text),+ }
            }
        }
    };
}

reject_reasons! {
    // Sequencing.
    OutOfSequence = 1 => "command sequence is not the next one",
    // Reference data.
    AssetCapacity = 10 => "asset id is beyond the configured capacity",
    AssetExists = 11 => "asset already exists",
    UnknownAsset = 12 => "unknown asset",
    InvalidAssetScale = 13 => "asset scale must be at most 18",
    SymbolCapacity = 14 => "symbol id is beyond the configured capacity",
    SymbolExists = 15 => "symbol already exists",
    UnknownSymbol = 16 => "unknown symbol",
    InvalidSymbolSpec = 17 => "symbol specification is inconsistent",
    InvalidStatusTransition = 18 => "a delisted symbol cannot change status",
    InvalidFee = 19 => "fee must be between 0 and 1000 basis points",
    InvalidTier = 20 => "unknown fee tier",
    // Accounts and balances.
    AccountCapacity = 30 => "account id is beyond the configured capacity",
    AccountExists = 31 => "account already exists",
    UnknownAccount = 32 => "unknown account",
    AccountFrozen = 33 => "account is frozen",
    TradingRestricted = 34 => "account is restricted from trading",
    ZeroAmount = 35 => "amount must not be zero",
    InvalidReference = 36 => "reference id must not be zero",
    DuplicateReference = 37 => "reference id was already applied",
    InsufficientFunds = 38 => "insufficient available balance",
    BalanceOverflow = 39 => "balance would overflow",
    BalanceCapacity = 40 => "no room for another balance record",
    // Orders.
    SymbolNotTrading = 50 => "symbol is not trading",
    InvalidTimeInForce = 51 => "time in force is not valid for this order type",
    ExpireTimeInPast = 52 => "GTD expiry time is not in the future",
    InvalidPostOnly = 53 => "post-only needs a GTC or GTD limit order",
    UnsupportedOrderType = 54 => "market orders by quote amount are buy-only",
    DuplicateClientOrderId = 55 => "client order id is already used by an open order",
    TooManyOpenOrders = 56 => "open order limit of the fee tier reached",
    InvalidPrice = 57 => "price must be positive",
    PriceNotTickMultiple = 58 => "price is not a multiple of the tick size",
    PriceOutsideBand = 59 => "price is outside the price band around the last trade",
    InvalidStopPrice = 60 => "stop price must be positive",
    StopWouldTriggerImmediately = 61 => "stop price is already reached by the last trade",
    InvalidQuantity = 62 => "quantity must be positive",
    QuantityNotLotMultiple = 63 => "quantity is not a multiple of the lot size",
    QuantityBelowMin = 64 => "quantity is below the minimum",
    QuantityAboveMax = 65 => "quantity is above the maximum",
    NotionalBelowMin = 66 => "notional is below the minimum",
    NotionalOverflow = 67 => "price times quantity is too large",
    PostOnlyWouldTake = 68 => "post-only order would take liquidity",
    OrderCapacity = 69 => "the engine's order capacity is exhausted",
    BookCapacity = 70 => "no room for another price level or stop on this side",
    UnknownOrder = 71 => "unknown order",
    OrderNotAmendable = 72 => "only resting limit orders can be amended",
    AmendBelowFilled = 73 => "new quantity must exceed the filled quantity",
    AmendNoChange = 74 => "amend changes neither price nor quantity",
    CrossedQuote = 75 => "quote bid must be below its ask",
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.description())
    }
}
