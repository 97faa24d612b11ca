//! Input rules for emails, phone numbers and labels.

/// A syntactically valid address, lower-cased. Deliberately strict: ASCII only, at most 254
/// characters, a dot-atom local part of at most 64, and a domain of at least two labels with
/// an alphabetic top-level label.
pub fn email(raw: &str) -> Option<String> {
    let email = raw.trim().to_ascii_lowercase();
    if email.len() > 254 || !email.is_ascii() {
        return None;
    }
    let (local, domain) = email.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    (local_ok && domain_ok).then_some(email)
}

/// E.164: `+`, then 8 to 15 digits, the first not 0. Spaces, dashes and parentheses are
/// dropped first.
pub fn phone(raw: &str) -> Option<String> {
    let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    let digits = compact.strip_prefix('+')?;
    let ok = (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    ok.then_some(compact)
}

/// A label: 1 to 64 characters, none of them control characters.
pub fn label(raw: &str) -> Option<String> {
    let label = raw.trim();
    let ok = !label.is_empty() && label.chars().count() <= 64 && !label.chars().any(char::is_control);
    ok.then(|| label.to_string())
}

/// An invite code: up to 32 letters, digits, `-` or `_`.
pub fn invite_code(raw: &str) -> Option<String> {
    let code = raw.trim();
    let ok = !code.is_empty()
        && code.len() <= 32
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email(" Alice.B+desk@Example.COM ").as_deref(), Some("alice.b+desk@example.com"));
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "alice@@example.com",
            "al ice@example.com",
            ".alice@example.com",
            "alice.@example.com",
            "al..ice@example.com",
            "alice@-example.com",
            "alice@example.c0m",
            "alice@example..com",
            "ålice@example.com",
            "alice@example.c",
        ] {
            assert_eq!(email(bad), None, "{bad:?}");
        }
        assert_eq!(email(&format!("{}@example.com", "a".repeat(65))), None);
    }

    #[test]
    fn phones_labels_invites() {
        assert_eq!(phone("+49 151 1234-5678").as_deref(), Some("+4915112345678"));
        for bad in ["4915112345678", "+0151123456", "+1234567", "+1234567890123456", "+49abc12345678"] {
            assert_eq!(phone(bad), None, "{bad:?}");
        }
        assert_eq!(label("  desk bot ").as_deref(), Some("desk bot"));
        assert_eq!(label(""), None);
        assert_eq!(label("a\u{0}b"), None);
        assert_eq!(label(&"x".repeat(65)), None);
        assert_eq!(invite_code("FRIEND_2024").as_deref(), Some("FRIEND_2024"));
        assert_eq!(invite_code("no spaces"), None);
    }
}
