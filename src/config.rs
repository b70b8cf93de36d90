//! Settings: built-in defaults, then an optional TOML file, then `TESSERA_*`
//! environment variables. Validated once; every error names its source.

use std::net::SocketAddr;
use std::path::Path;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::db::{DbOptions, DbTarget};

use crate::domain::at_rest::{SealError, Sealer};
use crate::domain::flows::refresh::RefreshPolicy;
use crate::domain::keys::KeyTiming;
use crate::domain::mfa::MfaPolicy;
use crate::domain::session::SessionPolicy;
use crate::domain::tokens::TokenPolicy;
use crate::logging::LogFormat;

/// Every setting of the server. Durations are in seconds.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The exact `iss` of every token: absolute URL, no trailing slash.
    pub issuer: String,
    /// The socket address the server listens on.
    pub bind: String,
    /// A SQLite file path, or `postgres://USER:PASSWORD@HOST:PORT/DB` for a
    /// database shared by several instances.
    pub database: String,
    /// `aud` of access tokens; defaults to the issuer when empty.
    pub audience: String,
    /// Lifetime of access tokens.
    pub access_token_ttl: i64,
    /// `max-age` of the JWKS response; a new key is published this long
    /// (plus `key_check_interval`) before it signs.
    pub jwks_max_age: i64,
    /// Days a signing key signs before the next one takes over.
    pub key_rotation_days: i64,
    /// How often a running server re-reads keys and checks rotation.
    pub key_check_interval: i64,
    /// Seconds the token endpoint trusts a client registration it read for
    /// `client_credentials` (0: read it for every request). Console changes
    /// apply at once; CLI changes reach a running server within this time.
    pub client_cache_ttl: i64,
    /// Largest database connection pool.
    pub database_pool_size: u32,
    /// Seconds a new PostgreSQL connection may take; also how long a request
    /// waits for a pooled connection before it is answered 503.
    pub database_connect_timeout: i64,
    /// Longest a single PostgreSQL statement may run, in seconds (0: no limit).
    pub database_statement_timeout: i64,
    /// A browser session ends after this long without activity.
    pub session_idle_ttl: i64,
    /// A browser session ends this long after sign-in.
    pub session_ttl: i64,
    /// Absolute lifetime of a refresh-token family, from sign-in.
    pub refresh_token_ttl: i64,
    /// A refresh token unused for this long expires.
    pub refresh_token_idle_ttl: i64,
    /// Seconds in which a spent refresh token presented again gets the same
    /// successor back (0: strict, any second use is a reuse).
    pub refresh_reuse_grace: i64,
    /// How often expired codes, tokens, sessions and feed entries are purged.
    pub housekeeping_interval: i64,
    /// On SIGTERM or SIGINT: seconds `/readyz` answers 503 while requests are
    /// still served, so a load balancer stops sending new ones first.
    pub shutdown_drain: i64,
    /// Then the longest wait for requests in flight to finish.
    pub shutdown_timeout: i64,
    /// `text` or `json` (one object per line).
    pub log_format: String,
    /// Bearer token that `GET /metrics` requires; empty: no `/metrics`.
    pub metrics_token: String,
    /// A file holding the 32-byte key (raw, or 64 hex digits) that encrypts
    /// signing keys and server secrets in the database; empty: unencrypted.
    pub secret_key_file: String,
    /// Who must sign in with a second factor: `none` (only users an admin
    /// marked, and anyone who enrolled one), `admins` or `all`.
    pub require_mfa: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            issuer: "http://127.0.0.1:8080".into(),
            bind: "127.0.0.1:8080".into(),
            database: "./tessera.db".into(),
            audience: String::new(),
            access_token_ttl: 300,
            jwks_max_age: 600,
            key_rotation_days: 30,
            key_check_interval: 10,
            client_cache_ttl: 1,
            database_pool_size: 8,
            database_connect_timeout: 5,
            database_statement_timeout: 10,
            session_idle_ttl: 86_400,
            session_ttl: 14 * 86_400,
            refresh_token_ttl: 30 * 86_400,
            refresh_token_idle_ttl: 14 * 86_400,
            refresh_reuse_grace: 0,
            housekeeping_interval: 300,
            shutdown_drain: 2,
            shutdown_timeout: 10,
            log_format: "text".into(),
            metrics_token: String::new(),
            secret_key_file: String::new(),
            require_mfa: "none".into(),
        }
    }
}

impl std::fmt::Debug for Settings {
    // Every setting but the database password, which never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.clone();
        shown.database = self.database_redacted();
        if !shown.metrics_token.is_empty() {
            shown.metrics_token = "***".into();
        }
        match toml::Table::try_from(shown) {
            Ok(table) => write!(f, "Settings {table:?}"),
            Err(_) => f.write_str("Settings { .. }"),
        }
    }
}

/// A setting that could not be read or is out of range.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct ConfigError {
    /// The variable or file the value came from.
    pub source_name: String,
    pub message: String,
}

