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

/// `(jkt, jti) <op> (key)`: a row-value comparison, which both databases
/// answer with a range of the primary key (the expanded `OR` form makes
/// SQLite read all of a key's rows on every page).
macro_rules! key_compared {
    ($op:literal, $key:expr) => {
        diesel::dsl::sql::<diesel::sql_types::Bool>(concat!("(jkt, jti) ", $op, " ("))
            .bind::<diesel::sql_types::Text, _>($key.0.clone())
            .sql(", ")
            .bind::<diesel::sql_types::Text, _>($key.1.clone())
            .sql(")")
    };
}

/// Deletes the records that expired before `before`, `page` at a time, each
/// page one short statement; returns how many went. PostgreSQL finds them
/// by its expiry index; SQLite keeps none and walks the primary key.
pub fn delete_expired_dpop_proofs(conn: &mut Conn, before: i64, page: i64) -> QueryResult<usize> {
    use dpop_proofs::{expires_at, jkt, jti};
    if let Conn::Postgres(c) = conn {
        let mut deleted = 0;
        loop {
            let n = diesel::sql_query(
                "DELETE FROM dpop_proofs WHERE (jkt, jti) IN \
                 (SELECT jkt, jti FROM dpop_proofs WHERE expires_at <= $1 LIMIT $2)",
            )
            .bind::<diesel::sql_types::BigInt, _>(before)
            .bind::<diesel::sql_types::BigInt, _>(page)
            .execute(c)?;
            deleted += n;
            if (n as i64) < page {
                return Ok(deleted);
            }
        }
    }
    // Thumbprints are never empty: ("", "") is before every key.
    let mut from = (String::new(), String::new());
    let mut deleted = 0;
    loop {
        let keys: Vec<(String, String)> = dpop_proofs::table
            .select((jkt, jti))
            .filter(key_compared!(">", from))
            .order((jkt, jti))
            .limit(page)
            .load(conn)?;
        let Some(to) = keys.last().cloned() else {
            return Ok(deleted);
        };
        deleted += diesel::delete(
            dpop_proofs::table
                .filter(key_compared!(">", from))
                .filter(key_compared!("<=", to))
                .filter(expires_at.le(before)),
        )
        .execute(conn)?;
        if (keys.len() as i64) < page {
            return Ok(deleted);
        }
        from = to;
    }
}
