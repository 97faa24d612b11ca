#![no_main]

use libfuzzer_sys::fuzz_target;

// The RetransmitRequest decoder (template 205); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::RetransmitRequest::TEMPLATE_ID, data));
