#![no_main]

use libfuzzer_sys::fuzz_target;

// The SetTierLimits decoder (template 5); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::SetTierLimits::TEMPLATE_ID, data));
