#![no_main]

use libfuzzer_sys::fuzz_target;

// The Amend decoder (template 13); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::Amend::TEMPLATE_ID, data));
