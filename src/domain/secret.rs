//! Random secrets (client secrets, later codes and refresh tokens) and their
//! storage form. These are 256-bit random values, so a single fast SHA-256 is
//! a sound storage hash; a slow password hash here would cap the token
//! endpoint at a few hundred requests per second.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Minimum length accepted for a client secret chosen by an operator.
pub const MIN_CHOSEN_SECRET_LEN: usize = 32;

/// `n` random bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut out);
    out
}

/// A new 256-bit random value, base64url without padding (43 characters).
pub fn generate_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A 128-bit random identifier (`jti`, `sid`, refresh-token family),
/// base64url (22 characters). Unique and unguessable but no secret, so it
/// comes from the thread's user-space CSPRNG (seeded and reseeded by the OS)
/// and costs no system call.
pub fn random_id() -> String {
    let mut out = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut out);
    URL_SAFE_NO_PAD.encode(out)
}

/// The storage form of a secret.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Compares a presented secret with a stored hash in constant time.
pub fn verify_secret(presented: &str, stored_hash: &[u8]) -> bool {
    hash_secret(presented).ct_eq(stored_hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_128_bit_and_distinct() {
        let (a, b) = (random_id(), random_id());
        assert_eq!(a.len(), 22);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 16);
        assert_ne!(a, b);
    }

    #[test]
    fn generated_tokens_are_256_bit_and_distinct() {
        let a = generate_token();
        let b = generate_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn a_secret_verifies_only_against_its_own_hash() {
        let stored = hash_secret("correct horse battery staple and more");
        assert!(verify_secret(
            "correct horse battery staple and more",
            &stored
        ));
        assert!(!verify_secret(
            "correct horse battery staple and mora",
            &stored
        ));
        assert!(!verify_secret("", &stored));
        assert!(!verify_secret("x", &stored[..16]));
    }
}
