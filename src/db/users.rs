//! Storage of user accounts.

use diesel::prelude::*;

use super::Conn;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
use super::schema::users;

/// A stored user account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i32,
    pub subject: String,
    pub username: String,
    pub password_hash: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: i64,
    /// Space-separated role names.
    pub roles: String,
    /// An admin requires a second factor of this user whatever the policy.
    pub require_mfa: bool,
}

/// A user about to be stored.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub subject: &'a str,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub is_admin: bool,
    pub created_at: i64,
    pub roles: &'a str,
}

/// Stores a new user; fails with a unique violation when the username is taken.
pub fn insert_user(conn: &mut Conn, user: &NewUser) -> QueryResult<UserRow> {
    // The portable dialect cannot return a `Selectable` row: read it back.
    let id: i32 = diesel::insert_into(users::table)
        .values(user)
        .returning(users::id)
        .get_result(conn)?;
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
}

/// Finds a user by exact username.
pub fn find_user_by_username(conn: &mut Conn, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Lists every user, ordered by username.
pub fn list_users(conn: &mut Conn) -> QueryResult<Vec<UserRow>> {
    users::table
        .order(users::username.asc())
        .select(UserRow::as_select())
        .load(conn)
}

/// True when at least one enabled admin exists.
pub fn any_active_admin(conn: &mut Conn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::is_admin.eq(true).and(users::disabled.eq(false))),
    ))
    .get_result(conn)
}

/// Marks a user disabled; returns how many rows changed (0 when unknown).
pub fn update_user_disabled(conn: &mut Conn, username: &str, disabled: bool) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::username.eq(username)))
        .set(users::disabled.eq(disabled))
        .execute(conn)
}

/// Finds a user by internal id.
pub fn find_user_by_id(conn: &mut Conn, id: i32) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Finds a user by subject (`sub`).
pub fn find_user_by_subject(conn: &mut Conn, subject: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::subject.eq(subject))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// A page of users whose username contains `search`, ordered by username.
pub fn list_users_page(
    conn: &mut Conn,
    search: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let mut q = users::table.into_boxed();
    if let Some(s) = search {
        let escaped = s
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        // SQLite's LIKE ignores ASCII case and PostgreSQL's does not: fold both.
        q = q.filter(
            lower(users::username)
                .like(format!("%{}%", escaped.to_lowercase()))
                .escape('\\'),
        );
    }
    q.order(users::username.asc())
        .offset(offset)
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)
}

/// Replaces a user's password hash.
pub fn update_user_password(
    conn: &mut Conn,
    username: &str,
    password_hash: &str,
) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::username.eq(username)))
        .set(users::password_hash.eq(password_hash))
        .execute(conn)
}

/// Sets whether a second factor is required of a user.
pub fn update_user_require_mfa(
    conn: &mut Conn,
    username: &str,
    required: bool,
) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::username.eq(username)))
        .set(users::require_mfa.eq(required))
        .execute(conn)
}

/// Replaces a user's roles (space-separated).
pub fn update_user_roles(conn: &mut Conn, username: &str, roles: &str) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::username.eq(username)))
        .set(users::roles.eq(roles))
        .execute(conn)
}
