#![no_main]

use libfuzzer_sys::fuzz_target;

// The TradeTick decoder (template 500); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::TradeTick::TEMPLATE_ID, data));
