#![no_main]

use libfuzzer_sys::fuzz_target;

// The Cancel decoder (template 11); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::Cancel::TEMPLATE_ID, data));
