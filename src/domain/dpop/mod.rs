//! DPoP (RFC 9449): access tokens bound to a key the client holds, proven
//! with a fresh signed proof on every request. A token copied elsewhere is
//! useless without the private key.

pub mod nonce;
pub mod proof;

pub use proof::{ALGORITHMS, InvalidProof, Proof, ProofContext, check, token_hash};

use crate::db::{Conn, DbError, dpop_proofs};

/// Why a proof was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    #[error(transparent)]
    Invalid(#[from] InvalidProof),
    #[error("invalid DPoP proof: already used")]
    Replayed,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::db::QueryError> for DpopError {
    fn from(e: crate::db::QueryError) -> Self {
        DpopError::Db(DbError::from(e))
    }
}

/// The `algs` a resource server names in its challenge (§7.1).
pub fn algorithm_names() -> String {
    ALGORITHMS
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Records a checked proof's `jti` for its key: each proof is accepted
/// once, by whichever instance sees it first.
pub fn record(conn: &mut Conn, p: &Proof) -> Result<(), DpopError> {
    if !dpop_proofs::insert_dpop_proof(conn, &p.jkt, &p.jti, p.replay_window_end())? {
        return Err(DpopError::Replayed);
    }
    Ok(())
}
