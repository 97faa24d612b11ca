#![no_main]

use libfuzzer_sys::fuzz_target;

// The Trade decoder (template 103); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::Trade::TEMPLATE_ID, data));
