//! Fault injection every simulator offers: latency, the next N calls failing, an outage.
//! Settable in tests directly and over HTTP through each simulator's `POST /_control`.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Default)]
pub struct Knobs {
    /// Answer the next N calls with 503.
    pub fail_next: AtomicU32,
    pub latency_ms: AtomicU64,
    /// Answer every call with 503 until turned off.
    pub outage: AtomicBool,
}

impl Knobs {
    /// Applies the latency and the injected failures; `Some` is the failure to answer with.
    pub async fn inject(&self) -> Option<Response> {
        let latency = self.latency_ms.load(Ordering::Relaxed);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        let injected = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        (injected || self.outage.load(Ordering::Relaxed)).then(|| {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable (simulated)",
            )
                .into_response()
        })
    }

    /// `POST /_control` `{fail_next, latency_ms, outage}` (each optional).
    pub fn control(&self, Json(control): Json<Control>) -> Response {
        if let Some(n) = control.fail_next {
            self.fail_next.store(n, Ordering::SeqCst);
        }
        if let Some(ms) = control.latency_ms {
            self.latency_ms.store(ms, Ordering::SeqCst);
        }
        if let Some(outage) = control.outage {
            self.outage.store(outage, Ordering::SeqCst);
        }
        StatusCode::NO_CONTENT.into_response()
    }
}

#[derive(Deserialize)]
pub struct Control {
    fail_next: Option<u32>,
    latency_ms: Option<u64>,
    outage: Option<bool>,
}

/// Escapes text for the simulators' HTML pages.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
