#![no_main]

use libfuzzer_sys::fuzz_target;

// The OrderAmended decoder (template 105); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::OrderAmended::TEMPLATE_ID, data));
