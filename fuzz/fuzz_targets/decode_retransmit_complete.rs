#![no_main]

use libfuzzer_sys::fuzz_target;

// The RetransmitComplete decoder (template 206); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::RetransmitComplete::TEMPLATE_ID, data));
