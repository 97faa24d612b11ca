#![no_main]

use libfuzzer_sys::fuzz_target;

// The NewOrderSingle decoder (template 300); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::NewOrderSingle::TEMPLATE_ID, data));
