#![no_main]

use libfuzzer_sys::fuzz_target;

// The BookUpdate decoder (template 501); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::BookUpdate::TEMPLATE_ID, data));
