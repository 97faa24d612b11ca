#![no_main]

use libfuzzer_sys::fuzz_target;

// The SetSymbolStatus decoder (template 3); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::SetSymbolStatus::TEMPLATE_ID, data));
