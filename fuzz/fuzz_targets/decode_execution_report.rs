#![no_main]

use libfuzzer_sys::fuzz_target;

// The ExecutionReport decoder (template 400); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::ExecutionReport::TEMPLATE_ID, data));
