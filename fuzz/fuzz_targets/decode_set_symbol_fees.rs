#![no_main]

use libfuzzer_sys::fuzz_target;

// The SetSymbolFees decoder (template 4); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::SetSymbolFees::TEMPLATE_ID, data));
