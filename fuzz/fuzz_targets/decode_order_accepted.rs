#![no_main]

use libfuzzer_sys::fuzz_target;

// The OrderAccepted decoder (template 102); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::OrderAccepted::TEMPLATE_ID, data));
