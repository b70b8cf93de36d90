//! DPoP (RFC 9449): access tokens bound to a key the client holds, proven
//! with a fresh signed proof on every request. A token copied elsewhere is
//! useless without the private key.

pub mod nonce;
pub mod proof;
pub mod recorder;

pub use proof::{ALGORITHMS, InvalidProof, Proof, ProofContext, check, token_hash};

/// Why a proof was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    #[error(transparent)]
    Invalid(#[from] InvalidProof),
    #[error("invalid DPoP proof: already used")]
    Replayed,
}

/// The `algs` a resource server names in its challenge (§7.1).
pub fn algorithm_names() -> String {
    ALGORITHMS
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}
