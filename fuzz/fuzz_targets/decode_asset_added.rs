#![no_main]

use libfuzzer_sys::fuzz_target;

// The AssetAdded decoder (template 108); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::AssetAdded::TEMPLATE_ID, data));
