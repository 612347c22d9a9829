//! The OAuth2 provider Open edX signs in through: authorization code, token, refresh and
//! user info, through the full router.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use domain::accounts::{Email, LegalAddress, Username};
use http_body_util::BodyExt;
use serde_json::Value;
use store::Store;
use tower::ServiceExt;

const REDIRECT: &str = "https://lms.example.edu/auth/complete/registrar/";

async fn app() -> (axum::Router, Store) {
    let store = store::testing::fresh_store().await;
    let settings = common::settings("http://registrar.test");
    (
        web::router(web::AppState::new(
            store.clone(),
            settings,
            Arc::new(Utc::now),
        )),
        store,
    )
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, Option<String>, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    let status = response.status();
    (
        status,
        location,
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

fn token_request(form: &[(&str, &str)]) -> Request<Body> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    Request::post("/oauth2/access_token/")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn authorization_code_token_refresh_and_user_info() {
    let (app, store) = app().await;
    let (client, secret) = store::oauth2::create_application(
        store.db(),
        "Open edX",
        &[REDIRECT.to_string()],
        Utc::now(),
    )
    .await
    .unwrap();
    let address = LegalAddress {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        country: "GB".into(),
        state: None,
    };
    let (email, username) = (
        Email::parse("ada@example.edu").unwrap(),
        Username::parse("ada").unwrap(),
    );
    let new = store::accounts::NewUser {
        email: &email,
        username: &username,
        name: "Ada Lovelace",
        password_hash: None,
        address: &address,
        email_verified: true,
        global_id: None,
    };
    let user = store::accounts::create_user(store.db(), new, Utc::now())
        .await
        .unwrap();
    let session =
        store::accounts::start_session(store.db(), user.id, chrono::Duration::hours(1), Utc::now())
            .await
            .unwrap();
    let authorize = format!(
        "/oauth2/authorize/?response_type=code&client_id={}&redirect_uri={REDIRECT}&state=xyz",
        client.client_id
    );

    let (_, location, _) = send(&app, Request::get(&authorize).body(Body::empty()).unwrap()).await;
    assert!(
        location
            .unwrap()
            .starts_with("/signin?next=%2Foauth2%2Fauthorize%2F"),
        "signed-out learners sign in first"
    );
    let evil = authorize.replace(REDIRECT, "https://evil.example/");
    let (status, _, body) = send(&app, Request::get(&evil).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let signed_in = Request::get(&authorize)
        .header(header::COOKIE, format!("registrar_session={session}"))
        .body(Body::empty())
        .unwrap();
    let (_, location, _) = send(&app, signed_in).await;
    let location = location.unwrap();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")) && location.ends_with("&state=xyz"),
        "{location}"
    );
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();

    let wrong = token_request(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("client_id", &client.client_id),
        ("client_secret", "nope"),
    ]);
    assert_eq!(send(&app, wrong).await.0, StatusCode::UNAUTHORIZED);
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", client.client_id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let (status, _, body) = send(&app, token_request(&exchange)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tokens: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    let (status, _, body) = send(&app, token_request(&exchange)).await;
    assert_eq!(
        (status, body.contains("invalid_grant")),
        (StatusCode::BAD_REQUEST, true),
        "a code works once"
    );

    let me = |token: &str| {
        Request::get("/api/users/me")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, body) = send(&app, me(tokens["access_token"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    let info: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (info["username"].as_str(), info["email"].as_str()),
        (Some("ada"), Some("ada@example.edu"))
    );
    assert_eq!(info["legal_address"]["last_name"], "Lovelace");

    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ("client_id", client.client_id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let (status, _, body) = send(&app, token_request(&refresh)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let renewed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        send(&app, me(renewed["access_token"].as_str().unwrap()))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, me(tokens["access_token"].as_str().unwrap()))
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "the refreshed-away token stops working"
    );
    assert_eq!(
        send(&app, token_request(&refresh)).await.0,
        StatusCode::BAD_REQUEST,
        "a refresh token works once"
    );
    assert_eq!(send(&app, me("forged")).await.0, StatusCode::UNAUTHORIZED);
}

/// A refresh token is good for one refresh, however the requests interleave: two refreshes
/// racing with one token (a replay against the client) cannot both get tokens. Before the
/// fix the revocation did not check that it revoked anything, so both could.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_refreshes_once_even_when_two_requests_race() {
    let store = store::testing::fresh_store().await;
    let now = Utc::now();
    let (app, _) =
        store::oauth2::create_application(store.db(), "Open edX", &[REDIRECT.to_string()], now)
            .await
            .unwrap();
    let ada = store::testing::learner(store.db(), "ada", now)
        .await
        .unwrap();
    for round in 0..10 {
        let tokens = store::oauth2::issue_tokens(store.db(), app.id, ada.id, now)
            .await
            .unwrap();
        let refreshes: Vec<_> = (0..8)
            .map(|_| {
                let (store, refresh) = (store.clone(), tokens.refresh.clone());
                tokio::spawn(async move {
                    services::oauth2::refresh(&store, app.id, &refresh, now).await
                })
            })
            .collect();
        let mut granted = 0;
        for refresh in refreshes {
            match refresh.await.unwrap() {
                Ok(Some(_)) => granted += 1,
                Ok(None) => {}
                // A serialisation failure is a refusal too (the client may try again).
                Err(error) => eprintln!("refused by the database: {error}"),
            }
        }
        assert_eq!(
            granted, 1,
            "round {round}: one refresh, one set of new tokens"
        );
    }
}
