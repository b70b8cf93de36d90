//! Entry points for the fuzz targets in `fuzz/` (and the seed corpus that
//! `cargo test` replays). Each feeds untrusted bytes to a parser that sees
//! them in production and asserts what must hold for every input, so a
//! broken property is a crash the fuzzer reports, not only a panic.

use jsonwebtoken::jwk::JwkSet;
use url::form_urlencoded;

use crate::domain::client::ClientCredentials;
use crate::domain::client::assertion::{self, Expected};
use crate::domain::client::key_set;
use crate::domain::redirect_uri::RedirectUri;
use crate::domain::scope::Scope;
use crate::routes::form::{self, Params};

/// A `/token`, `/revoke` or `/introspect` body, and the same bytes as an
/// `Authorization: Basic` value. What parses re-encodes to the same
/// parameters, holds no NUL, and a Basic client id is never empty.
pub fn form(data: &[u8]) {
    if let Ok(params) = Params::parse(data) {
        let map = params.as_map();
        assert!(
            map.iter()
                .all(|(k, v)| !k.contains('\0') && !v.contains('\0')),
            "a NUL passed the form reader"
        );
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(map)
            .finish();
        let Ok(again) = Params::parse(encoded.as_bytes()) else {
            panic!("re-encoded parameters were refused: {encoded:?}");
        };
        assert_eq!(again.as_map(), map);
    }
    if let Ok(value) = std::str::from_utf8(data)
        && let Ok(ClientCredentials::Secret { client_id, secret }) = form::parse_basic(value)
    {
        assert!(
            !client_id.is_empty(),
            "a Basic header gave an empty client id"
        );
        assert!(!client_id.contains('\0') && !secret.contains('\0'));
    }
}

/// A redirect URI at registration, then as presented at `/authorize`:
/// a registered URI matches itself and nothing else, and never holds a
/// fragment or credentials.
pub fn redirect_uri(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = RedirectUri::parse(text) else {
        return;
    };
    assert_eq!(uri.as_str(), text);
    assert!(uri.matches(text));
    assert!(!text.contains('#'), "a fragment was registered: {text:?}");
    for variant in [
        format!("{text}/"),
        format!("{text}x"),
        text.to_ascii_uppercase(),
        text.trim_end_matches('/').to_owned(),
    ] {
        assert_eq!(
            uri.matches(&variant),
            variant == text,
            "{text:?} vs {variant:?}"
        );
    }
}

/// A `scope` parameter: every accepted token is in RFC 6749's grammar, the
/// set survives a round trip through its space-separated form, and the set
/// operations agree with each other.
pub fn scope(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scope) = Scope::parse(text) else {
        return;
    };
    for token in scope.iter() {
        assert!(!token.is_empty() && token.len() <= 128);
        assert!(
            token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)),
            "token {token:?} is outside the scope-token grammar"
        );
        assert!(scope.contains(token));
    }
    let joined = scope.iter().collect::<Vec<_>>().join(" ");
    assert_eq!(Scope::parse(&joined).as_ref(), Ok(&scope));
    assert!(scope.is_subset(&scope));
    assert!(scope.missing_from(&scope).is_empty());
    assert_eq!(scope.union(&scope), scope);
    let service = scope.without_user_scopes();
    assert!(service.is_subset(&scope));
    assert_eq!(
        scope.missing_from(&service).len(),
        scope.iter().count() - service.iter().count()
    );
}

/// A JWK Set as registered or fetched from a `jwks_uri`: whatever parses
/// holds only public keys this server can use.
pub fn key_set(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(set) = key_set::parse(text) else {
        return;
    };
    assert!(!set.keys.is_empty());
    for key in &set.keys {
        assert!(!key_set::algorithms_for(key).is_empty(), "{key:?}");
        let Ok(json) = serde_json::to_value(key) else {
            panic!("a parsed key does not serialise");
        };
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(json.get(private).is_none(), "private member {private} kept");
        }
    }
}

