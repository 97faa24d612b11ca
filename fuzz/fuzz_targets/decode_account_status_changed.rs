#![no_main]

use libfuzzer_sys::fuzz_target;

// The AccountStatusChanged decoder (template 114); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::AccountStatusChanged::TEMPLATE_ID, data));
