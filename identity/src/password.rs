//! Passwords: the policy a new password must meet, and argon2id hashing (PHC strings, so
//! the parameters travel with each hash and can be raised later).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::OsRng;

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

/// argon2id cost. The default is OWASP's first recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub lanes: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        PasswordCost { memory_kib: 19 * 1024, iterations: 2, lanes: 1 }
    }
}

impl PasswordCost {
    /// Cheap enough for tests; never for production.
    pub fn for_tests() -> PasswordCost {
        PasswordCost { memory_kib: 256, iterations: 1, lanes: 1 }
    }

    fn argon2(self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, self.iterations, self.lanes, None).expect("valid argon2 parameters");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

/// Why a password is refused. The message is shown to the user.
pub fn check_policy(password: &str, email: &str) -> Result<(), &'static str> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err("the password must have at least 10 characters");
    }
    if len > MAX_LEN {
        return Err("the password must have at most 128 characters");
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_numeric()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|&&present| present).count() < 2 {
        return Err("the password must mix at least two of: lower case, upper case, digits, symbols");
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err("the password is too common");
    }
    if !email.is_empty() && lower.contains(&email.to_lowercase()) {
        return Err("the password must not contain the email address");
    }
    let distinct: std::collections::HashSet<char> = password.chars().collect();
    if distinct.len() < 4 {
        return Err("the password repeats too few characters");
    }
    Ok(())
}

/// Hashes with argon2id and a fresh salt: a PHC string. CPU-heavy: call it off the
/// async executor (see [`hash_blocking`]).
pub fn hash(password: &str, cost: PasswordCost) -> String {
    let salt = SaltString::generate(&mut OsRng);
    cost.argon2().hash_password(password.as_bytes(), &salt).expect("argon2 hashing").to_string()
}

/// Checks a password against a PHC string (in constant time, by argon2's own comparison).
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // The parameters come from the stored hash; the cost here only fills the defaults.
    PasswordCost::default().argon2().verify_password(password.as_bytes(), &parsed).is_ok()
}

pub async fn hash_blocking(password: String, cost: PasswordCost) -> String {
    tokio::task::spawn_blocking(move || hash(&password, cost)).await.expect("the hashing task panicked")
}

pub async fn verify_blocking(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &phc)).await.expect("the hashing task panicked")
}

/// Passwords of ten or more characters from the most common leaked-password lists, lower
/// case. Anything shorter fails the length rule anyway.
const COMMON: &[&str] = &[
    "1234567890",
    "0123456789",
    "0987654321",
    "1111111111",
    "123456789a",
    "a123456789",
    "1234567890a",
    "12345678910",
    "123456789abc",
    "qwertyuiop",
    "qwertyuiop1",
    "qwerty1234",
    "qwerty12345",
    "qwerty123456",
    "1q2w3e4r5t",
    "1q2w3e4r5t6y",
    "q1w2e3r4t5",
    "1qaz2wsx3edc",
    "zaq12wsxcde3",
    "zaq1zaq1zaq1",
    "1qazxsw23edc",
    "password12",
    "password123",
    "password1234",
    "password123!",
    "password1!",
    "password01",
    "passw0rd123",
    "p@ssw0rd123",
    "p@ssword123",
    "p@ssw0rd1234",
    "iloveyou12",
    "iloveyou123",
    "iloveyou1234",
    "abc123456789",
    "abcd123456",
    "abcd1234!@",
    "abcdefghij",
    "abcdefg123",
    "a1b2c3d4e5",
    "aa12345678",
    "aa123456789",
    "administrator",
    "admin12345",
    "admin123456",
    "admin@1234",
    "welcome123",
    "welcome1234",
    "welcome@123",
    "letmein123",
    "letmein1234",
    "changeme123",
    "changeme12",
    "trustno1234",
    "monkey12345",
    "dragon12345",
    "football123",
    "baseball123",
    "basketball",
    "basketball1",
    "sunshine123",
    "princess123",
    "superman123",
    "starwars123",
    "whatever123",
    "computer123",
    "michael123",
    "jordan2323",
    "charlie123",
    "liverpool1",
    "chelsea123",
    "arsenal123",
    "pokemon123",
    "naruto1234",
    "master1234",
    "shadow1234",
    "qazwsxedc123",
    "qazwsxedcrfv",
    "asdfghjkl1",
    "asdfghjkl123",
    "zxcvbnm123",
    "zxcvbnm1234",
    "1234qwer!@#$",
    "1234qwerasdf",
    "qwer1234!@#$",
    "q1w2e3r4t5y6",
    "!qaz2wsx3edc",
    "!qaz@wsx#edc",
    "1q2w3e4r!q",
    "987654321a",
    "bitcoin123",
    "bitcoin1234",
    "ethereum123",
    "crypto1234",
    "binance123",
    "qwerty@123",
    "qwerty!234",
    "test123456",
    "testtest12",
    "hello12345",
    "hello123456",
    "secret1234",
    "mypassword",
    "mypassword1",
    "mypassword123",
    "passwordpassword",
    "password",
    "1234567890!",
    "00000000000",
    "123123123123",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy() {
        assert!(check_policy("Tr4ding-desk-9", "a@b.co").is_ok());
        assert!(check_policy("short1A!", "a@b.co").is_err(), "length");
        assert!(check_policy("alllowercaseletters", "a@b.co").is_err(), "one class");
        assert!(check_policy("12345678901234", "a@b.co").is_err(), "one class");
        assert!(check_policy("Password123", "a@b.co").is_err(), "common");
        assert!(check_policy("QWERTYuiop1", "a@b.co").is_err(), "common, any case");
        assert!(check_policy("xx-alice@example.com", "alice@example.com").is_err(), "contains the email");
        assert!(check_policy("ababababab1", "a@b.co").is_err(), "too few distinct characters");
        assert!(check_policy(&"aB3".repeat(50), "a@b.co").is_err(), "too long");
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let cost = PasswordCost::for_tests();
        let one = hash("Tr4ding-desk-9", cost);
        let two = hash("Tr4ding-desk-9", cost);
        assert!(one.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{one}");
        assert_ne!(one, two, "salted");
        assert!(verify("Tr4ding-desk-9", &one));
        assert!(!verify("Tr4ding-desk-8", &one));
        assert!(!verify("Tr4ding-desk-9", "not a hash"));
    }

    #[test]
    fn the_default_cost_is_owasp() {
        let phc = hash("Tr4ding-desk-9", PasswordCost::default());
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("Tr4ding-desk-9", &phc));
    }
}
