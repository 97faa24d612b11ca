#![no_main]

use libfuzzer_sys::fuzz_target;

// The SetAccountFeeTier decoder (template 8); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::SetAccountFeeTier::TEMPLATE_ID, data));
