//! The posts example's server: a JSON API that authorizes every request by
//! scope, role and ownership (access tokens verified offline with
//! `tessera_verifier`; writes only with DPoP-bound tokens and a proof,
//! RFC 9449), and the single-page app that calls it.
//!
//! Kept to crates the root package's tests also have, so the integration
//! tests can include this file with `#[path]` and run it in-process.

use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::Server;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{DefaultHeaders, Logger};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_verifier::actix::Authenticated;
use tessera_verifier::{FeedConfig, Verifier, VerifierConfig, VerifyError};

/// The scope a token needs to create or delete posts.
const WRITE_SCOPE: &str = "posts:write";
/// The role that may delete anyone's post.
const MODERATOR_ROLE: &str = "moderator";
/// Longest accepted title, body and author name, in characters.
const MAX_TITLE: usize = 120;
const MAX_BODY: usize = 2000;
const MAX_AUTHOR_NAME: usize = 80;

/// Where the API trusts tokens from, and how the SPA signs in. (No `Debug`,
/// so the feed secret cannot end up in a log line.)
#[derive(Clone)]
pub struct PostsConfig {
    /// Tessera's issuer URL, e.g. `http://127.0.0.1:8080`.
    pub issuer: String,
    /// The `aud` access tokens must carry (Tessera's default is the issuer).
    pub audience: String,
    /// The public client the SPA signs in as.
    pub spa_client_id: String,
    /// The confidential client that reads the revocation feed.
    pub api_client_id: String,
    /// Its secret; `None` runs without the feed, so revoked sessions keep
    /// working until their access tokens expire.
    pub api_secret: Option<String>,
    /// Time between two polls of the revocation feed.
    pub feed_poll_interval: Duration,
    /// Clock leeway for `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// The URL clients reach this app at, e.g. `http://127.0.0.1:8081`:
    /// what their DPoP proofs name (never taken from a request header).
    pub public_url: String,
}

impl PostsConfig {
    /// The defaults for an issuer: audience = issuer, the `posts-spa` and
    /// `posts-api` clients, no feed secret, a 5 s poll and a 30 s leeway.
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        Self {
            audience: issuer.clone(),
            issuer,
            spa_client_id: "posts-spa".into(),
            api_client_id: "posts-api".into(),
            api_secret: None,
            feed_poll_interval: tessera_verifier::DEFAULT_POLL_INTERVAL,
            leeway: tessera_verifier::DEFAULT_LEEWAY,
            public_url: "http://127.0.0.1:8081".into(),
        }
    }
}

/// One post, as stored and as sent.
#[derive(Debug, Clone, Serialize)]
struct Post {
    id: u64,
    title: String,
    body: String,
    /// The `sub` of the token that created it: the owner.
    author_sub: String,
    /// A display name the SPA sent; for show only, never for decisions.
    author_name: String,
    /// Seconds since the Unix epoch.
    created_at: i64,
}

/// The in-memory posts and the next id (ids are never reused, so a stale
/// Delete cannot hit a newer post).
#[derive(Default)]
struct Store {
    next_id: u64,
    posts: Vec<Post>,
}

/// Shared state of the posts app.
struct Posts {
    store: Mutex<Store>,
    /// What `GET /api/config` tells the SPA.
    spa: serde_json::Value,
    /// The `Content-Security-Policy` sent with the SPA's files.
    csp: String,
}

