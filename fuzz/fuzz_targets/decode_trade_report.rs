#![no_main]

use libfuzzer_sys::fuzz_target;

// The TradeReport decoder (template 401); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::TradeReport::TEMPLATE_ID, data));
