//! Log lines: the text or JSON format, and the request id each line carries
//! while a request is handled. The id follows the request across `.await`s
//! (a task-local) and into the blocking pool ([`with_request_id`], used by
//! `db::run`), so every line a request causes names it.

use std::cell::RefCell;
use std::io::Write;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// The longest request id taken from a client.
const MAX_ID_LEN: usize = 64;

tokio::task_local! {
    static TASK_ID: Arc<str>;
}

thread_local! {
    static THREAD_ID: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `[timestamp LEVEL target] message request_id=...`
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Parses the `log_format` setting.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Starts logging to stderr in `format`, with `RUST_LOG` as the filter
/// (default `info`).
pub fn init(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    builder.format(move |buf, record| {
        let id = current_request_id();
        let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        match format {
            LogFormat::Json => {
                let line = serde_json::json!({
                    "timestamp": ts,
                    "level": record.level().as_str(),
                    "target": record.target(),
                    "message": record.args().to_string(),
                    "request_id": id.as_deref(),
                });
                writeln!(buf, "{line}")
            }
            LogFormat::Text => {
                write!(
                    buf,
                    "[{ts} {:<5} {}] {}",
                    record.level(),
                    record.target(),
                    record.args()
                )?;
                match id {
                    Some(id) => writeln!(buf, " request_id={id}"),
                    None => writeln!(buf),
                }
            }
        }
    });
    let _ = builder.try_init();
}

/// The client's `X-Request-Id` if it is well-formed (1 to 64 characters
/// from `A-Za-z0-9._-`), else a fresh random one. A malformed id is dropped
/// rather than cleaned, so nothing a client sends can forge a log line.
pub fn request_id(from_client: Option<&str>) -> Arc<str> {
    match from_client {
        Some(id) if is_well_formed(id) => Arc::from(id),
        _ => {
            let mut bytes = [0u8; 12];
            rand::thread_rng().fill_bytes(&mut bytes);
            Arc::from(URL_SAFE_NO_PAD.encode(bytes))
        }
    }
}

fn is_well_formed(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Runs `fut` with `id` as the request id of every line it logs.
pub async fn in_request<F: std::future::Future>(id: Arc<str>, fut: F) -> F::Output {
    TASK_ID.scope(id, fut).await
}

/// The request id of the code running now, if it handles a request.
pub fn current_request_id() -> Option<Arc<str>> {
    TASK_ID
        .try_with(Arc::clone)
        .ok()
        .or_else(|| THREAD_ID.with(|t| t.borrow().clone()))
}

/// Runs blocking `f` (on a pool thread) with `id` as its request id.
pub fn with_request_id<T>(id: Option<Arc<str>>, f: impl FnOnce() -> T) -> T {
    let previous = THREAD_ID.with(|t| t.replace(id));
    let out = f();
    THREAD_ID.with(|t| *t.borrow_mut() = previous);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_client_id_is_kept_and_anything_else_replaced() {
        assert_eq!(&*request_id(Some("abc-123_x.y")), "abc-123_x.y");
        for bad in ["", "a b", "a\nb", "é", &"x".repeat(65)] {
            let id = request_id(Some(bad));
            assert_ne!(&*id, bad);
            assert!(is_well_formed(&id), "{id}");
        }
        assert_ne!(request_id(None), request_id(None));
    }

    #[test]
    fn blocking_code_sees_the_id_it_was_given_and_then_none() {
        let id: Arc<str> = Arc::from("req-1");
        let seen = with_request_id(Some(id.clone()), current_request_id);
        assert_eq!(seen, Some(id));
        assert_eq!(current_request_id(), None);
    }
}
