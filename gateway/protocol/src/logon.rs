//! What a Logon signs. The gateway checks logons with the identity store's API keys
//! (`cex-identity`'s `Identity::verify_logon`), so the signed text is the identity store's:
//! `apiKey=<key>&nonce=<nonce>&timestamp=<timestampMs>`, numbers in decimal, as ASCII bytes.
//! The signature is the raw 32-byte HMAC-SHA256 of that text, keyed with the API secret's bytes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The text a Logon signs.
pub fn logon_payload(api_key: &str, timestamp_ms: u64, nonce: u64) -> String {
    format!("apiKey={api_key}&nonce={nonce}&timestamp={timestamp_ms}")
}

/// A Logon's signature: HMAC-SHA256, keyed with `secret`, of [`logon_payload`].
pub fn sign_logon(secret: &str, api_key: &str, timestamp_ms: u64, nonce: u64) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(logon_payload(api_key, timestamp_ms, nonce).as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of docs/IDENTITY.md ("Gateway logon"), which `cex-identity` checks too.
    #[test]
    fn the_identity_documents_example_signs_the_same() {
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let api_key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
        assert_eq!(
            logon_payload(api_key, 1_499_827_319_559, 42),
            format!("apiKey={api_key}&nonce=42&timestamp=1499827319559")
        );
        let signature: String =
            sign_logon(secret, api_key, 1_499_827_319_559, 42).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(signature, "cb0b73b65fd1034caea670719e8eba1dce11e806bb58f4b187c0dbc71e494ed3");
    }
}
