//! A CyberSource fake: the SOAP export-compliance service (`export`), the Secure Acceptance
//! hosted payment page (`pay`) and the REST refund (`refund`), with knobs and a page listing
//! what it was asked.
//! Mounted in-process by the demo under `/_simulators/cybersource`.

mod export;
mod pay;
mod refund;

use std::collections::HashMap;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::{get, post};

pub use export::{Screening, TRANSACTION_PATH};

use crate::faults::{Knobs, escape};

pub const MERCHANT_ID: &str = "registrar_demo";
pub const TRANSACTION_KEY: &str = "registrar-demo-transaction-key";
/// The Secure Acceptance profile the simulator serves.
pub const ACCESS_KEY: &str = "registrar-demo-access-key";
pub const PROFILE_ID: &str = "registrar-demo-profile";
pub const SECRET_KEY: &str = "registrar-demo-secret-key";
/// The REST API key (id and base64 shared secret) refunds are signed with.
pub const REST_KEY_ID: &str = "registrar-demo-rest-key";
pub const REST_SECRET: &str = "cmVnaXN0cmFyLWRlbW8tcmVzdC1zaGFyZWQtc2VjcmV0";
/// Where the payment page is, under the simulator's root.
pub const PAY_PATH: &str = "/pay";

#[derive(Default)]
pub struct CyberSource {
    pub screenings: Mutex<Vec<Screening>>,
    /// Every payment result sent, newest last.
    pub results: Mutex<Vec<HashMap<String, String>>>,
    /// Payments (transaction ids) refunded.
    pub refunded: Mutex<Vec<String>>,
    /// The profile's merchant post URL, which results are also posted to.
    merchant_post_url: Mutex<Option<String>>,
    pub knobs: Knobs,
}

impl CyberSource {
    pub fn set_merchant_post_url(&self, url: &str) {
        *self.merchant_post_url.lock().expect("simulator lock") = Some(url.to_string());
    }

    fn merchant_post_url(&self) -> Option<String> {
        self.merchant_post_url
            .lock()
            .expect("simulator lock")
            .clone()
    }

    pub fn screenings(&self) -> Vec<Screening> {
        self.screenings.lock().expect("simulator lock").clone()
    }
}

pub fn router(state: Arc<CyberSource>) -> Router {
    Router::new()
        .route("/", get(page))
        .route(TRANSACTION_PATH, post(export::run_transaction))
        .route(PAY_PATH, post(pay::page))
        .route("/pay/complete", post(pay::complete))
        .route("/pts/v2/payments/{id}/refunds", post(refund::refund))
        .route(
            "/_control",
            post(
                |State(state): State<Arc<CyberSource>>, control| async move {
                    state.knobs.control(control)
                },
            ),
        )
        .with_state(state)
}

async fn page(State(state): State<Arc<CyberSource>>) -> Html<String> {
    let rows: String = state
        .screenings()
        .iter()
        .map(|s| {
            format!(
                "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                s.reference,
                escape(&s.first_name),
                escape(&s.last_name),
                escape(&s.email),
                escape(&s.country),
                s.reason_code,
                escape(s.info_code.as_deref().unwrap_or("")),
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>CyberSource simulator</title></head><body>\
         <h1>CyberSource simulator</h1><h2>Export-compliance screenings</h2>\
         <p>Last names decide the answer: one containing <code>Denied</code> matches a restricted-party list (reason 700), \
         <code>Listed</code> passes with an info code (a denial), <code>Busy</code> is a temporary failure (150), \
         <code>Unclear</code> an unknown reason (203); anyone else is cleared (100).</p>\
         <table><thead><tr><th>Reference</th><th>Name</th><th>Email</th><th>Country</th><th>Reason</th><th>Info code</th></tr></thead>\
         <tbody>{rows}</tbody></table></body></html>"
    ))
}
