//! Builds and runs the server: the only place that wires actix-web.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::config::{Settings, env_name};
use crate::db::{self, DbPool};
use crate::domain::at_rest::{self, Protection};
use crate::domain::backchannel_logout;
use crate::domain::bootstrap::{self, InitialAdmin};
use crate::domain::client::jwks_uri::RemoteKeySets;
use crate::domain::client_cache::ClientCache;
use crate::domain::clock::Clock;
use crate::domain::dpop::recorder::ProofRecorder;
use crate::domain::flows::refresh::RotationKey;
use crate::domain::housekeeping;
use crate::domain::keys::{self, KeyStore, provider};
use crate::domain::passkeys::RelyingParty;
use crate::routes;
use crate::routes::path_guard::refuse_nul_in_path;
use crate::routes::request_log::request_log;
use crate::state::{AppState, Stopping};

/// A built server, bound to its port but not yet running.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    initial_admin: Option<InitialAdmin>,
}

impl Application {
    /// Binds the configured address and builds the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let addr = settings.bind_addr()?;
        let listener = TcpListener::bind(addr).with_context(|| format!("Failed to bind {addr}"))?;
        Self::build_with_listener(settings, listener, Clock::system()).await
    }

    /// Builds the server on an already bound listener with the given clock:
    /// migrates the database, creates a first signing key and admin if none
    /// exist, and loads the keys.
    pub async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        provider::install();
        let timing = settings.key_timing();
        let options = settings.db_options()?;
        let now = clock.now();
        let sealer = settings.sealer()?;
        let state_sealer = sealer.clone();
        let (pool, initial_admin, keys, rotation) = tokio::task::spawn_blocking(move || {
            let pool = db::open(&options).with_context(|| env_name("database"))?;
            let mut conn = pool.get().context("Failed to check out a connection")?;
            report_protection(at_rest::prepare(&mut conn, &sealer, now)?);
            let admin = bootstrap::ensure_ready(&mut conn, &timing, &sealer, now)
                .context("Failed to prepare the first start")?;
            let rotation = RotationKey::load_or_create(&mut conn, &sealer, now)
                .context("Failed to load the refresh rotation key")?;
            let keys =
                KeyStore::load(&mut conn, timing, sealer).context("Failed to load signing keys")?;
            anyhow::Ok((pool, admin, keys, rotation))
        })
        .await
        .context("Failed to run start-up tasks")??;

        let remote_keys = RemoteKeySets::new().context("Failed to build the client key fetcher")?;
        let passkeys = RelyingParty::for_issuer(&settings.issuer).map(Arc::new);
        let proofs = ProofRecorder::start(pool.clone())
            .context("Failed to start the DPoP proof recorder")?;
        let state = AppState {
            clients: Arc::new(ClientCache::new(settings.client_cache_ttl)),
            remote_keys: Arc::new(remote_keys),
            pool,
            settings: Arc::new(settings),
            keys: Arc::new(keys),
            clock,
            rotation,
            sealer: state_sealer,
            passkeys,
            proofs,
            stopping: Stopping::default(),
        };
        let port = listener.local_addr()?.port();
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(refuse_nul_in_path))
                .wrap(from_fn(request_log))
                .app_data(data.clone())
                .configure(routes::configure)
        })
        // Signals are ours: a shutdown first drains through /readyz.
        .disable_signals()
        .shutdown_timeout(state.settings.shutdown_timeout.max(1) as u64)
        .listen(listener)
        .context("Failed to listen")?
        .run();
        Ok(Application {
            port,
            server,
            state,
            initial_admin,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin created at this start, if the database had none.
    pub fn initial_admin(&self) -> Option<&InitialAdmin> {
        self.initial_admin.as_ref()
    }

    /// Serves requests, and keeps the key set current, until the server is
    /// stopped (tests run servers this way; they never get a signal).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully (see
    /// [`Application::run_until`]); a second signal stops at once.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        // Watched from now on, so the second signal is not the first again.
        let mut signals = ShutdownSignals::watch();
        let first = async move {
            signals.next().await;
            tokio::spawn(async move {
                signals.next().await;
                log::warn!("second signal: stopping at once");
                handle.stop(false).await;
            });
        };
        self.run_until(first).await
    }

    /// Serves until `shutdown` resolves. Then `/readyz` answers 503 for
    /// `shutdown_drain` seconds while requests are still served, so a load
    /// balancer moves new requests elsewhere; the listener closes; requests
    /// in flight get up to `shutdown_timeout` seconds; background tasks
    /// finish their current run; the pool closes as the state is dropped.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tasks, stopped) = watch::channel(false);
        let tasks = [
            tokio::spawn(key_maintenance(self.state.clone(), stopped.clone())),
            tokio::spawn(housekeeping(self.state.clone(), stopped.clone())),
            tokio::spawn(logout_delivery(self.state.clone(), stopped)),
        ];
        let (state, server) = (self.state.clone(), self.server.handle());
        let draining = tokio::spawn(async move {
            shutdown.await;
            state.stopping.start();
            let drain = state.settings.shutdown_drain.max(0) as u64;
            log::info!(
                "shutting down: /readyz answers 503; serving {drain}s more, then finishing requests in flight"
            );
            tokio::time::sleep(Duration::from_secs(drain)).await;
            server.stop(true).await;
        });
        let result = self.server.await.context("Server failed");
        draining.abort();
        let _ = stop_tasks.send(true);
        let wait = Duration::from_secs(self.state.settings.shutdown_timeout.max(1) as u64);
        for task in tasks {
            if tokio::time::timeout(wait, task).await.is_err() {
                log::warn!("a background task did not finish within shutdown_timeout");
            }
        }
        log::info!("stopped");
        result
    }
}

