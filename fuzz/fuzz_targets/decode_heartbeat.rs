#![no_main]

use libfuzzer_sys::fuzz_target;

// The Heartbeat decoder (template 203); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::Heartbeat::TEMPLATE_ID, data));
