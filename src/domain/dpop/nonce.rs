//! Server-provided DPoP nonces (RFC 9449 §8): they bound how long a proof
//! made in advance stays usable. Derived from the server's MAC key and the
//! time, so any instance checks one without storing it.

use subtle::ConstantTimeEq;

use crate::domain::flows::refresh::RotationKey;

/// A nonce names a window of this many seconds and is accepted in it and
/// in the next one (and in the one before it, for an instance whose clock
/// is a little behind the one that issued it).
pub const WINDOW: i64 = 300;

fn mac(key: &RotationKey, window: i64) -> String {
    key.mac(&format!("dpop-nonce|{window}"))
}

/// The nonce to hand out at `now`.
pub fn current(key: &RotationKey, now: i64) -> String {
    let window = now.div_euclid(WINDOW);
    format!("{window:x}.{}", mac(key, window))
}

/// True for a nonce this server (any instance) issued in this window, the
/// previous one or the next one.
pub fn is_fresh(key: &RotationKey, nonce: &str, now: i64) -> bool {
    let Some((w, presented)) = nonce.split_once('.') else {
        return false;
    };
    // Exactly as `current` writes it: one spelling per nonce.
    let Ok(window) = i64::from_str_radix(w, 16) else {
        return false;
    };
    if format!("{window:x}") != w {
        return false;
    }
    let this = now.div_euclid(WINDOW);
    if !(this - 1..=this + 1).contains(&window) {
        return false;
    }
    bool::from(presented.as_bytes().ct_eq(mac(key, window).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_for_its_window_and_the_next_and_only_for_its_server() {
        let key = RotationKey::from_bytes(&[7; 32]);
        let other = RotationKey::from_bytes(&[8; 32]);
        let now = 1_800_000_000;
        let n = current(&key, now);
        assert!(is_fresh(&key, &n, now));
        assert!(is_fresh(&key, &n, now + WINDOW));
        assert!(is_fresh(&key, &n, now - WINDOW));
        assert!(!is_fresh(&key, &n, now + 2 * WINDOW));
        assert!(!is_fresh(&key, &n, now - 2 * WINDOW));
        let (w, mac) = n.split_once('.').unwrap();
        assert!(!is_fresh(&key, &format!("+{w}.{mac}"), now));
        assert!(!is_fresh(&key, &format!("0{w}.{mac}"), now));
        assert!(!is_fresh(&key, &format!("{}.{mac}", w.to_uppercase()), now));
        assert!(!is_fresh(&other, &n, now));
        for bad in ["", ".", "zz.abc", "1", &n[..n.len() - 1]] {
            assert!(!is_fresh(&key, bad, now), "{bad:?}");
        }
    }
}
