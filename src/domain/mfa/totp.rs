//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1, six
//! digits, 30-second steps, the code of the step before and after accepted
//! too for clocks that drift. What every authenticator app speaks.

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;

/// Seconds per time step.
pub const PERIOD: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Secret length: 160 bits, as RFC 4226 §4 recommends.
pub const SECRET_LEN: usize = 20;
/// Steps either side of now whose codes are accepted.
const DRIFT: i64 = 1;

/// The time step `now` falls in.
pub fn step_at(now: i64) -> i64 {
    now.div_euclid(PERIOD)
}

/// The code for `step`, as the user types it.
pub fn code_at(secret: &[u8], step: i64) -> String {
    // SHA-1 is what the standard and every authenticator app use; as an HMAC
    // it is not affected by SHA-1's collision weakness.
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let h = tag.as_ref();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        h[offset] & 0x7f,
        h[offset + 1],
        h[offset + 2],
        h[offset + 3],
    ]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(DIGITS as u32),
        width = DIGITS
    )
}

/// The presented code as six digits, ignoring spaces people type or paste.
pub fn normalise(presented: &str) -> Option<String> {
    let digits: String = presented.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The step whose code `presented` is, among those accepted at `now`.
/// Every candidate is compared, in constant time, whatever matches.
pub fn matching_step(secret: &[u8], presented: &str, now: i64) -> Option<i64> {
    let digits = normalise(presented)?;
    let current = step_at(now);
    let mut found = None;
    for step in current - DRIFT..=current + DRIFT {
        let equal: bool = code_at(secret, step)
            .as_bytes()
            .ct_eq(digits.as_bytes())
            .into();
        if equal && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding: how authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The bytes of an unpadded RFC 4648 base32 text, upper case, as [`base32`]
/// writes it.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app enrols from (the de facto
/// Key Uri Format): `issuer` names this server, `account` the user.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    // Everything but RFC 3986's unreserved characters.
    const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let enc = |s: &str| utf8_percent_encode(s, ENCODE).to_string();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B's SHA-1 secret.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_rfc_6238_test_vectors() {
        // The RFC lists eight digits; six are their last six.
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(RFC_SECRET, step_at(time)), eight[2..], "at {time}");
        }
    }

    #[test]
    fn codes_of_the_neighbouring_steps_are_accepted_and_no_others() {
        let now = 1_234_567_890;
        let step = step_at(now);
        for s in [step - 1, step, step + 1] {
            let code = code_at(RFC_SECRET, s);
            assert_eq!(matching_step(RFC_SECRET, &code, now), Some(s));
        }
        for s in [step - 2, step + 2] {
            assert_eq!(
                matching_step(RFC_SECRET, &code_at(RFC_SECRET, s), now),
                None
            );
        }
    }

    #[test]
    fn spaces_are_ignored_and_anything_but_six_digits_refused() {
        let now = 59;
        let code = code_at(RFC_SECRET, step_at(now));
        let spaced = format!(" {} {} ", &code[..3], &code[3..]);
        assert_eq!(matching_step(RFC_SECRET, &spaced, now), Some(1));
        for bad in ["", "28708", "2870822", "28708a", "２８７０８２"] {
            assert_eq!(matching_step(RFC_SECRET, bad, now), None, "{bad}");
        }
    }

    #[test]
    fn base32_follows_rfc_4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded), Some(plain.as_bytes().to_vec()));
        }
        assert_eq!(base32_decode("mzxw6"), None);
    }

    #[test]
    fn the_uri_names_issuer_account_and_parameters() {
        let uri = otpauth_uri("id.example.com", "alice smith", b"12345");
        assert_eq!(
            uri,
            "otpauth://totp/id.example.com:alice%20smith?secret=GEZDGNBV\
             &issuer=id.example.com&algorithm=SHA1&digits=6&period=30"
        );
    }
}
