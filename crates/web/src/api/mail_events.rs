//! Delivery-status webhooks, Mailgun style (`POST /api/mail/events/`): each event is signed
//! with the webhook signing key (HMAC-SHA256 of timestamp and token); a delivered, failed,
//! opened or clicked event is recorded against the message it names by Message-ID, so staff
//! see on `/staff/mail/` whether a message arrived (xPRO tracks its bulk enrollment emails
//! this way). A signature older than a day, or a token seen before, is refused. An unknown
//! message answers 406, which Mailgun does not retry.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use chrono::{TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use services::mail::{Delivery, DeliveryEvent};

use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/mail/events/", post(event))
}

#[derive(Deserialize)]
struct Signature {
    timestamp: String,
    token: String,
    signature: String,
}

#[derive(Deserialize)]
struct Event {
    signature: Signature,
    #[serde(rename = "event-data")]
    data: Value,
}

/// Whether Mailgun signed this: hex HMAC-SHA256 of timestamp then token.
fn signed(key: &str, s: &Signature) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(s.timestamp.as_bytes());
    mac.update(s.token.as_bytes());
    let Ok(given) = (0..s.signature.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.signature.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
    else {
        return false;
    };
    mac.verify_slice(&given).is_ok()
}

async fn event(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let Some(key) = state.settings.mail_events_key.as_deref() else {
        return Err(ApiError::NotFoundBecause(
            "Delivery events are not received here.".into(),
        ));
    };
    let event: Event = super::parse_body(&body)?;
    if !signed(key, &event.signature) {
        return Err(ApiError::Forbidden(
            "The event's signature does not match.".into(),
        ));
    }
    // A signature covers only its timestamp and token: an old one, or one seen before,
    // could carry any event.
    let now = state.now();
    let fresh = event
        .signature
        .timestamp
        .parse::<i64>()
        .is_ok_and(|t| (now.timestamp() - t).abs() <= 24 * 3600);
    if !fresh {
        return Err(ApiError::Forbidden(
            "The event's signature is too old.".into(),
        ));
    }
    let data = &event.data;
    let kind = data["event"].as_str().unwrap_or_default();
    let message_id = data
        .pointer("/message/headers/message-id")
        .and_then(Value::as_str)
        .map(|id| id.trim_matches(['<', '>']));
    let at = data["timestamp"]
        .as_f64()
        .and_then(|t| Utc.timestamp_opt(t as i64, 0).single())
        .unwrap_or_else(|| state.now());
    let detail = data
        .pointer("/delivery-status/message")
        .or_else(|| data.pointer("/delivery-status/description"))
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty());
    let delivery = DeliveryEvent {
        token: &event.signature.token,
        kind,
        message_id,
        detail,
        at,
    };
    match services::mail::record_delivery(&state.store, &delivery, now).await? {
        Delivery::Replayed => Err(ApiError::Forbidden(
            "The event's token was used before.".into(),
        )),
        Delivery::Ignored => Ok(Json(json!({"status": "ignored", "event": kind})).into_response()),
        Delivery::NoMessageId => Err(ApiError::BadRequest(
            "event-data.message.headers.message-id is required.".into(),
        )),
        Delivery::UnknownMessage => Ok((
            StatusCode::NOT_ACCEPTABLE,
            Json(json!({"detail": format!("No message {} was sent from here.", message_id.unwrap_or_default())})),
        )
            .into_response()),
        Delivery::Recorded => {
            Ok(Json(json!({"status": "recorded", "event": kind})).into_response())
        }
    }
}
