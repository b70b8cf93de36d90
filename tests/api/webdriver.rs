//! A minimal W3C WebDriver client: headless Chromium driven through chromedriver over HTTP.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where the browser tests save screenshots: `target/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

/// A chromedriver process with one headless Chromium session. Dropping it
/// ends the session (best effort) and kills chromedriver.
pub struct Browser {
    http: reqwest::Client,
    port: u16,
    /// `/session/{id}`; empty before the session starts and after it ends.
    session: String,
    driver: Child,
    // Last, so Chromium has exited before its profile is deleted.
    profile: TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a session in a
    /// fresh Chromium profile.
    pub async fn start() -> Browser {
        // The port of a listener that is closed again at once.
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr());
        let port = port.expect("a free port").port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (apt-get install chromium-driver)");
        // From here a panic drops `browser`, which kills chromedriver.
        let mut browser = Browser {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            port,
            session: String::new(),
            driver,
            profile: tempfile::tempdir().expect("profile dir"),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let status = browser.http.get(format!("http://127.0.0.1:{port}/status"));
            if let Ok(res) = status.send().await
                && let Ok(body) = res.json::<Value>().await
                && body["value"]["ready"] == true
            {
                break;
            }
            let exited = browser.driver.try_wait().ok().flatten();
            assert!(exited.is_none(), "chromedriver exited: {exited:?}");
            assert!(Instant::now() < deadline, "chromedriver not ready in 15 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--window-size=1280,900",
                    format!("--user-data-dir={}", browser.profile.path().display()),
                ],
            },
        }}});
        let value = browser.cmd(Method::POST, "/session", caps).await;
        browser.session = format!("/session/{}", value["sessionId"].as_str().unwrap());
        // Finding an element waits up to 5 s for it; a page load fails after 30 s.
        let timeouts = json!({ "implicit": 5000, "pageLoad": 30000 });
        browser.post("/timeouts", timeouts).await;
        browser
    }

    /// Sends a command (a `Null` body sends none) and returns its `value` or panics.
    async fn cmd(&self, method: Method, path: &str, body: Value) -> Value {
        self.try_cmd(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends a command; its `value`, or the error WebDriver answered.
    async fn try_cmd(&self, method: Method, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let mut req = self.http.request(method.clone(), &url);
        if !body.is_null() {
            req = req.json(&body);
        }
        let res = req.send().await;
        let res = res.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status();
        let mut body: Value = res.json().await.unwrap_or_default();
        if !status.is_success() {
            let error = body["value"].get("message").unwrap_or(&body["value"]);
            return Err(format!("{method} {path}: {status}: {error}"));
        }
        Ok(body["value"].take())
    }

    /// `POST` in this session.
    async fn post(&self, path: &str, body: Value) -> Value {
        let path = format!("{}{path}", self.session);
        self.cmd(Method::POST, &path, body).await
    }

    /// `GET` in this session, expecting a string.
    async fn get_string(&self, path: &str) -> String {
        let path = format!("{}{path}", self.session);
        match self.cmd(Method::GET, &path, Value::Null).await {
            Value::String(s) => s,
            other => panic!("GET {path}: {other}"),
        }
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// The current page's URL.
    pub async fn current_url(&self) -> String {
        self.get_string("/url").await
    }

    /// The id of the first element found `using` a locator strategy.
    async fn find_using(&self, using: &str, value: &str) -> String {
        let found = self.post("/element", json!({ "using": using, "value": value }));
        found.await[ELEMENT_KEY].as_str().unwrap().to_owned()
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> String {
        self.find_using("css selector", css).await
    }

    /// The first element matching an XPath expression.
    pub async fn find_xpath(&self, xpath: &str) -> String {
        self.find_using("xpath", xpath).await
    }

    /// The control that a `<label for=...>` reading `text` names (`text`
    /// must not contain an apostrophe).
    pub async fn find_by_label(&self, text: &str) -> String {
        assert!(!text.contains('\''), "label text with an apostrophe");
        let xpath = format!("//*[@id=//label[normalize-space()='{text}']/@for]");
        self.find_xpath(&xpath).await
    }

    /// Types `text` into an element.
    pub async fn send_keys(&self, element: &str, text: &str) {
        let path = format!("/element/{element}/value");
        self.post(&path, json!({ "text": text })).await;
    }

    /// Clicks an element.
    pub async fn click(&self, element: &str) {
        let path = format!("/element/{element}/click");
        self.post(&path, json!({})).await;
    }

    /// An element's rendered text.
    pub async fn text(&self, element: &str) -> String {
        self.get_string(&format!("/element/{element}/text")).await
    }

    /// An element's rendered text, or `None` when it is gone (a page that
    /// navigated between finding the element and reading it).
    pub async fn try_text(&self, element: &str) -> Option<String> {
        let path = format!("{}/element/{element}/text", self.session);
        match self.try_cmd(Method::GET, &path, Value::Null).await {
            Ok(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// Sets the window's size; headless Chromium has no window frame, so
    /// this is the viewport's size.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        let rect = json!({ "width": width, "height": height });
        self.post("/window/rect", rect).await;
    }

    /// Runs `script` (a function body, which may `return` a value) in the
    /// page and returns its result. WebDriver's scripts are not the page's,
    /// so its Content-Security-Policy does not stop them.
    pub async fn execute(&self, script: &str) -> Value {
        let body = json!({ "script": script, "args": [] });
        self.post("/execute/sync", body).await
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot_png(&self) -> Vec<u8> {
        let encoded = self.get_string("/screenshot").await;
        STANDARD.decode(encoded).expect("base64 screenshot")
    }

    /// The current page's HTML.
    pub async fn page_source(&self) -> String {
        self.get_string("/source").await
    }

    /// Adds a virtual authenticator (the W3C WebAuthn WebDriver extension):
    /// a platform authenticator that keeps discoverable credentials and
    /// verifies the user. Returns its id.
    pub async fn add_virtual_authenticator(&self) -> String {
        let options = json!({
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
            "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true,
        });
        let id = self.post("/webauthn/authenticator", options).await;
        id.as_str().expect("an authenticator id").to_owned()
    }

    /// The credentials a virtual authenticator holds.
    pub async fn virtual_credentials(&self, authenticator: &str) -> Vec<Value> {
        let path = format!(
            "{}/webauthn/authenticator/{authenticator}/credentials",
            self.session
        );
        match self.cmd(Method::GET, &path, Value::Null).await {
            Value::Array(list) => list,
            other => panic!("credentials: {other}"),
        }
    }

    /// Deletes every cookie of the current page's site (signs the browser out).
    pub async fn delete_cookies(&self) {
        let path = format!("{}/cookie", self.session);
        self.cmd(Method::DELETE, &path, Value::Null).await;
    }

    /// Ends the session, closing Chromium.
    pub async fn quit(mut self) {
        self.cmd(Method::DELETE, &self.session, Value::Null).await;
        self.session.clear();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Drop cannot await: a blocking DELETE of the session, errors ignored.
        if !self.session.is_empty()
            && let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port))
        {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let head = "HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
            let _ = write!(stream, "DELETE {} {head}", self.session);
            let _ = stream.read_to_end(&mut Vec::new());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
