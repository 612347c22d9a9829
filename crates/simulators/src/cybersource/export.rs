//! The SOAP `runTransaction` export service: checks the WS-Security UsernameToken, reads
//! billTo and `exportService run="true"`, and answers with a reason code (and an info code
//! for a list match) decided by the last name, so every outcome can be produced on demand.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{CyberSource, MERCHANT_ID, TRANSACTION_KEY};

pub const TRANSACTION_PATH: &str = "/commerce/1.x/transactionProcessor";
const NAMESPACE: &str = "urn:schemas-cybersource-com:transaction-data-1.155";

/// One screening the simulator answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screening {
    pub reference: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub country: String,
    pub reason_code: i64,
    pub info_code: Option<String>,
}

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <soap:Header/><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
}

fn fault(code: &str, message: &str) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        envelope(&format!(
            "<soap:Fault><faultcode>{code}</faultcode><faultstring>{message}</faultstring></soap:Fault>"
        )),
    )
        .into_response()
}

fn text(document: &roxmltree::Document<'_>, name: &str) -> String {
    document
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == name)
        .and_then(|n| n.text())
        .unwrap_or_default()
        .to_string()
}

/// The answer a last name asks for: (reason code, info code).
fn decide(last_name: &str) -> (i64, Option<&'static str>) {
    if last_name.contains("Denied") {
        (700, Some("MATCH-DPC"))
    } else if last_name.contains("Listed") {
        (100, Some("MATCH-ALIAS"))
    } else if last_name.contains("Busy") {
        (150, None)
    } else if last_name.contains("Unclear") {
        (203, None)
    } else {
        (100, None)
    }
}

pub(super) async fn run_transaction(
    State(state): State<Arc<CyberSource>>,
    body: String,
) -> Response {
    if let Some(failure) = state.knobs.inject().await {
        return failure;
    }
    let Ok(document) = roxmltree::Document::parse(&body) else {
        return fault("soap:Client", "The request is not well-formed XML.");
    };
    if text(&document, "Username") != MERCHANT_ID || text(&document, "Password") != TRANSACTION_KEY
    {
        return fault(
            "wsse:FailedCheck",
            "Security Data : UsernameToken authentication failed.",
        );
    }
    let runs = document
        .descendants()
        .any(|n| n.tag_name().name() == "exportService" && n.attribute("run") == Some("true"));
    if !runs || text(&document, "merchantID") != MERCHANT_ID {
        return fault(
            "c:ClientError",
            "The request asks for no exportService run=\"true\" or names another merchant.",
        );
    }
    let screening = {
        let last_name = text(&document, "lastName");
        let (reason_code, info_code) = decide(&last_name);
        Screening {
            reference: text(&document, "merchantReferenceCode"),
            first_name: text(&document, "firstName"),
            last_name,
            email: text(&document, "email"),
            country: text(&document, "country"),
            reason_code,
            info_code: info_code.map(str::to_string),
        }
    };
    let decision = match screening.reason_code {
        100 if screening.info_code.is_none() => "ACCEPT",
        150 => "ERROR",
        _ => "REJECT",
    };
    let info = screening
        .info_code
        .as_deref()
        .map(|c| format!("<c:infoCode>{c}</c:infoCode>"))
        .unwrap_or_default();
    let reply = envelope(&format!(
        "<c:replyMessage xmlns:c=\"{NAMESPACE}\"><c:merchantReferenceCode>{reference}</c:merchantReferenceCode>\
         <c:requestID>{request_id}</c:requestID><c:decision>{decision}</c:decision><c:reasonCode>{reason}</c:reasonCode>\
         <c:exportReply><c:reasonCode>{reason}</c:reasonCode>{info}<c:ipCountryConfidence>-1</c:ipCountryConfidence></c:exportReply>\
         </c:replyMessage>",
        reference = crate::faults::escape(&screening.reference),
        request_id = rand::random::<u64>(),
        reason = screening.reason_code,
    ));
    state
        .screenings
        .lock()
        .expect("simulator lock")
        .push(screening);
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], reply).into_response()
}
