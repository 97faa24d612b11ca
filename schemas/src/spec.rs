//! `SymbolSpec` travels in two messages, the `AddSymbol` command and the `SymbolAdded` event,
//! whose generated types differ; these macros map it once for both.

/// The message `codec::$message` carrying `$spec`, plus the listed fields in scope.
macro_rules! encode_spec {
    ($message:ident { $($extra:ident),* }, $spec:expr) => {{
        let cex_engine::SymbolSpec {
            symbol,
            base,
            quote,
            tick_size,
            lot_size,
            min_qty,
            max_qty,
            min_notional,
            price_band_bps,
            reference_price,
            maker_fee_bps,
            taker_fee_bps,
        } = $spec;
        crate::codec::$message {
            $($extra,)*
            symbol,
            base_asset: base,
            quote_asset: quote,
            tick_size,
            lot_size,
            min_qty,
            max_qty,
            min_notional,
            price_band_bps,
            reference_price,
            maker_fee_bps,
            taker_fee_bps,
        }
    }};
}

/// The `SymbolSpec` a decoder of either message reads; `?` on each field.
macro_rules! decode_spec {
    ($decoder:expr) => {
        cex_engine::SymbolSpec {
            symbol: $decoder.symbol()?,
            base: $decoder.base_asset()?,
            quote: $decoder.quote_asset()?,
            tick_size: $decoder.tick_size()?,
            lot_size: $decoder.lot_size()?,
            min_qty: $decoder.min_qty()?,
            max_qty: $decoder.max_qty()?,
            min_notional: $decoder.min_notional()?,
            price_band_bps: $decoder.price_band_bps()?,
            reference_price: $decoder.reference_price()?,
            maker_fee_bps: $decoder.maker_fee_bps()?,
            taker_fee_bps: $decoder.taker_fee_bps()?,
        }
    };
}

pub(crate) use {decode_spec, encode_spec};
