//! The audit log: security events and admin actions, appended and never
//! changed. Entries name people and objects, never passwords or tokens.

use crate::db::audit::{self, AuditRow, NewAudit};
use crate::db::{Conn, QueryError};

/// Who did something: an admin's username, `cli`, or `system`.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    pub name: &'a str,
    pub ip: &'a str,
}

impl Actor<'static> {
    /// The server itself (reuse detection, housekeeping).
    pub const SYSTEM: Actor<'static> = Actor {
        name: "system",
        ip: "",
    };
    /// The command line.
    pub const CLI: Actor<'static> = Actor {
        name: "cli",
        ip: "",
    };
}

/// Appends an event. A failure to audit is logged, never hidden.
pub fn record(
    conn: &mut Conn,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: &str,
    now: i64,
) -> Result<(), QueryError> {
    audit::insert_audit(
        conn,
        &NewAudit {
            at: now,
            actor: actor.name,
            action,
            target,
            detail,
            ip: actor.ip,
        },
    )
    .inspect(|()| crate::metrics::event(action))
    .inspect_err(|e| log::error!("audit log write failed for {action}: {e}"))
}

/// Events, newest first.
pub fn list(
    conn: &mut Conn,
    action: Option<&str>,
    actor: Option<&str>,
    page: i64,
    per_page: i64,
) -> Result<Vec<AuditRow>, QueryError> {
    audit::list_audit(conn, action, actor, page.max(0) * per_page, per_page)
}