impl Posts {
    fn lock(&self) -> MutexGuard<'_, Store> {
        // Every update is a single push or remove, so a poisoned lock still
        // guards a consistent list.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The JSON body of `POST /api/posts`.
#[derive(Debug, Deserialize)]
struct NewPost {
    title: String,
    body: String,
    #[serde(default)]
    author_name: Option<String>,
}

/// Discovers the issuer (and starts following its revocation feed when a
/// secret is configured), then serves the API and the SPA on `listener`.
pub async fn build(config: PostsConfig, listener: TcpListener) -> std::io::Result<Server> {
    let csp = content_security_policy(&config.issuer)?;
    let mut verifier_config = VerifierConfig::new(&config.issuer, &config.audience)
        .with_external_base_url(&config.public_url);
    verifier_config.leeway = config.leeway;
    match &config.api_secret {
        Some(secret) => {
            let mut feed = FeedConfig::new(&config.api_client_id, secret);
            feed.poll_interval = config.feed_poll_interval;
            verifier_config = verifier_config.with_revocation_feed(feed);
        }
        None => log::warn!(
            "POSTS_API_SECRET is not set: running without the revocation feed, so \
             revoked sessions keep working until their access tokens expire"
        ),
    }
    let verifier = Verifier::discover(verifier_config)
        .await
        .map_err(|e| std::io::Error::other(format!("verifier set-up failed: {e}")))?;
    let verifier = web::Data::new(verifier);
    let posts = web::Data::new(Posts {
        store: Mutex::new(Store::default()),
        spa: json!({ "issuer": config.issuer, "client_id": config.spa_client_id }),
        csp,
    });
    let server = HttpServer::new(move || {
        App::new()
            // The query string is left out: the SPA's URL carries the
            // authorization code until it is exchanged.
            .wrap(
                Logger::new(r#"%a "%{METHOD}xi %U" %s %b %Dms"#)
                    .custom_request_replace("METHOD", |req| req.method().to_string()),
            )
            .wrap(
                DefaultHeaders::new()
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::REFERRER_POLICY, "no-referrer")),
            )
            .app_data(verifier.clone())
            .app_data(posts.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(16 * 1024)
                    .error_handler(|err, _req| {
                        let response =
                            error(StatusCode::BAD_REQUEST, "invalid_request", &err.to_string());
                        actix_web::error::InternalError::from_response(err, response).into()
                    }),
            )
            .route("/", web::get().to(asset_get))
            .route("/app.js", web::get().to(asset_get))
            .route("/app.css", web::get().to(asset_get))
            .route("/api/config", web::get().to(config_get))
            .route("/api/posts", web::get().to(posts_get))
            .route("/api/posts", web::post().to(posts_post))
            .route("/api/posts/{id}", web::delete().to(post_delete))
    })
    .listen(listener)?
    .run();
    Ok(server)
}

/// `default-src 'self'; connect-src 'self' {issuer origin}; frame-ancestors
/// 'none'`: scripts only from this origin (so an injected `<script>` does
/// not run), fetches only to this API and the issuer's token endpoint, and
/// no framing (clickjacking on the Delete buttons).
fn content_security_policy(issuer: &str) -> std::io::Result<String> {
    let invalid = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("TESSERA_ISSUER: {issuer:?} is not an http(s) URL"),
        )
    };
    let (scheme, rest) = issuer.split_once("://").ok_or_else(invalid)?;
    let authority = rest.split('/').next().unwrap_or_default();
    let clean = authority
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !matches!(scheme, "http" | "https") || authority.is_empty() || !clean {
        return Err(invalid());
    }
    Ok(format!(
        "default-src 'self'; connect-src 'self' {scheme}://{authority}; frame-ancestors 'none'"
    ))
}

