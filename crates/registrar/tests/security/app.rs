//! The whole router on a fresh database with the demo's synthetic catalog, a storefront,
//! and three callers: a stranger, a signed-in learner and staff.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use store::catalog::write::{Mode, apply};
use tower::ServiceExt;

use crate::common;

pub const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// What came back.
pub struct Reply {
    pub status: StatusCode,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    /// Every header, by lower-case name (the last value of a repeated one).
    pub headers: std::collections::HashMap<String, String>,
    pub body: String,
}

pub struct App {
    pub router: axum::Router,
    pub store: store::Store,
    pub learner: store::accounts::User,
    /// (who, the headers they send): a stranger, a learner, staff.
    pub identities: Vec<(&'static str, Vec<(header::HeaderName, String)>)>,
}

/// The settings every app of the suite runs with (a restart is a new router over them).
pub fn settings() -> web::Settings {
    web::Settings {
        storefront: Some(common::shop::storefront()),
        ..common::settings("http://registrar.test")
    }
}

pub async fn app() -> App {
    let store = store::testing::fresh_store().await;
    let now = chrono::Utc::now();
    let txn = store.write().await.unwrap();
    apply(
        &txn,
        &registrar::seed::synthetic_catalog(now, 8, 2),
        Mode::Strict,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let learner = common::learner(&store, "ada", now).await;
    let session =
        store::accounts::start_session(store.db(), learner.id, chrono::Duration::hours(1), now)
            .await
            .unwrap();
    let token = store::staff::create_token(store.db(), "staff@example.edu")
        .await
        .unwrap();
    let staff = store::staff::start_session(
        store.db(),
        "staff@example.edu",
        chrono::Duration::hours(1),
        now,
    )
    .await
    .unwrap();
    let state = web::AppState::new(store.clone(), settings(), web::system_clock());
    App {
        router: web::router(state),
        store,
        learner,
        identities: vec![
            (
                "a stranger",
                vec![(header::COOKIE, format!("registrar_csrf={CSRF}"))],
            ),
            (
                "a learner",
                vec![
                    (
                        header::COOKIE,
                        format!("registrar_session={session}; registrar_csrf={CSRF}"),
                    ),
                    (header::HeaderName::from_static("x-csrftoken"), CSRF.into()),
                ],
            ),
            (
                "staff",
                vec![
                    (
                        header::COOKIE,
                        format!("registrar_staff={staff}; registrar_csrf={CSRF}"),
                    ),
                    (header::AUTHORIZATION, format!("Bearer {token}")),
                    (header::HeaderName::from_static("x-csrftoken"), CSRF.into()),
                ],
            ),
        ],
    }
}

impl App {
    /// A request from `from` (the connection's address), with these headers.
    pub async fn request(
        &self,
        from: &str,
        headers: &[(header::HeaderName, String)],
        method: &Method,
        uri: &str,
        body: Option<(&str, String)>,
    ) -> Reply {
        let mut request = Request::builder().method(method.clone()).uri(uri);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let body = match body {
            Some((kind, text)) => {
                request = request.header(header::CONTENT_TYPE, kind);
                Body::from(text)
            }
            None => Body::empty(),
        };
        let mut request = request.body(body).unwrap();
        let address: SocketAddr = format!("{from}:40000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(address));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            location,
            cookies,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn send(
        &self,
        who: &[(header::HeaderName, String)],
        method: &Method,
        uri: &str,
        body: Option<(&str, String)>,
    ) -> (StatusCode, String) {
        let reply = self.request("192.0.2.1", who, method, uri, body).await;
        (reply.status, reply.body)
    }
}
