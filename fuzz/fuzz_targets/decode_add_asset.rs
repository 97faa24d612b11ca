#![no_main]

use libfuzzer_sys::fuzz_target;

// The AddAsset decoder (template 1); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::AddAsset::TEMPLATE_ID, data));
