#![no_main]

use libfuzzer_sys::fuzz_target;

// The CancelAllOrders decoder (template 302); see `cex_fuzz::message`.
fuzz_target!(|data: &[u8]| cex_fuzz::message(cex_fuzz::codec::CancelAllOrders::TEMPLATE_ID, data));
