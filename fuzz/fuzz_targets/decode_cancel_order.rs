#![no_main]

use libfuzzer_sys::fuzz_target;

// The CancelOrder decoder (template 301); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::CancelOrder::TEMPLATE_ID, data));
