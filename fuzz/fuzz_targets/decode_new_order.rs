#![no_main]

use libfuzzer_sys::fuzz_target;

// The NewOrder decoder (template 10); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::NewOrder::TEMPLATE_ID, data));
