#![no_main]

use libfuzzer_sys::fuzz_target;

// The SymbolStatusChanged decoder (template 110); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::SymbolStatusChanged::TEMPLATE_ID, data));