fn err(source_name: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        source_name: source_name.into(),
        message: message.into(),
    }
}

/// The environment variable that overrides `key`.
pub fn env_name(key: &str) -> String {
    format!("TESSERA_{}", key.to_ascii_uppercase())
}

impl Settings {
    /// Loads settings from an optional TOML file and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, |k| std::env::var(k).ok())
    }

    /// Loads settings with `env` standing in for the environment (for tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut table = toml::Table::try_from(Settings::default())
            .map_err(|e| err("defaults", e.to_string()))?;
        if let Some(path) = file {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| err(&name, e.to_string()))?;
            let file_table: toml::Table = text
                .parse()
                .map_err(|e: toml::de::Error| err(&name, e.message().to_owned()))?;
            for (k, v) in file_table {
                if !table.contains_key(&k) {
                    return Err(err(&name, format!("unknown setting {k:?}")));
                }
                table.insert(k, v);
            }
        }
        let keys: Vec<String> = table.keys().cloned().collect();
        for key in keys {
            let var = env_name(&key);
            let Some(raw) = env(&var) else { continue };
            let value = match &table[&key] {
                toml::Value::Integer(_) => raw
                    .trim()
                    .parse::<i64>()
                    .map(toml::Value::Integer)
                    .map_err(|_| err(&var, format!("expected a whole number, got {raw:?}")))?,
                _ => toml::Value::String(raw),
            };
            table.insert(key, value);
        }
        let settings: Settings = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| err("settings", e.message().to_owned()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// How secrets are stored: sealed under the key in `secret_key_file`, if set.
    pub fn sealer(&self) -> Result<Sealer, SealError> {
        if self.secret_key_file.is_empty() {
            return Ok(Sealer::plaintext());
        }
        Sealer::from_key_file(Path::new(&self.secret_key_file))
    }

    /// Checks every value, naming the variable of the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|_| err(env_name("issuer"), "must be an absolute http(s) URL"))?;
        if !matches!(issuer.scheme(), "http" | "https") || issuer.host().is_none() {
            return Err(err(env_name("issuer"), "must be an absolute http(s) URL"));
        }
        if self.issuer.ends_with('/') {
            return Err(err(env_name("issuer"), "must not end with a slash"));
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(err(env_name("issuer"), "must not have a query or fragment"));
        }
        self.bind_addr()?;
        LogFormat::parse(&self.log_format)
            .ok_or_else(|| err(env_name("log_format"), "must be text or json"))?;
        self.require_mfa
            .parse::<MfaPolicy>()
            .map_err(|m| err(env_name("require_mfa"), m))?;
        if !self.metrics_token.is_empty() && self.metrics_token.len() < 32 {
            return Err(err(
                env_name("metrics_token"),
                "must be empty (no /metrics) or at least 32 characters",
            ));
        }
        DbTarget::parse(&self.database).map_err(|m| err(env_name("database"), m))?;
        let ranges: [(&str, i64, i64, i64); 15] = [
            (
                "database_connect_timeout",
                self.database_connect_timeout,
                1,
                60,
            ),
            (
                "database_statement_timeout",
                self.database_statement_timeout,
                0,
                3600,
            ),
            (
                "refresh_token_idle_ttl",
                self.refresh_token_idle_ttl,
                60,
                3660 * 86_400,
            ),
            ("refresh_reuse_grace", self.refresh_reuse_grace, 0, 300),
            (
                "housekeeping_interval",
                self.housekeeping_interval,
                1,
                86_400,
            ),
            ("session_idle_ttl", self.session_idle_ttl, 60, 366 * 86_400),
            ("session_ttl", self.session_ttl, 60, 366 * 86_400),
            (
                "refresh_token_ttl",
                self.refresh_token_ttl,
                60,
                3660 * 86_400,
            ),
            ("access_token_ttl", self.access_token_ttl, 10, 86_400),
            ("jwks_max_age", self.jwks_max_age, 0, 86_400),
            ("key_rotation_days", self.key_rotation_days, 1, 3650),
            ("key_check_interval", self.key_check_interval, 1, 3600),
            ("client_cache_ttl", self.client_cache_ttl, 0, 60),
            ("shutdown_drain", self.shutdown_drain, 0, 300),
            ("shutdown_timeout", self.shutdown_timeout, 1, 600),
        ];
        for (key, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(err(
                    env_name(key),
                    format!("must be between {min} and {max}"),
                ));
            }
        }
        if !(1..=64).contains(&self.database_pool_size) {
            return Err(err(
                env_name("database_pool_size"),
                "must be between 1 and 64",
            ));
        }
        Ok(())
    }

    /// How log lines are written.
    /// Who must sign in with a second factor.
    pub fn mfa_policy(&self) -> MfaPolicy {
        self.require_mfa.parse().unwrap_or_default()
    }

    pub fn log_format(&self) -> LogFormat {
        LogFormat::parse(&self.log_format).unwrap_or(LogFormat::Text)
    }

    /// The listen address.
    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind.parse().map_err(|_| {
            err(
                env_name("bind"),
                format!("invalid socket address {:?}", self.bind),
            )
        })
    }

    /// Whether the issuer is served over TLS (decides the `Secure` cookie flag).
    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// How to open the database.
    pub fn db_options(&self) -> Result<DbOptions, ConfigError> {
        Ok(DbOptions {
            target: DbTarget::parse(&self.database).map_err(|m| err(env_name("database"), m))?,
            max_connections: self.database_pool_size,
            connect_timeout: Duration::from_secs(self.database_connect_timeout.max(1) as u64),
            statement_timeout: Duration::from_secs(self.database_statement_timeout.max(0) as u64),
        })
    }

    /// The database for messages: a URL's password is masked.
    pub fn database_redacted(&self) -> String {
        DbTarget::parse(&self.database)
            .map(|t| t.redacted())
            .unwrap_or_else(|_| "(invalid database setting)".into())
    }

    /// The rotation timing derived from these settings.
    pub fn key_timing(&self) -> KeyTiming {
        KeyTiming {
            max_token_ttl: self.access_token_ttl,
            publish_wait: self.jwks_max_age + self.key_check_interval,
            rotation_period: self.key_rotation_days * 86_400,
        }
    }

    /// What every access token carries from the settings.
    pub fn token_policy(&self) -> TokenPolicy {
        TokenPolicy {
            issuer: self.issuer.clone(),
            audience: if self.audience.is_empty() {
                self.issuer.clone()
            } else {
                self.audience.clone()
            },
            ttl: self.access_token_ttl,
        }
    }

    /// Refresh-token lifetimes and reuse grace.
    pub fn refresh_policy(&self) -> RefreshPolicy {
        RefreshPolicy {
            absolute_ttl: self.refresh_token_ttl,
            idle_ttl: self.refresh_token_idle_ttl,
            reuse_grace: self.refresh_reuse_grace,
            access_ttl: self.access_token_ttl,
        }
    }

    /// How long browser sessions live.
    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle_ttl: self.session_idle_ttl,
            absolute_ttl: self.session_ttl,
            access_ttl: self.access_token_ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_from(None, |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_valid() {
        let s = load(&[]).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.token_policy().audience, "http://127.0.0.1:8080");
    }

    #[test]
    fn environment_overrides_defaults() {
        let s = load(&[
            ("TESSERA_ISSUER", "https://id.example.com"),
            ("TESSERA_ACCESS_TOKEN_TTL", "120"),
        ])
        .unwrap();
        assert_eq!(s.issuer, "https://id.example.com");
        assert_eq!(s.access_token_ttl, 120);
        assert!(s.is_https());
    }

    #[test]
    fn bad_values_name_their_variable() {
        let e = load(&[("TESSERA_BIND", "nonsense")]).unwrap_err();
        assert_eq!(e.source_name, "TESSERA_BIND");
        assert!(e.to_string().contains("invalid socket address"));
        let e = load(&[("TESSERA_ISSUER", "https://id.example.com/")]).unwrap_err();
        assert_eq!(e.source_name, "TESSERA_ISSUER");
        let e = load(&[("TESSERA_ACCESS_TOKEN_TTL", "soon")]).unwrap_err();
        assert_eq!(e.source_name, "TESSERA_ACCESS_TOKEN_TTL");
        let e = load(&[("TESSERA_ACCESS_TOKEN_TTL", "0")]).unwrap_err();
        assert!(e.to_string().contains("between"));
        let e = load(&[("TESSERA_DATABASE", "postgres://u:hunter2@/db")]).unwrap_err();
        assert_eq!(e.source_name, "TESSERA_DATABASE");
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn a_postgres_url_is_accepted_and_its_password_never_shown() {
        let s = load(&[(
            "TESSERA_DATABASE",
            "postgres://tessera:hunter2@db:5432/tessera",
        )])
        .unwrap();
        assert!(matches!(
            s.db_options().unwrap().target,
            DbTarget::Postgres(_)
        ));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!s.database_redacted().contains("hunter2"));
    }

    #[test]
    fn a_toml_file_sits_between_defaults_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.toml");
        std::fs::write(
            &path,
            "issuer = \"https://file.example\"\naccess_token_ttl = 60\n",
        )
        .unwrap();
        let s = Settings::load_from(Some(&path), |k| {
            (k == "TESSERA_ACCESS_TOKEN_TTL").then(|| "90".to_string())
        })
        .unwrap();
        assert_eq!(s.issuer, "https://file.example");
        assert_eq!(s.access_token_ttl, 90);
        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        let e = Settings::load_from(Some(&path), |_| None).unwrap_err();
        assert!(e.to_string().contains("unknown setting"));
    }
}