/// SIGTERM and SIGINT, watched from creation on.
struct ShutdownSignals(Option<(Signal, Signal)>);

impl ShutdownSignals {
    fn watch() -> Self {
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(int)) => ShutdownSignals(Some((term, int))),
            (Err(e), _) | (_, Err(e)) => {
                log::error!("cannot watch for shutdown signals: {e}");
                ShutdownSignals(None)
            }
        }
    }

    /// The next SIGTERM or SIGINT; never, if they cannot be watched (the
    /// process then ends the way it would without a handler).
    async fn next(&mut self) {
        match &mut self.0 {
            Some((term, int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            None => std::future::pending().await,
        }
    }
}

/// Periodically rotates keys when due and reloads them, so a rotation made
/// by the CLI reaches the running server without a restart.
async fn key_maintenance(state: AppState, mut stopped: watch::Receiver<bool>) {
    let period = Duration::from_secs(state.settings.key_check_interval.max(1) as u64);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let s = state.clone();
        let outcome =
            tokio::task::spawn_blocking(move || refresh_keys(&s.pool, &s.keys, &s.clock)).await;
        crate::metrics::job("key_check", matches!(outcome, Ok(Ok(()))));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log::error!("key maintenance failed: {e:#}"),
            Err(e) => log::error!("key maintenance task failed: {e}"),
        }
    }
}

/// Sends due back-channel logout tokens, every second: a session that ends
/// is told to its clients within about a second, on whichever instance
/// claims the delivery first.
async fn logout_delivery(state: AppState, mut stopped: watch::Receiver<bool>) {
    let http = match reqwest::Client::builder()
        .timeout(backchannel_logout::TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            log::error!("back-channel logout disabled: cannot build an HTTP client: {e}");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let outcome = backchannel_logout::deliver_due(
            &state.pool,
            &state.keys,
            &http,
            &state.settings.issuer,
            &state.clock,
        )
        .await;
        crate::metrics::job("backchannel_logout", outcome.is_ok());
        match outcome {
            Ok(run) if run != backchannel_logout::Run::default() => {
                log::info!("back-channel logout: {run:?}")
            }
            Ok(_) => {}
            Err(e) => log::error!("back-channel logout delivery failed: {e}"),
        }
    }
}

/// Periodically purges expired codes, tokens, sessions and feed entries.
/// Each batch is its own short transaction, so requests interleave.
async fn housekeeping(state: AppState, mut stopped: watch::Receiver<bool>) {
    let period = Duration::from_secs(state.settings.housekeeping_interval.max(1) as u64);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let s = state.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let mut conn = s.pool.get().context("Failed to check out a connection")?;
            housekeeping::purge(&mut conn, s.clock.now()).context("Failed to purge")
        })
        .await;
        crate::metrics::job("housekeeping", matches!(outcome, Ok(Ok(_))));
        match outcome {
            Ok(Ok(p)) if p != housekeeping::Purged::default() => {
                log::info!("housekeeping purged {p:?}")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => log::error!("housekeeping failed: {e:#}"),
            Err(e) => log::error!("housekeeping task failed: {e}"),
        }
    }
}

fn refresh_keys(pool: &DbPool, store: &KeyStore, clock: &Clock) -> anyhow::Result<()> {
    let mut conn = pool.get().context("Failed to check out a connection")?;
    keys::maintain(&mut conn, &store.timing(), store.sealer(), clock.now())
        .context("Failed to maintain keys")?;
    store.refresh(&mut conn).context("Failed to reload keys")?;
    Ok(())
}

/// One line on how this start stores secrets; a warning when unencrypted.
fn report_protection(p: Protection) {
    match p {
        Protection::Unprotected => log::warn!(
            "no secret_key_file is configured: signing keys and server secrets are stored unencrypted, so a copy of the database can mint tokens"
        ),
        Protection::Sealed => log::info!("secrets at rest are encrypted"),
        Protection::SealedNow(n) => {
            log::info!("secrets at rest are encrypted; encrypted {n} stored secret(s) now")
        }
    }
}
