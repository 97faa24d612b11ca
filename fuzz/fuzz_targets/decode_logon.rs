#![no_main]

use libfuzzer_sys::fuzz_target;

// The Logon decoder (template 200); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::Logon::TEMPLATE_ID, data));
