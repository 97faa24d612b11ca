#![no_main]

use libfuzzer_sys::fuzz_target;

// The AddSymbol decoder (template 2); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::AddSymbol::TEMPLATE_ID, data));
