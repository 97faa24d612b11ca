#![no_main]

use libfuzzer_sys::fuzz_target;

// The SetAccountStatus decoder (template 7); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::SetAccountStatus::TEMPLATE_ID, data));
