#![no_main]

use libfuzzer_sys::fuzz_target;

// The CreateAccount decoder (template 6); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::CreateAccount::TEMPLATE_ID, data));
