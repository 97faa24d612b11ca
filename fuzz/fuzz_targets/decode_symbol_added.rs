#![no_main]

use libfuzzer_sys::fuzz_target;

// The SymbolAdded decoder (template 109); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::SymbolAdded::TEMPLATE_ID, data));
