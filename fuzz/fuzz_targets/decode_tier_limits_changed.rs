#![no_main]

use libfuzzer_sys::fuzz_target;

// The TierLimitsChanged decoder (template 112); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::TierLimitsChanged::TEMPLATE_ID, data));
