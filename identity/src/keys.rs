//! Server-side secrets, each in a file of its own in the data directory, created once with
//! mode 0600 and refused if anyone else may read it:
//!
//! - `identity-jwt.key`: the HS256 key that signs access tokens;
//! - `identity-vault.key`: the AES-256-GCM key that encrypts what must be recoverable (API
//!   key secrets, TOTP secrets), and from which the pepper that hashes verification and
//!   recovery codes is derived.
//!
//! Also the random and hashing helpers the rest of the crate uses.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const JWT_KEY_FILE: &str = "identity-jwt.key";
pub const VAULT_KEY_FILE: &str = "identity-vault.key";

type HmacSha256 = Hmac<Sha256>;

/// The loaded secrets. Debug output shows none of them.
pub struct Keys {
    jwt: [u8; 32],
    vault: Aes256Gcm,
    pepper: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

#[derive(Debug)]
pub enum KeyFileError {
    Io(PathBuf, std::io::Error),
    /// Group or others may read or write it.
    Permissions(PathBuf, u32),
    Malformed(PathBuf),
}

impl std::fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyFileError::Io(path, error) => write!(f, "{}: {error}", path.display()),
            KeyFileError::Permissions(path, mode) => {
                write!(f, "{}: mode {mode:o} lets others read it; chmod 600 it", path.display())
            }
            KeyFileError::Malformed(path) => write!(f, "{}: not 64 hex digits", path.display()),
        }
    }
}

impl std::error::Error for KeyFileError {}

impl Keys {
    /// Loads the key files from `dir`, creating any that is missing.
    pub fn load_or_create(dir: &Path) -> Result<Keys, KeyFileError> {
        let jwt = key_file(&dir.join(JWT_KEY_FILE))?;
        let vault_key = key_file(&dir.join(VAULT_KEY_FILE))?;
        let pepper = hmac(&vault_key, b"cex-identity code pepper v1");
        let vault = Aes256Gcm::new_from_slice(&vault_key).expect("a 32-byte key");
        Ok(Keys { jwt, vault, pepper })
    }

    pub fn jwt_secret(&self) -> &[u8] {
        &self.jwt
    }

    /// A keyed hash (HMAC-SHA256 with the pepper) of a low-entropy secret such as a
    /// verification code, bound to its context (`purpose`): hex.
    pub fn code_hash(&self, purpose: &str, value: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.pepper).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Encrypts `plain` for storage, bound to `context` (e.g. the row it belongs to) so a
    /// ciphertext cannot be moved to another row: hex of nonce ‖ ciphertext.
    pub fn seal(&self, context: &str, plain: &[u8]) -> String {
        let nonce: [u8; 12] = random_bytes();
        let payload = Payload { msg: plain, aad: context.as_bytes() };
        let sealed = self.vault.encrypt(Nonce::from_slice(&nonce), payload).expect("AES-GCM encryption");
        let mut out = Vec::with_capacity(12 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        hex::encode(out)
    }

    /// Reverses [`Keys::seal`]; `None` if the text was not sealed by this key for `context`.
    pub fn open(&self, context: &str, sealed_hex: &str) -> Option<Vec<u8>> {
        let sealed = hex::decode(sealed_hex).ok()?;
        if sealed.len() < 12 + 16 {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(12);
        let payload = Payload { msg: ciphertext, aad: context.as_bytes() };
        self.vault.decrypt(Nonce::from_slice(nonce), payload).ok()
    }
}

fn key_file(path: &Path) -> Result<[u8; 32], KeyFileError> {
    let io = |error| KeyFileError::Io(path.to_path_buf(), error);
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(mut file) => {
            let key: [u8; 32] = random_bytes();
            file.write_all(hex::encode(key).as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            if let Some(dir) = path.parent() {
                File::open(dir).and_then(|dir| dir.sync_all()).map_err(io)?;
            }
            Ok(key)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read_key_file(path),
        Err(error) => Err(io(error)),
    }
}

fn read_key_file(path: &Path) -> Result<[u8; 32], KeyFileError> {
    let io = |error| KeyFileError::Io(path.to_path_buf(), error);
    let mut file = File::open(path).map_err(io)?;
    let mode = file.metadata().map_err(io)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions(path.to_path_buf(), mode));
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io)?;
    let bytes = hex::decode(text.trim()).map_err(|_| KeyFileError::Malformed(path.to_path_buf()))?;
    bytes.try_into().map_err(|_| KeyFileError::Malformed(path.to_path_buf()))
}

/// `N` bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// `len` characters drawn uniformly from `alphabet` (at most 256 symbols).
pub fn random_string(len: usize, alphabet: &[u8]) -> String {
    assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let byte = OsRng.next_u32() as u8 as usize;
        if byte < limit {
            out.push(alphabet[byte % alphabet.len()] as char);
        }
    }
    out
}

pub const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A random 256-bit token, hex.
pub fn random_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// SHA-256, hex: for high-entropy tokens (refresh tokens, challenge ids) looked up by hash.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Constant-time equality for secrets of equal length (unequal lengths compare unequal).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keys::load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(JWT_KEY_FILE)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = Keys::load_or_create(dir.path()).unwrap();
        assert_eq!(first.jwt_secret(), second.jwt_secret());
        let sealed = first.seal("row 1", b"secret");
        assert_eq!(second.open("row 1", &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(second.open("row 2", &sealed), None, "bound to its context");
        assert_eq!(first.code_hash("p", "123456"), second.code_hash("p", "123456"));
        assert_ne!(first.code_hash("p", "123456"), first.code_hash("q", "123456"));
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Keys::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(VAULT_KEY_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(Keys::load_or_create(dir.path()), Err(KeyFileError::Permissions(..))));
    }

    #[test]
    fn random_strings_use_the_alphabet() {
        let text = random_string(64, ALPHANUMERIC);
        assert_eq!(text.len(), 64);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(text, random_string(64, ALPHANUMERIC));
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"abc", b"ab"));
    }
}