/// A `client_assertion` as posted to `/token`: it names some client, and
/// checked against a key whose private half nobody has, it never passes.
pub fn client_assertion(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(client) = assertion::claimed_client(text) {
        assert!(!client.is_empty() && !client.contains('\0'));
    }
    let set: &JwkSet = &UNSIGNABLE_KEYS;
    let audiences = ["https://issuer.test".to_owned()];
    let expected = Expected {
        client_id: "c1",
        audiences: &audiences,
        now: 1_800_000_000,
    };
    assert!(assertion::check(set, text, &expected).is_err());
}

/// RSA and P-256 public keys whose private halves were thrown away.
static UNSIGNABLE_KEYS: std::sync::LazyLock<JwkSet> = std::sync::LazyLock::new(|| {
    let json = r#"{"keys":[
        {"kty":"RSA","kid":"r","e":"AQAB","n":"r9fJWX54oDUkmmdJ3TpmsBRxFkE4o8uUlfJWOb3qM9gnyOLloXK0lkHC76WyaKFwSjFuJ17jgQIYKX9sjY-IXqSPRxeNZBguEqB6E-lf9bWv9tJJyEnsGeCZyJX6NPrwdVUUC120jLE_3ogGgftRTFXh44Va1JNY-CdzpHUtfKqdvu7BSuFGnLqZJLQLTOJ0PV9cDaBZEBEcLwLWv0oD6c7qCRxG0o-wCRO0kJ7ERe5TMmTaylUDP2aoW93riBe-aPx4C9BpTHGrvvAcoQCu7v2PpEPqaM4CPeABmB3RQU_7ARfbE7VS8wYfhM9dSvZbnSFyAHhrFm78LdmsyoIQPw"},
        {"kty":"EC","kid":"e","crv":"P-256","x":"P9jGM-YJIwDfHZVn4X5iEpWtvOHoHYUItjH-QCJjkgw","y":"wRs_mxeGQAgiwAkcyNCeVlvecKpMrxF59GQj-AAk9EI"}]}"#;
    key_set::parse(json).unwrap_or_else(|e| unreachable!("the fixed key set is valid: {e}"))
});

#[cfg(test)]
mod tests {
    //! Every committed seed of every target, so `cargo test` replays the
    //! corpus (the verifier's targets included) without a fuzzer.

    use std::path::PathBuf;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{DecodingKey, EncodingKey};
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    use tessera_verifier::fuzzing as verifier;

    fn seeds(target: &str) -> Vec<Vec<u8>> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no seeds in {}", dir.display());
        files.iter().map(|f| std::fs::read(f).unwrap()).collect()
    }

    #[test]
    fn form_seeds_hold() {
        seeds("form").iter().for_each(|s| super::form(s));
    }

    #[test]
    fn redirect_uri_seeds_hold() {
        seeds("redirect_uri")
            .iter()
            .for_each(|s| super::redirect_uri(s));
    }

    #[test]
    fn scope_seeds_hold() {
        seeds("scope").iter().for_each(|s| super::scope(s));
    }

    #[test]
    fn key_set_seeds_hold() {
        seeds("key_set").iter().for_each(|s| super::key_set(s));
    }

    #[test]
    fn client_assertion_seeds_hold() {
        seeds("client_assertion")
            .iter()
            .for_each(|s| super::client_assertion(s));
    }

    #[test]
    fn verifier_token_seeds_hold() {
        seeds("verifier_token")
            .iter()
            .for_each(|s| verifier::token(s));
    }

    #[test]
    fn verifier_claims_seeds_hold() {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let der = private.to_pkcs1_der().unwrap();
        let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
        let signer = EncodingKey::from_rsa_der(der.as_bytes());
        let key = DecodingKey::from_rsa_components(&n, "AQAB").unwrap();
        for seed in seeds("verifier_claims") {
            verifier::claims(&seed, &signer, &key);
        }
    }
}
