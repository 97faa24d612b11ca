//! fuzz/ has a cargo-fuzz target for the frame decoder, for a client's message, and for every
//! message decoder of the schema: a new message without its target fails here.

use cex_gateway_protocol::codec;

const FUZZ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz");

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn every_message_decoder_has_a_fuzz_target() {
    let manifest = std::fs::read_to_string(format!("{FUZZ}/Cargo.toml")).unwrap();
    assert!(manifest.contains("cargo-fuzz = true"));
    let declared: Vec<&str> = manifest
        .lines()
        .filter_map(|line| line.strip_prefix("name = \"")?.strip_suffix('"'))
        .filter(|name| *name != "cex-fuzz")
        .collect();
    let mut expected = vec!["frame".to_string(), "client_message".to_string()];
    expected.extend(codec::MESSAGES.iter().map(|m| format!("decode_{}", snake_case(m.name))));
    assert_eq!(declared, expected);
    for message in codec::MESSAGES {
        let path = format!("{FUZZ}/fuzz_targets/decode_{}.rs", snake_case(message.name));
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(source.contains(&format!("codec::{}::TEMPLATE_ID", message.name)), "{path}");
    }
}
