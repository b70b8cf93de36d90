//! Graceful shutdown of a real `tessera serve` process: on SIGTERM `/readyz`
//! turns 503 while requests are still served, a request in flight when the
//! listener closes still gets its answer, and the process exits 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tessera::config::Settings;

use crate::helpers::{run_cli, stdout_ok};
use crate::test_db::TestDb;

const DRAIN: u64 = 2;
const SECRET: &str = "a-chosen-secret-that-is-long-enough-0123456789";

/// A running `tessera serve` process.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// Everything it has written to stderr, read as it comes so the pipe
    /// never fills up and blocks the server.
    pub stderr: std::thread::JoinHandle<String>,
}

/// Starts `tessera serve` on a free port with `env` added to its environment.
pub fn start_server(db: &TestDb, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("serve")
        .env("TESSERA_DATABASE", &db.url)
        .env("TESSERA_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut all = String::new();
        err.read_to_string(&mut all).unwrap();
        all
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = lines
        .find_map(|l| {
            let l = l.unwrap();
            let rest = l.strip_prefix("Tessera is serving ")?;
            Some(rest.rsplit(' ').next().unwrap().parse().unwrap())
        })
        .expect("the server said it was serving");
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        port,
        stderr,
    }
}

/// A token request whose body arrives only after `pause`: the server has
/// started it and must wait for the rest.
fn slow_token_request(port: u16, pause: Duration) -> std::io::Result<String> {
    let body = "grant_type=client_credentials&client_id=svc&client_secret=".to_owned() + SECRET;
    let (first, rest) = body.split_at(20);
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        s,
        "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    )?;
    s.flush()?;
    std::thread::sleep(pause);
    s.write_all(rest.as_bytes())?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    Ok(response)
}

pub fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    while start.elapsed() < within {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("the server did not exit within {within:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_through_readyz_finishes_requests_in_flight_and_exits_zero() {
    // Arrange: a server process, a client, and a steady token load.
    let db = TestDb::new();
    let Server {
        mut child,
        port,
        stderr,
    } = start_server(
        &db,
        &[
            ("TESSERA_SHUTDOWN_DRAIN", &DRAIN.to_string()),
            ("TESSERA_SHUTDOWN_TIMEOUT", "10"),
        ],
    );
    let settings = Settings {
        database: db.url.clone(),
        ..Settings::default()
    };
    stdout_ok(&run_cli(
        &settings,
        &[
            "client",
            "add",
            "svc",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "api:read",
            "--secret-stdin",
        ],
        Some(SECRET),
    ));
    let base = format!("http://127.0.0.1:{port}");
    // A new connection per request, as from many clients.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let token = {
        let (http, base) = (http.clone(), base.clone());
        move || {
            let (http, base) = (http.clone(), base.clone());
            async move {
                http.post(format!("{base}/token"))
                    .basic_auth("svc", Some(SECRET))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
            }
        }
    };
    assert_eq!(token().await.unwrap().status(), 200);
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let stop_load = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (token, stop) = (token.clone(), stop_load.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0, Vec::new());
                while !stop.load(Ordering::SeqCst) {
                    match token().await {
                        Ok(r) if r.status() == 200 => ok += 1,
                        Ok(r) => failed.push(format!("status {}", r.status())),
                        Err(e) => failed.push(e.to_string()),
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Started before the signal, finished after the listener has closed.
    let in_flight = tokio::task::spawn_blocking(move || {
        slow_token_request(port, Duration::from_millis(DRAIN * 1000 + 1500))
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Act
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());

    // Assert: draining, /readyz says so while tokens are still issued.
    let signalled = Instant::now();
    let draining = loop {
        let res = http.get(format!("{base}/readyz")).send().await.unwrap();
        if res.status() == 503 || signalled.elapsed() > Duration::from_millis(1500) {
            break res;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(draining.status(), 503);
    let reason: serde_json::Value = draining.json().await.unwrap();
    assert_eq!(reason["reason"], "shutting down");
    assert_eq!(token().await.unwrap().status(), 200, "still serving");
    // A load balancer that saw the 503 sends nothing new before the drain ends.
    let until = Duration::from_millis(DRAIN * 1000 - 300).saturating_sub(signalled.elapsed());
    tokio::time::sleep(until).await;
    stop_load.store(true, Ordering::SeqCst);
    let mut ok = 0;
    for task in load {
        let (o, failed) = task.await.unwrap();
        assert!(
            failed.is_empty(),
            "requests during the drain failed: {failed:?}"
        );
        ok += o;
    }
    assert!(ok > 0);

    // The slow request gets its token although the listener closed meanwhile.
    let response = in_flight
        .await
        .unwrap()
        .expect("the request in flight was answered");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("access_token"), "{response}");

    let status = tokio::task::spawn_blocking(move || {
        let status = wait_for_exit(&mut child, Duration::from_secs(20));
        (status, stderr.join().unwrap())
    })
    .await
    .unwrap();
    let (status, stderr) = status;
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        token().await.unwrap_err().is_connect(),
        "nothing listens any more"
    );
}
