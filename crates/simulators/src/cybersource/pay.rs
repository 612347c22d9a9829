//! The hosted payment page of Secure Acceptance: it checks the merchant's signature, shows
//! the order with test cards (accept, decline, error, review, cancel), and on a choice sends
//! the signed result both ways CyberSource does: server to server to the profile's merchant
//! post URL, and through the browser to the receipt (or cancel) page.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use integrations::cybersource::secure_acceptance;

use super::{ACCESS_KEY, CyberSource, PROFILE_ID, SECRET_KEY};
use crate::faults::escape;

/// The test cards, as (button label, decision, reason code).
const CARDS: [(&str, &str, &str); 5] = [
    ("Pay with 4111 1111 1111 1111 (accepted)", "ACCEPT", "100"),
    ("Pay with 4000 0000 0000 0002 (declined)", "DECLINE", "481"),
    (
        "Pay with 4000 0000 0000 0119 (processor error)",
        "ERROR",
        "150",
    ),
    (
        "Pay with 4000 0000 0000 0101 (held for review)",
        "REVIEW",
        "480",
    ),
    ("Cancel and return to the store", "CANCEL", "200"),
];

fn hidden(fields: &HashMap<String, String>) -> String {
    let mut names: Vec<&String> = fields.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|k| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(&fields[k]).replace('"', "&quot;")
            )
        })
        .collect()
}

fn refuse(why: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(format!(
            "<!doctype html><title>Payment refused</title><h1>Payment refused</h1><p>{}</p>",
            escape(why)
        )),
    )
        .into_response()
}

/// Why a merchant request cannot be paid, if it cannot.
fn check(fields: &HashMap<String, String>) -> Option<&'static str> {
    if secure_acceptance::verify(SECRET_KEY, fields).is_err() {
        return Some("The request's signature is not valid for this profile.");
    }
    let signed: Vec<&str> = fields["signed_field_names"].split(',').collect();
    if fields
        .keys()
        .any(|k| k != "signature" && !signed.contains(&k.as_str()))
    {
        return Some("The request carries fields that are not signed.");
    }
    if fields.get("access_key").map(String::as_str) != Some(ACCESS_KEY)
        || fields.get("profile_id").map(String::as_str) != Some(PROFILE_ID)
    {
        return Some("The access key or profile id is not this profile's.");
    }
    None
}

/// `POST /pay`: the page the merchant's signed form lands on.
pub(super) async fn page(
    State(state): State<Arc<CyberSource>>,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    if let Some(failure) = state.knobs.inject().await {
        return failure;
    }
    if let Some(why) = check(&fields) {
        return refuse(why);
    }
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    let buttons: String = CARDS
        .iter()
        .map(|(label, decision, _)| {
            format!(
                "<button type=\"submit\" name=\"outcome\" value=\"{decision}\">{label}</button> "
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>CyberSource simulator · pay</title></head><body>\
         <h1>Pay {amount} {currency}</h1><p>{item} · order {reference}</p>\
         <form method=\"post\" action=\"pay/complete\">{hidden}{buttons}</form></body></html>",
        amount = escape(get("amount")),
        currency = escape(get("currency")),
        item = escape(get("item_0_name")),
        reference = escape(get("reference_number")),
        hidden = hidden(&fields),
    ))
    .into_response()
}

/// The signed result of a request, as CyberSource reports it.
fn result(
    request: &HashMap<String, String>,
    decision: &str,
    reason: &str,
) -> HashMap<String, String> {
    let mut fields: Vec<(String, String)> = request
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "signature" | "signed_field_names" | "outcome"))
        .map(|(k, v)| (format!("req_{k}"), v.clone()))
        .collect();
    fields.push(("decision".into(), decision.into()));
    fields.push(("reason_code".into(), reason.into()));
    fields.push((
        "transaction_id".into(),
        format!("{:022}", rand::random::<u64>()),
    ));
    fields.push(("message".into(), format!("Simulated {decision}")));
    if decision == "ACCEPT" {
        fields.push(("auth_amount".into(), request["amount"].clone()));
        fields.push(("req_card_number".into(), "xxxxxxxxxxxx1111".into()));
        fields.push(("req_card_type".into(), "001".into()));
    }
    secure_acceptance::sign(SECRET_KEY, fields)
        .into_iter()
        .collect()
}

/// `POST /pay/complete`: a test card was chosen. The merchant post goes first, as it
/// usually does; the browser then carries its copy to the receipt page.
pub(super) async fn complete(
    State(state): State<Arc<CyberSource>>,
    Form(mut fields): Form<HashMap<String, String>>,
) -> Response {
    let outcome = fields.remove("outcome").unwrap_or_default();
    if let Some(why) = check(&fields) {
        return refuse(why);
    }
    let Some((_, decision, reason)) = CARDS.iter().find(|(_, d, _)| *d == outcome) else {
        return refuse("No such test card.");
    };
    let result = result(&fields, decision, reason);
    state
        .results
        .lock()
        .expect("simulator lock")
        .push(result.clone());
    if let Some(url) = state.merchant_post_url() {
        integrations::install_tls_provider();
        match reqwest::Client::new().post(&url).form(&result).send().await {
            Ok(reply) if reply.status().is_success() => {}
            Ok(reply) => {
                tracing::warn!(%url, status = %reply.status(), "the simulated merchant post was refused");
            }
            Err(error) => tracing::warn!(%url, %error, "the simulated merchant post failed"),
        }
    }
    let target = if *decision == "CANCEL" {
        &fields["override_custom_cancel_page"]
    } else {
        &fields["override_custom_receipt_page"]
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Returning to the store</title></head>\
         <body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{}\">{}\
         <noscript><button type=\"submit\">Return to the store</button></noscript></form></body></html>",
        escape(target).replace('"', "&quot;"),
        hidden(&result)
    ))
    .into_response()
}
