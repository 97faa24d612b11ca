#![no_main]

use libfuzzer_sys::fuzz_target;

// The BalanceChanged decoder (template 107); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::BalanceChanged::TEMPLATE_ID, data));
