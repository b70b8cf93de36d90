//! What checking one DPoP proof costs the server, split into the signature
//! verification alone and the whole check (parsing, key, claims, thumbprint).
//!
//! `cargo bench --bench dpop-check`: ES256 and EdDSA proofs, alternating
//! rounds, median time per proof.

// A failed unwrap is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use tessera::domain::dpop::{self, ProofContext};

const URL: &str = "https://id.example.com/token";
const NOW: i64 = 1_800_000_000;
const ROUNDS: usize = 7;
const PER_ROUND: usize = 2_000;

/// One key's proofs, with what a bare verification needs.
struct Case {
    name: &'static str,
    proofs: Vec<String>,
    public_key: Vec<u8>,
    verify_alg: &'static dyn signature::VerificationAlgorithm,
}

fn b64_json(v: &Value) -> String {
    B64.encode(serde_json::to_vec(v).unwrap())
}

fn proofs(alg: &str, jwk: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> Vec<String> {
    let header = b64_json(&json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk}));
    (0..PER_ROUND)
        .map(|i| {
            let claims =
                json!({"jti": format!("proof-{i}"), "htm": "POST", "htu": URL, "iat": NOW});
            let input = format!("{header}.{}", b64_json(&claims));
            let sig = B64.encode(sign(input.as_bytes()));
            format!("{input}.{sig}")
        })
        .collect()
}

fn es256() -> Case {
    let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let jwk = json!({"kty": "EC", "crv": "P-256",
        "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])});
    let rng = SystemRandom::new();
    Case {
        name: "ES256",
        proofs: proofs("ES256", &jwk, |m| {
            pair.sign(&rng, m).unwrap().as_ref().to_vec()
        }),
        public_key: point,
        verify_alg: &signature::ECDSA_P256_SHA256_FIXED,
    }
}

fn eddsa() -> Case {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(&public)});
    Case {
        name: "EdDSA",
        proofs: proofs("EdDSA", &jwk, |m| pair.sign(m).as_ref().to_vec()),
        public_key: public,
        verify_alg: &signature::ED25519,
    }
}

/// Nanoseconds per proof for `f` over every proof of the case.
fn per_proof(case: &Case, f: impl Fn(&str)) -> f64 {
    let start = Instant::now();
    for p in &case.proofs {
        f(p);
    }
    start.elapsed().as_nanos() as f64 / case.proofs.len() as f64
}

fn verify_only(case: &Case, proof: &str) {
    let (input, sig) = proof.rsplit_once('.').unwrap();
    let sig = B64.decode(sig).unwrap();
    let key = signature::UnparsedPublicKey::new(case.verify_alg, &case.public_key);
    key.verify(input.as_bytes(), &sig).unwrap();
}

fn full_check(proof: &str) {
    let ctx = ProofContext {
        method: "POST",
        url: URL,
        access_token: None,
    };
    black_box(dpop::check(proof, &ctx, NOW).unwrap());
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    for case in [es256(), eddsa()] {
        let (mut verify, mut full) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            verify.push(per_proof(&case, |p| verify_only(&case, p)));
            full.push(per_proof(&case, full_check));
        }
        let (v, f) = (median(verify), median(full));
        println!(
            "{:<6} verify {:>7.1} µs   whole check {:>7.1} µs   rest {:>6.1} µs",
            case.name,
            v / 1000.0,
            f / 1000.0,
            (f - v) / 1000.0
        );
    }
}
