#![no_main]

use libfuzzer_sys::fuzz_target;

// The StopTriggered decoder (template 106); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::StopTriggered::TEMPLATE_ID, data));
