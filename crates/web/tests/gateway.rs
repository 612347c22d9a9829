//! Gateway sign-in through the full router: the `X-Userinfo` header counts only from the
//! configured proxy.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::json;
use store::Store;
use tower::ServiceExt;

async fn app() -> (axum::Router, Store) {
    let store = store::testing::fresh_store().await;
    let settings = web::Settings {
        gateway_proxies: vec!["10.0.0.5".parse().unwrap()],
        ..common::settings("http://registrar.test")
    };
    (
        web::router(web::AppState::new(
            store.clone(),
            settings,
            Arc::new(chrono::Utc::now),
        )),
        store,
    )
}

fn userinfo(sub: &str, email: &str, name: &str) -> String {
    let info = json!({"sub": sub, "email": email, "preferred_username": "ada", "name": name, "given_name": "Ada", "family_name": "Lovelace"});
    base64::engine::general_purpose::STANDARD.encode(info.to_string())
}

async fn dashboard(app: &axum::Router, peer: &str, header: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get("/dashboard");
    if let Some(header) = header {
        request = request.header("X-Userinfo", header);
    }
    let mut request = request.body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo::<SocketAddr>(
        format!("{peer}:44321").parse().unwrap(),
    ));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        String::from_utf8(
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap(),
    )
}

#[tokio::test]
async fn the_gateway_header_signs_in_only_from_the_trusted_proxy() {
    let (app, store) = app().await;
    let header = userinfo("kc-123", "ada@example.edu", "Ada Lovelace");
    let (status, body) = dashboard(&app, "10.0.0.5", Some(&header)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Signed in as <strong>ada@example.edu</strong>"));
    let (status, _) = dashboard(&app, "10.0.0.5", None).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "without the header the user is signed out"
    );
    let (status, _) = dashboard(&app, "192.0.2.7", Some(&header)).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "a spoofed header from elsewhere is ignored"
    );
    let (status, _) = dashboard(&app, "10.0.0.5", Some("not base64 json")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // A returning user is read, not rewritten, on every request.
    let before = store::accounts::list(store.db(), 10).await.unwrap();
    dashboard(&app, "10.0.0.5", Some(&header)).await;
    let after = store::accounts::list(store.db(), 10).await.unwrap();
    assert_eq!(before[0].updated_on, after[0].updated_on);

    // Upserted by sub; a name already set is kept.
    let renamed = userinfo("kc-123", "ada@example.edu", "Someone Else");
    dashboard(&app, "10.0.0.5", Some(&renamed)).await;
    let users = store::accounts::list(store.db(), 10).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].global_id.as_deref(), Some("kc-123"));
    assert_eq!(users[0].name, "Ada Lovelace");
    assert!(users[0].email_verified);
}
