#![no_main]

use libfuzzer_sys::fuzz_target;

// The LogonRejected decoder (template 202); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::LogonRejected::TEMPLATE_ID, data));
