#![no_main]

use libfuzzer_sys::fuzz_target;

// The AdminCancel decoder (template 15); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::AdminCancel::TEMPLATE_ID, data));
