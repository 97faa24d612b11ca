#![no_main]

use libfuzzer_sys::fuzz_target;

// The SymbolFeesChanged decoder (template 111); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::SymbolFeesChanged::TEMPLATE_ID, data));
