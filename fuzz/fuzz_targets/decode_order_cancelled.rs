#![no_main]

use libfuzzer_sys::fuzz_target;

// The OrderCancelled decoder (template 104); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::OrderCancelled::TEMPLATE_ID, data));
