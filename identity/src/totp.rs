//! TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, one step of drift either way) and
//! recovery codes.

use totp_rs::{Algorithm, Secret, TOTP};

use crate::keys::{ct_eq, random_bytes, random_string};

pub const STEP_SECONDS: u64 = 30;
pub const RECOVERY_CODES: usize = 10;
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A fresh 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    random_bytes::<20>().to_vec()
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> TOTP {
    TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECONDS, secret.to_vec(), Some(issuer.to_string()), account.to_string())
        .expect("a 160-bit secret and an issuer and account without ':'")
}

/// The secret as authenticator apps take it when typed in.
pub fn secret_base32(secret: &[u8]) -> String {
    Secret::Raw(secret.to_vec()).to_encoded().to_string()
}

/// `otpauth://totp/…`, for a QR code.
pub fn provisioning_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    totp(secret, issuer, &account.replace(':', "")).get_url()
}

/// The code for the step holding `now_ms`.
pub fn code_at(secret: &[u8], now_ms: i64) -> String {
    totp(secret, "cex", "x").generate(now_ms.max(0) as u64 / 1000)
}

/// The code for `now_ms` from a base32 secret (what an authenticator app does).
pub fn code_from_base32(secret_base32: &str, now_ms: i64) -> Option<String> {
    let secret = Secret::Encoded(secret_base32.to_string()).to_bytes().ok()?;
    Some(code_at(&secret, now_ms))
}

/// The step (now, or one before or after) whose code `code` is, compared in constant time.
pub fn matching_step(secret: &[u8], code: &str, now_ms: i64) -> Option<i64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now_step = now_ms.max(0) / 1000 / STEP_SECONDS as i64;
    let generator = totp(secret, "cex", "x");
    let mut found = None;
    for step in [now_step - 1, now_step, now_step + 1] {
        let expected = generator.generate(step.max(0) as u64 * STEP_SECONDS);
        if ct_eq(expected.as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// Ten one-time recovery codes, `xxxxx-xxxxx` (about 49 bits each).
pub fn recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let text = random_string(10, RECOVERY_ALPHABET);
            format!("{}-{}", &text[..5], &text[5..])
        })
        .collect()
}

/// A recovery code as typed, normalised for hashing: lower case, no spaces or dashes.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA1, T = 59 s: 94287082 (8 digits); 6 digits keep the tail.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59_000), "287082");
        assert_eq!(code_at(secret, 1_111_111_109_000), "081804");
    }

    #[test]
    fn one_step_of_drift_either_way() {
        let secret = new_secret();
        let now = 1_700_000_015_000;
        let step = now / 1000 / 30;
        assert_eq!(matching_step(&secret, &code_at(&secret, now), now), Some(step));
        assert_eq!(matching_step(&secret, &code_at(&secret, now - 30_000), now), Some(step - 1));
        assert_eq!(matching_step(&secret, &code_at(&secret, now + 30_000), now), Some(step + 1));
        assert_eq!(matching_step(&secret, &code_at(&secret, now - 90_000), now), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
        let base32 = secret_base32(&secret);
        assert_eq!(code_from_base32(&base32, now).unwrap(), code_at(&secret, now));
        let uri = provisioning_uri(&secret, "cex", "alice@example.com");
        assert!(uri.starts_with("otpauth://totp/cex:alice%40example.com?secret="), "{uri}");
        assert!(uri.contains(&base32));
    }

    #[test]
    fn recovery_codes_are_distinct() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        assert_eq!(normalize_recovery_code(" ABCDE-fghjk "), "abcdefghjk");
    }
}
