#![no_main]

use libfuzzer_sys::fuzz_target;

// The MassQuoteRequest decoder (template 304); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::MassQuoteRequest::TEMPLATE_ID, data));
