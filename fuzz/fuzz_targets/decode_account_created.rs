#![no_main]

use libfuzzer_sys::fuzz_target;

// The AccountCreated decoder (template 113); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::AccountCreated::TEMPLATE_ID, data));
