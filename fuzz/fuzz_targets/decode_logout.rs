#![no_main]

use libfuzzer_sys::fuzz_target;

// The Logout decoder (template 204); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::Logout::TEMPLATE_ID, data));
