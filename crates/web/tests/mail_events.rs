//! Mailgun-style delivery events through the full router: signed events update the message
//! they name, shown on the staff mail page; a bad signature, an unknown message and a
//! malformed event are refused, each saying why; an event about an enrollment code's
//! message has its assignment followed at once.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::App;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const KEY: &str = "mailgun-signing-key";

/// A fresh token per event, as Mailgun sends.
fn rand_token() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    (u128::from(NEXT.fetch_add(1, Ordering::SeqCst)) << 64) | u128::from(std::process::id())
}

fn signed_event(key: &str, data: Value) -> Request<Body> {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let token = format!("{:032x}", rand_token());
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
        metrics_token: None,
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

#[tokio::test]
async fn a_delivery_event_about_an_assigned_code_is_followed_at_once() {
    let app = App::with(web::Settings {
        mail_events_key: Some(KEY.into()),
        metrics_token: None,
        ..common::settings("http://registrar.test")
    })
    .await;
    let request =
        common::coupon_request(&app.store, store::commerce::coupon_requests::Source::Staff).await;
    let view = store::catalog::read::load(app.store.db()).await.unwrap();
    let now = chrono::Utc::now();
    let txn = app.store.write().await.unwrap();
    let code = store::commerce::coupon_requests::codes(&txn, &request)
        .await
        .unwrap()[0]
        .code
        .clone();
    let wanted = [(code, "ada@example.edu".to_string())]
        .into_iter()
        .collect();
    services::coupon_requests::assign_in(
        &txn,
        &view,
        "http://registrar.test",
        &request,
        &wanted,
        now,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let message = store::commerce::coupon_requests::codes(app.store.db(), &request)
        .await
        .unwrap()[0]
        .assignment
        .clone()
        .unwrap()
        .message_id
        .unwrap();
    store::mail::sent(app.store.db(), &message, "ada@example.edu", "Complete", now)
        .await
        .unwrap();

    let reply = app.send(signed_event(KEY, delivered(&message))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let queued = store::testing::count(
        &app.store,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'sheets.update_assignment_delivery'",
    )
    .await;
    assert_eq!(queued, 1);
}
