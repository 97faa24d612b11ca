#![no_main]

use libfuzzer_sys::fuzz_target;

// Any bytes as a client's message: decoded, checked, refused or mapped to engine commands; see
// `cex_fuzz::client_message`.
fuzz_target!(|data: &[u8]| cex_fuzz::client_message(data));
