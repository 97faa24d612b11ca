#![no_main]

use libfuzzer_sys::fuzz_target;

// The AccountFeeTierChanged decoder (template 115); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::AccountFeeTierChanged::TEMPLATE_ID, data));
