#![no_main]

use libfuzzer_sys::fuzz_target;

// The BalanceUpdate decoder (template 402); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::BalanceUpdate::TEMPLATE_ID, data));
