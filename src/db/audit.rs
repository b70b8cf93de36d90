//! Storage of the append-only audit log.

use diesel::prelude::*;

use super::Conn;
use super::schema::audit_log;

/// One audit event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i32,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

/// An event about to be appended.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAudit<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
    pub ip: &'a str,
}

/// Appends an event.
pub fn insert_audit(conn: &mut Conn, e: &NewAudit) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(e)
        .execute(conn)
        .map(|_| ())
}

/// A page of events, newest first, optionally filtered.
pub fn list_audit(
    conn: &mut Conn,
    action: Option<&str>,
    actor: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let mut q = audit_log::table.into_boxed();
    if let Some(a) = action {
        q = q.filter(audit_log::action.eq(a.to_owned()));
    }
    if let Some(a) = actor {
        q = q.filter(audit_log::actor.eq(a.to_owned()));
    }
    q.order(audit_log::id.desc())
        .offset(offset)
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)
}
