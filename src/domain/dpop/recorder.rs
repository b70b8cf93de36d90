//! Recording accepted proofs in batches. Under load many token requests
//! arrive together, and one transaction for all their proofs costs about
//! what one costs for each: a dedicated thread takes whatever is waiting,
//! records it in one transaction and tells each request whether its proof
//! was new. Replays are refused by the database (the primary key), on every
//! instance, exactly as before; the batching only shares the commit and
//! spares each request a trip through the blocking pool.
//!
//! Proofs rarely arrive at the same instant: one every few hundred
//! microseconds makes batches of one, each paying a whole commit. So while
//! proofs keep coming close together the thread waits up to [`GATHER`]
//! after the first one for others; a lone proof is recorded at once.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::db::{Conn, DbError, DbPool, QueryError, dpop_proofs};
use crate::domain::error::OAuthError;

use super::Proof;

/// Most proofs recorded in one transaction.
const MAX_BATCH: usize = 256;
/// Longest a busy recorder waits for more proofs to join the first one's
/// transaction. A `client_credentials` request signs its token meanwhile
/// (about as long), so under load this costs it little latency.
pub const GATHER: Duration = Duration::from_micros(500);

/// Why proofs could not be recorded (the whole batch shares it).
#[derive(Debug, Clone, thiserror::Error)]
#[error("recording DPoP proofs failed: {message}")]
pub struct RecordFailed {
    /// The database was busy or unreachable: worth a retry.
    busy: bool,
    message: String,
}

impl From<DbError> for RecordFailed {
    fn from(e: DbError) -> Self {
        RecordFailed {
            busy: e.is_busy(),
            message: e.to_string(),
        }
    }
}

impl From<RecordFailed> for OAuthError {
    fn from(e: RecordFailed) -> Self {
        if e.busy {
            OAuthError::TemporarilyUnavailable
        } else {
            OAuthError::internal(e)
        }
    }
}

/// One proof waiting to be recorded, and where its answer goes.
struct Job {
    jkt: String,
    jti: String,
    expires_at: i64,
    submitted: Instant,
    reply: oneshot::Sender<Result<bool, RecordFailed>>,
}

/// Hands proofs to the recording thread; cheap to clone. The thread ends
/// when the last handle is dropped.
#[derive(Clone)]
pub struct ProofRecorder {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for ProofRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProofRecorder")
    }
}

impl ProofRecorder {
    /// Starts the recording thread on `pool`.
    pub fn start(pool: DbPool) -> std::io::Result<Self> {
        let (jobs, waiting) = mpsc::channel();
        std::thread::Builder::new()
            .name("dpop-proofs".into())
            .spawn(move || record_batches(&pool, &waiting))?;
        Ok(ProofRecorder { jobs })
    }

    /// Hands `proof` over for recording; its [`Recording`] says how that
    /// went. The caller may do other work meanwhile, but must not let the
    /// proof have any effect before the answer.
    pub fn submit(&self, proof: &Proof) -> Result<Recording, RecordFailed> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            jkt: proof.jkt.clone(),
            jti: proof.jti.clone(),
            expires_at: proof.replay_window_end(),
            submitted: Instant::now(),
            reply,
        };
        self.jobs.send(job).map_err(|_| stopped())?;
        Ok(Recording(answer))
    }
}

/// A proof on its way into the database.
#[derive(Debug)]
pub struct Recording(oneshot::Receiver<Result<bool, RecordFailed>>);

impl Recording {
    /// True when the proof was new, false for a replay.
    pub async fn outcome(self) -> Result<bool, RecordFailed> {
        self.0.await.map_err(|_| stopped())?
    }
}

fn stopped() -> RecordFailed {
    RecordFailed {
        busy: true,
        message: "the recording thread stopped".into(),
    }
}

/// The recording thread: waits for a proof, gathers the others that come
/// with it, records them all in one transaction and answers each.
fn record_batches(pool: &DbPool, waiting: &mpsc::Receiver<Job>) {
    let mut last_submitted: Option<Instant> = None;
    while let Ok(first) = waiting.recv() {
        // Proofs coming close together: others will likely follow soon.
        let busy = last_submitted.is_some_and(|t| first.submitted.duration_since(t) < GATHER);
        let batch = gather(waiting, first, busy);
        last_submitted = batch.last().map(|j| j.submitted);
        let outcome = pool
            .get()
            .map_err(DbError::from)
            .and_then(|mut conn| insert_all(&mut conn, &batch).map_err(DbError::from))
            .map_err(RecordFailed::from);
        match outcome {
            Ok(fresh) => {
                for (job, new) in batch.into_iter().zip(fresh) {
                    let _ = job.reply.send(Ok(new));
                }
            }
            Err(failed) => {
                log::error!("{failed}");
                for job in batch {
                    let _ = job.reply.send(Err(failed.clone()));
                }
            }
        }
    }
}

/// `first` and every proof waiting; when `busy`, those that arrive until
/// [`GATHER`] after `first` was submitted too. The thread sleeps meanwhile
/// rather than waiting on the channel, so senders do not wake it one by one.
fn gather(waiting: &mpsc::Receiver<Job>, first: Job, busy: bool) -> Vec<Job> {
    if busy && let Some(left) = (first.submitted + GATHER).checked_duration_since(Instant::now()) {
        std::thread::sleep(left);
    }
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH
        && let Ok(job) = waiting.try_recv()
    {
        batch.push(job);
    }
    batch
}

/// Inserts the batch in one transaction; for each proof, whether it was
/// new. Each insert is conditional (`ON CONFLICT DO NOTHING` on the primary
/// key), which on PostgreSQL waits for a concurrent insert of the same key
/// and then sees it: no serialisable isolation needed.
fn insert_all(conn: &mut Conn, batch: &[Job]) -> Result<Vec<bool>, QueryError> {
    crate::db::with_row_locks(conn, |conn| {
        batch
            .iter()
            .map(|j| dpop_proofs::insert_dpop_proof(conn, &j.jkt, &j.jti, j.expires_at))
            .collect()
    })
}
