#![no_main]

use libfuzzer_sys::fuzz_target;

// The MassQuote decoder (template 14); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::MassQuote::TEMPLATE_ID, data));
