//! Mailgun-style delivery events through the full router: signed events update the message
//! they name, shown on the staff mail page; a bad signature, an unknown message and a
//! malformed event are refused, each saying why.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::App;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const KEY: &str = "mailgun-signing-key";

fn signed_event(key: &str, data: Value) -> Request<Body> {
    let (timestamp, token) = (
        "1763700000",
        "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let body = json!({
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": data,
    });
    Request::post("/api/mail/events/")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn delivered(message_id: &str) -> Value {
    json!({
        "event": "delivered",
        "timestamp": 1763700000.5,
        "recipient": "ada@example.edu",
        "message": {"headers": {"message-id": message_id}},
        "delivery-status": {"message": "OK", "code": 250},
    })
}

#[tokio::test]
async fn signed_delivery_events_mark_their_message_and_the_rest_are_refused() {
    let app = App::with(web::Settings {
        mail_events_key: Some(KEY.into()),
        ..common::settings("http://registrar.test")
    })
    .await;
    store::mail::sent(
        app.store.db(),
        "0123@registrar",
        "ada@example.edu",
        "Purchase Order Receipt",
        chrono::Utc::now(),
    )
    .await
    .unwrap();

    let ok = app
        .send(signed_event(KEY, delivered("<0123@registrar>")))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let staff = app.staff_cookie().await;
    let page = app.get("/staff/mail/", Some(&staff)).await;
    assert!(
        page.body.contains("Purchase Order Receipt"),
        "{}",
        page.body
    );
    assert!(page.body.contains("delivered"), "{}", page.body);

    let forged = app
        .send(signed_event("another key", delivered("0123@registrar")))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let unknown = app
        .send(signed_event(KEY, delivered("nope@elsewhere")))
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::NOT_ACCEPTABLE,
        "Mailgun does not retry a 406"
    );
    let malformed = app
        .send(signed_event(KEY, json!({"event": "failed"})))
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.body.contains("message-id"));
}
