//! Access tokens: HS256 JWTs naming a subject and the server-side session they belong to.
//! A token is only as good as its session: every request also checks that the session is
//! live, so logout and password changes take effect at once.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::store::SubjectKind;

const TOKEN_TYPE: &str = "access";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// `user:<id>` or `staff:<id>`.
    sub: String,
    sid: String,
    /// Seconds since the epoch, as JWT has it.
    iat: i64,
    exp: i64,
    typ: String,
}

/// What a valid access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub kind: SubjectKind,
    pub subject_id: i64,
    pub session_id: String,
    pub expires_at_ms: i64,
}

pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    ttl_ms: i64,
}

impl TokenSigner {
    pub fn new(secret: &[u8], issuer: &str, ttl_ms: i64) -> TokenSigner {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the injected clock below, not the system clock.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer]);
        TokenSigner {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_string(),
            ttl_ms,
        }
    }

    /// A token for the session, and when it expires (ms).
    pub fn issue(&self, kind: SubjectKind, subject_id: i64, session_id: &str, now_ms: i64) -> (String, i64) {
        let exp = (now_ms + self.ttl_ms) / 1000;
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: format!("{}:{subject_id}", kind.as_str()),
            sid: session_id.to_string(),
            iat: now_ms / 1000,
            exp,
            typ: TOKEN_TYPE.to_string(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).expect("HS256 encoding");
        (token, exp * 1000)
    }

    /// The claims of a well-signed, unexpired access token of ours; `None` otherwise.
    pub fn verify(&self, token: &str, now_ms: i64) -> Option<AccessClaims> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        if claims.typ != TOKEN_TYPE || claims.iss != self.issuer || now_ms >= claims.exp.checked_mul(1000)? {
            return None;
        }
        let (kind, id) = claims.sub.split_once(':')?;
        Some(AccessClaims {
            kind: SubjectKind::parse(kind)?,
            subject_id: id.parse().ok()?,
            session_id: claims.sid,
            expires_at_ms: claims.exp * 1000,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_they_expire() {
        let signer = TokenSigner::new(b"0123456789abcdef0123456789abcdef", "cex", 900_000);
        let now = 1_700_000_000_000;
        let (token, expires) = signer.issue(SubjectKind::User, 42, "sess", now);
        assert_eq!(expires, now + 900_000);
        let claims = signer.verify(&token, now + 899_999).unwrap();
        assert_eq!((claims.kind, claims.subject_id, claims.session_id.as_str()), (SubjectKind::User, 42, "sess"));
        assert_eq!(signer.verify(&token, now + 900_000), None, "expired");
        let other = TokenSigner::new(b"another key, also 32 bytes long!", "cex", 900_000);
        assert_eq!(other.verify(&token, now), None, "signed with another key");
        let elsewhere = TokenSigner::new(b"0123456789abcdef0123456789abcdef", "other", 900_000);
        assert_eq!(elsewhere.verify(&token, now), None, "another issuer");
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 3, 'x');
        assert_eq!(signer.verify(&tampered, now), None);
        assert_eq!(signer.verify("not.a.jwt", now), None);
    }

    #[test]
    fn the_none_algorithm_is_refused() {
        let signer = TokenSigner::new(b"0123456789abcdef0123456789abcdef", "cex", 900_000);
        let now = 1_700_000_000_000;
        let (token, _) = signer.issue(SubjectKind::Staff, 1, "s", now);
        let payload = token.split('.').nth(1).unwrap();
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert_eq!(signer.verify(&unsigned, now), None);
    }
}
