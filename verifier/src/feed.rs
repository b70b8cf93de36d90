//! Polling Tessera's revocation feed: `GET {feed}?after={cursor}` with HTTP
//! Basic client authentication (RFC 6749 §2.3.1), page after page until one
//! comes back empty.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::FeedConfig;
use crate::error::SetupError;
use crate::http;
use crate::revocation::RevocationList;

/// Pages read in one poll at most, so a long backlog cannot keep one poll
/// (and the cursor lock) busy for ever; the next poll carries on.
const MAX_PAGES_PER_POLL: usize = 100;

#[derive(Deserialize)]
struct Page {
    entries: Vec<Entry>,
    next_cursor: i64,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "type")]
    kind: String,
    value: String,
    relevant_until: i64,
}

/// One issuer's feed and where we are in it.
pub(crate) struct Feed {
    http: reqwest::Client,
    url: String,
    client_id: String,
    client_secret: String,
    poll_interval: Duration,
    /// The cursor. Its lock also keeps a background poll and an explicit one
    /// from reading the same pages and racing to store the cursor.
    cursor: Mutex<i64>,
}

impl Feed {
    /// A feed read from the start.
    pub(crate) fn new(http: reqwest::Client, url: String, config: FeedConfig) -> Self {
        Self {
            http,
            url,
            client_id: config.client_id,
            client_secret: config.client_secret,
            poll_interval: config.poll_interval,
            cursor: Mutex::new(0),
        }
    }

    /// The configured time between polls.
    pub(crate) fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// Reads every new page into `list` and drops entries that no longer
    /// matter at `now`. Entries already read stay applied on error.
    pub(crate) async fn poll(
        &self,
        list: &RwLock<RevocationList>,
        now: i64,
    ) -> Result<(), SetupError> {
        let mut cursor = self.cursor.lock().await;
        write(list).prune(now);
        for _ in 0..MAX_PAGES_PER_POLL {
            let page = self.page(*cursor).await?;
            if page.entries.is_empty() {
                return Ok(());
            }
            if page.next_cursor <= *cursor {
                return Err(SetupError::Feed(format!(
                    "next_cursor {} does not advance past {}",
                    page.next_cursor, *cursor
                )));
            }
            let mut held = write(list);
            for entry in page.entries {
                if !held.insert(&entry.kind, entry.value, entry.relevant_until) {
                    log::warn!("ignoring a revocation of unknown type {:?}", entry.kind);
                }
            }
            held.prune(now);
            *cursor = page.next_cursor;
            log::debug!(
                "revocation feed read up to {}; {} held",
                *cursor,
                held.len()
            );
        }
        Ok(())
    }

    async fn page(&self, after: i64) -> Result<Page, SetupError> {
        let request = self
            .http
            .get(&self.url)
            .query(&[("after", after)])
            .basic_auth(
                form_encode(&self.client_id),
                Some(form_encode(&self.client_secret)),
            );
        let fetched = http::fetch(request, "revocation feed").await?;
        serde_json::from_slice(&fetched.body).map_err(|e| SetupError::Feed(e.to_string()))
    }
}

/// RFC 6749 §2.3.1: both halves of client Basic credentials are
/// form-urlencoded before base64, and Tessera decodes them that way.
fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn write(list: &RwLock<RevocationList>) -> std::sync::RwLockWriteGuard<'_, RevocationList> {
    // Every update leaves the list consistent (entries are independent), so
    // a poisoned lock is still safe to use.
    list.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_form_encoded() {
        assert_eq!(form_encode("api"), "api");
        assert_eq!(form_encode("a b:c/é"), "a+b%3Ac%2F%C3%A9");
    }
}
