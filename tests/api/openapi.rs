//! `GET /openapi.yaml`: the served description is the repository's
//! `openapi.yaml`, and its paths and methods match what the server routes.
//! `.ci/schemathesis` checks the responses against it; this test catches a
//! description that is missing or has fallen behind the routes.

use std::collections::{BTreeMap, BTreeSet};

use crate::helpers::spawn_app;

/// Paths routed in `src/routes/mod.rs` that answer HTML or text, not JSON,
/// and so are not described.
const NOT_JSON: [&str; 8] = [
    "/authorize",
    "/login",
    "/login/verify",
    "/consent",
    "/logout",
    "/static/tessera.css",
    "/static/passkeys.js",
    "/metrics",
];

/// The methods of each path under `paths:`, read from the YAML's layout
/// (paths indented two spaces, methods four), which is enough for this
/// file and needs no YAML parser.
fn documented_operations(yaml: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut ops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut in_paths = false;
    let mut current = None;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(path) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            let path = format!("/{path}");
            ops.entry(path.clone()).or_default();
            current = Some(path);
        } else if let Some(method) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':'))
            && ["get", "post", "put", "patch", "delete"].contains(&method)
        {
            let path = current.clone().expect("a method under a path");
            ops.entry(path).or_default().insert(method.to_uppercase());
        }
    }
    ops
}

/// Every path `src/routes/mod.rs` gives to `web::resource`.
fn routed_paths() -> BTreeSet<String> {
    let source = include_str!("../../src/routes/mod.rs");
    source
        .split("web::resource(")
        .skip(1)
        .filter_map(|rest| rest.strip_prefix('"')?.split('"').next())
        .chain(
            // Registered in a loop over both discovery documents.
            source.split('"').filter(|s| s.starts_with("/.well-known/")),
        )
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_openapi_description_is_served_as_yaml() {
    // Arrange
    let app = spawn_app().await;
    let on_disk =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();

    // Act
    let res = app
        .http
        .get(format!("{}/openapi.yaml", app.address))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/yaml");
    let body = res.text().await.unwrap();
    assert_eq!(body, on_disk);
    assert!(body.starts_with("openapi: 3.1."), "an OpenAPI 3.1 document");
}

#[tokio::test]
async fn the_openapi_description_names_every_json_endpoint() {
    // Arrange
    let app = spawn_app().await;
    let documented = documented_operations(tessera::routes::openapi::OPENAPI_YAML);
    let (_, _, discovery) = app.get_json("/.well-known/openid-configuration").await;

    // Assert: every routed path that answers JSON is described...
    let json_paths: BTreeSet<String> = routed_paths()
        .into_iter()
        .filter(|p| !NOT_JSON.contains(&p.as_str()))
        .collect();
    let described: BTreeSet<String> = documented.keys().cloned().collect();
    assert_eq!(
        described, json_paths,
        "openapi.yaml paths vs routed JSON paths"
    );
    // ...including every JSON endpoint the discovery document names.
    for key in [
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "tessera_revocation_feed_endpoint",
    ] {
        let url = discovery[key].as_str().unwrap();
        let path = url.strip_prefix(&app.address).unwrap();
        assert!(
            documented.contains_key(path),
            "{key} {path} is not described"
        );
    }
}

#[tokio::test]
async fn each_described_path_serves_exactly_the_described_methods() {
    // Arrange
    let app = spawn_app().await;
    let documented = documented_operations(tessera::routes::openapi::OPENAPI_YAML);
    assert!(!documented.is_empty());

    for (path, methods) in &documented {
        // Act: a method no path serves gets 405 and the path's `Allow`.
        let res = app
            .http
            .delete(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();

        // Assert
        assert_eq!(res.status(), 405, "DELETE {path}");
        let allow: BTreeSet<String> = res.headers()["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        assert_eq!(&allow, methods, "Allow of {path} vs its described methods");
    }
}
