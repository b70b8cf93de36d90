//! The `jti`s of accepted DPoP proofs, per proof key, kept until the proofs
//! are too old to be accepted anyway.

use diesel::prelude::*;

use super::Conn;
use super::schema::dpop_proofs;

/// Records a proof; false when it was already recorded (a replay), on this
/// instance or any other.
pub fn insert_dpop_proof(
    conn: &mut Conn,
    jkt: &str,
    jti: &str,
    expires_at: i64,
) -> QueryResult<bool> {
    let row = (
        dpop_proofs::jkt.eq(jkt),
        dpop_proofs::jti.eq(jti),
        dpop_proofs::expires_at.eq(expires_at),
    );
    let inserted = super::per_backend!(conn, |c| diesel::insert_into(dpop_proofs::table)
        .values(row)
        .on_conflict((dpop_proofs::jkt, dpop_proofs::jti))
        .do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// Deletes up to `limit` records that expired before `before`.
pub fn delete_expired_dpop_proofs(conn: &mut Conn, before: i64, limit: i64) -> QueryResult<usize> {
    let keys: Vec<(String, String)> = dpop_proofs::table
        .filter(dpop_proofs::expires_at.le(before))
        .select((dpop_proofs::jkt, dpop_proofs::jti))
        .limit(limit)
        .load(conn)?;
    let mut deleted = 0;
    for (jkt, jti) in keys {
        deleted += diesel::delete(dpop_proofs::table.find((jkt, jti))).execute(conn)?;
    }
    Ok(deleted)
}
