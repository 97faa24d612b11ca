#![no_main]

use libfuzzer_sys::fuzz_target;

// The SessionReject decoder (template 207); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::SessionReject::TEMPLATE_ID, data));
