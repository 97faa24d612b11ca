#![no_main]

use libfuzzer_sys::fuzz_target;

// The AmendOrder decoder (template 303); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::AmendOrder::TEMPLATE_ID, data));
