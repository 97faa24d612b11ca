#![no_main]

use libfuzzer_sys::fuzz_target;

// The AdjustBalance decoder (template 9); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::AdjustBalance::TEMPLATE_ID, data));
