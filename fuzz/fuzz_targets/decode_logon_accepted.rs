#![no_main]

use libfuzzer_sys::fuzz_target;

// The LogonAccepted decoder (template 201); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::LogonAccepted::TEMPLATE_ID, data));