/// `GET /`, `/app.js` and `/app.css`, each with the CSP. All script is in
/// `app.js`, because the CSP allows no inline script.
async fn asset_get(req: HttpRequest, posts: web::Data<Posts>) -> HttpResponse {
    let (content_type, body) = match req.path() {
        "/app.js" => (
            "text/javascript; charset=utf-8",
            include_str!("static/app.js"),
        ),
        "/app.css" => ("text/css; charset=utf-8", include_str!("static/app.css")),
        _ => (
            "text/html; charset=utf-8",
            include_str!("static/index.html"),
        ),
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_SECURITY_POLICY, posts.csp.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// `GET /api/config`: where the SPA signs in, and as which client.
async fn config_get(posts: web::Data<Posts>) -> HttpResponse {
    HttpResponse::Ok().json(&posts.spa)
}

/// `GET /api/posts`: everyone may read, newest first.
async fn posts_get(posts: web::Data<Posts>) -> HttpResponse {
    let mut list = posts.lock().posts.clone();
    list.reverse();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(list)
}

/// `POST /api/posts`: any token with `posts:write`; its `sub` owns the post.
async fn posts_post(
    user: Authenticated,
    posts: web::Data<Posts>,
    new: web::Json<NewPost>,
) -> HttpResponse {
    if let Some(refused) = require_dpop(&user) {
        return refused;
    }
    if !user.has_scope(WRITE_SCOPE) {
        return insufficient_scope();
    }
    let NewPost {
        title,
        body,
        author_name,
    } = new.into_inner();
    let title = title.trim().to_owned();
    if title.is_empty() || title.chars().count() > MAX_TITLE || body.chars().count() > MAX_BODY {
        let description = format!(
            "a post needs a title of 1-{MAX_TITLE} characters and a body of at most {MAX_BODY}"
        );
        return error(StatusCode::BAD_REQUEST, "invalid_request", &description);
    }
    let author_name = author_name
        .map(|n| n.trim().chars().take(MAX_AUTHOR_NAME).collect::<String>())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| user.sub.clone());
    let mut store = posts.lock();
    store.next_id += 1;
    let post = Post {
        id: store.next_id,
        title,
        body,
        author_sub: user.sub.clone(),
        author_name,
        created_at: unix_now(),
    };
    store.posts.push(post.clone());
    log::info!("post {} created by {}", post.id, post.author_sub);
    HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(post)
}

/// `DELETE /api/posts/{id}`: `posts:write`, and the author or a moderator.
async fn post_delete(
    user: Authenticated,
    posts: web::Data<Posts>,
    id: web::Path<u64>,
) -> HttpResponse {
    // The scope says what the *client* may do for the user; the role and
    // ownership say what the *user* may do. Both must allow it.
    if let Some(refused) = require_dpop(&user) {
        return refused;
    }
    if !user.has_scope(WRITE_SCOPE) {
        return insufficient_scope();
    }
    let id = id.into_inner();
    let mut store = posts.lock();
    let Some(index) = store.posts.iter().position(|p| p.id == id) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such post");
    };
    let is_author = store.posts[index].author_sub == user.sub;
    if !is_author && !user.has_role(MODERATOR_ROLE) {
        log::info!("{} may not delete post {id}", user.sub);
        let description = "only the author or a moderator may delete this post";
        return error(StatusCode::FORBIDDEN, "forbidden", description);
    }
    store.posts.remove(index);
    log::info!("post {id} deleted by {}", user.sub);
    HttpResponse::NoContent().finish()
}

/// Writes need a DPoP-bound token (the extractor has checked its proof): a
/// bearer token lifted from a page could otherwise delete posts from
/// anywhere. 401 with a DPoP challenge otherwise (RFC 9449 §7.1).
fn require_dpop(user: &Authenticated) -> Option<HttpResponse> {
    user.cnf.is_none().then(|| {
        let description = "writes need a DPoP-bound token and a proof";
        let mut response = error(StatusCode::UNAUTHORIZED, "invalid_token", description);
        let challenge = VerifyError::NotDpopBound.dpop_challenge();
        if let Ok(value) = header::HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    })
}

/// 403 for a valid token without `posts:write` (RFC 6750 §3.1).
fn insufficient_scope() -> HttpResponse {
    let description = format!("this request needs the {WRITE_SCOPE} scope");
    let mut response = error(StatusCode::FORBIDDEN, "insufficient_scope", &description);
    let challenge = r#"Bearer error="insufficient_scope", scope="posts:write""#;
    let challenge = header::HeaderValue::from_static(challenge);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, challenge);
    response
}

/// A JSON error `{error, error_description}` that no cache keeps.
fn error(status: StatusCode, code: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": code, "error_description": description }))
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
