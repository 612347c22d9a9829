//! The REST refund (`POST /pts/v2/payments/{id}/refunds`): checks the HTTP signature, the
//! body digest and the merchant, and refunds an accepted payment once; a second refund of
//! the same payment is a `DUPLICATE_REQUEST`, as CyberSource answers.

use std::sync::Arc;

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use integrations::cybersource::refunds::{digest, signature};
use serde_json::{Value, json};

use super::{CyberSource, MERCHANT_ID, REST_KEY_ID, REST_SECRET};

fn refused(status: StatusCode, reason: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"status": "INVALID_REQUEST", "reason": reason, "message": message})),
    )
        .into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

pub(super) async fn refund(
    State(state): State<Arc<CyberSource>>,
    Path(payment): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(failure) = state.knobs.inject().await {
        return failure;
    }
    let expected = signature(
        REST_KEY_ID,
        REST_SECRET,
        header(&headers, "host"),
        header(&headers, "date"),
        &format!("post {}", uri.path()),
        &digest(&body),
        MERCHANT_ID,
    );
    if header(&headers, "v-c-merchant-id") != MERCHANT_ID
        || header(&headers, "digest") != digest(&body)
        || expected.as_deref().ok() != Some(header(&headers, "signature"))
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"response": {"rmsg": "Authentication Failed"}})),
        )
            .into_response();
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "INVALID_DATA",
            "The body is not JSON.",
        );
    };
    let amount = request["orderInformation"]["amountDetails"]["totalAmount"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let paid = state
        .results
        .lock()
        .expect("simulator lock")
        .iter()
        .find(|r| {
            r.get("transaction_id") == Some(&payment)
                && r.get("decision").map(String::as_str) == Some("ACCEPT")
        })
        .and_then(|r| r.get("req_amount").cloned());
    let Some(paid) = paid else {
        return refused(
            StatusCode::BAD_REQUEST,
            "INVALID_DATA",
            "No accepted payment has this id.",
        );
    };
    let as_number = |s: &str| s.parse::<f64>().unwrap_or(f64::MAX);
    if as_number(&amount) > as_number(&paid) {
        return refused(
            StatusCode::BAD_REQUEST,
            "INVALID_AMOUNT",
            "The refund exceeds the payment.",
        );
    }
    let mut refunded = state.refunded.lock().expect("simulator lock");
    if refunded.contains(&payment) {
        return refused(
            StatusCode::BAD_REQUEST,
            "DUPLICATE_REQUEST",
            "Declined - The merchantReferenceCode sent with this authorization request matches a previous request.",
        );
    }
    refunded.push(payment);
    (
        StatusCode::CREATED,
        Json(json!({
            "id": format!("{:022}", rand::random::<u64>()),
            "status": "PENDING",
            "refundAmountDetails": {"refundAmount": amount, "currency": request["orderInformation"]["amountDetails"]["currency"]},
            "clientReferenceInformation": request["clientReferenceInformation"],
        })),
    )
        .into_response()
}
