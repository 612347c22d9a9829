//! The export-compliance screening (xPRO `compliance/api.py`): a SOAP `runTransaction` with
//! the learner's name and address and `exportService run="true"`, authenticated by a
//! WS-Security UsernameToken (merchant id, transaction key). The reply's `reasonCode` and
//! `exportReply/infoCode` are what the verdict is made of (`domain::compliance`).

use super::xml_escape;

/// The CyberSource transaction-data schema version the request is written against.
pub const NAMESPACE: &str = "urn:schemas-cybersource-com:transaction-data-1.155";
const PASSWORD_TEXT: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";

#[derive(Debug, Clone)]
pub struct Config {
    /// The SOAP endpoint, e.g. `https://ics2wstest.ic3.com/commerce/1.x/transactionProcessor`.
    pub url: String,
    pub merchant_id: String,
    pub transaction_key: String,
    /// `AND` (name and address) or `OR`, as CyberSource documents it (reference default `AND`).
    pub address_operator: String,
    pub address_weight: String,
    pub name_weight: String,
    /// Sent only when set; otherwise the merchant profile's lists apply.
    pub sanctions_lists: Option<String>,
}

/// Who is screened.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// Our user id, sent as the merchant reference code.
    pub reference: i64,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    /// ISO 3166-1 alpha-2.
    pub country: &'a str,
    /// The subdivision, `MA` or `US-MA` (the part after the dash is sent).
    pub state: Option<&'a str>,
}

/// What the service answered, with the exchange as it went over the wire (the transaction
/// key masked), for the encrypted log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub reason_code: i64,
    pub info_code: Option<String>,
    pub request: String,
    pub response: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExportError {
    #[error("CyberSource unavailable: {0}")]
    Transient(String),
    #[error("CyberSource refused the inquiry: {0}")]
    Permanent(String),
}

pub struct ExportService {
    config: Config,
    http: reqwest::Client,
}

impl ExportService {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            http: crate::http_client(30, reqwest::redirect::Policy::default()),
        }
    }

    fn envelope(&self, subject: &Subject<'_>, password: &str) -> String {
        let c = &self.config;
        let e = xml_escape;
        let state = subject
            .state
            .map(|s| s.rsplit('-').next().unwrap_or(s))
            .filter(|s| !s.is_empty())
            .map(|s| format!("<state>{}</state>", e(s)))
            .unwrap_or_default();
        let lists = c
            .sanctions_lists
            .as_deref()
            .map(|l| format!("<sanctionsLists>{}</sanctionsLists>", e(l)))
            .unwrap_or_default();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\">\
             <soap:Header><wsse:Security soap:mustUnderstand=\"1\"><wsse:UsernameToken>\
             <wsse:Username>{merchant}</wsse:Username>\
             <wsse:Password Type=\"{PASSWORD_TEXT}\">{password}</wsse:Password>\
             </wsse:UsernameToken></wsse:Security></soap:Header>\
             <soap:Body><requestMessage xmlns=\"{NAMESPACE}\">\
             <merchantID>{merchant}</merchantID>\
             <merchantReferenceCode>{reference}</merchantReferenceCode>\
             <billTo><firstName>{first}</firstName><lastName>{last}</lastName>{state}\
             <country>{country}</country><email>{email}</email></billTo>\
             <exportService run=\"true\"><addressOperator>{operator}</addressOperator>\
             <addressWeight>{address_weight}</addressWeight><nameWeight>{name_weight}</nameWeight>{lists}\
             </exportService></requestMessage></soap:Body></soap:Envelope>",
            merchant = e(&c.merchant_id),
            password = e(password),
            reference = subject.reference,
            first = e(subject.first_name),
            last = e(subject.last_name),
            country = e(subject.country),
            email = e(subject.email),
            operator = e(&c.address_operator),
            address_weight = e(&c.address_weight),
            name_weight = e(&c.name_weight),
        )
    }

    /// Screens one learner.
    pub async fn screen(&self, subject: &Subject<'_>) -> Result<Reply, ExportError> {
        let response = self
            .http
            .post(&self.config.url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .header("SOAPAction", "\"runTransaction\"")
            .body(self.envelope(subject, &self.config.transaction_key))
            .send()
            .await
            .map_err(|e| ExportError::Transient(e.to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| ExportError::Transient(e.to_string()))?;
        if (status.is_server_error() && !body.contains("Fault>")) || status.as_u16() == 429 {
            return Err(ExportError::Transient(format!("{status}")));
        }
        let (reason_code, info_code) = read_reply(&body)?;
        Ok(Reply {
            reason_code,
            info_code,
            // The log keeps what was sent, but never the transaction key.
            request: self.envelope(subject, "********"),
            response: body,
        })
    }
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The reply's overall reason code and the export reply's info code; a SOAP fault (bad
/// credentials, a malformed request) is a refusal.
fn read_reply(body: &str) -> Result<(i64, Option<String>), ExportError> {
    let document = roxmltree::Document::parse(body)
        .map_err(|e| ExportError::Permanent(format!("the reply is not XML: {e}")))?;
    let root = document.root_element();
    if let Some(fault) = root
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Fault")
    {
        let reason = child(fault, "faultstring")
            .and_then(|f| f.text())
            .unwrap_or("no faultstring");
        return Err(ExportError::Permanent(format!("SOAP fault: {reason}")));
    }
    let reply = root
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "replyMessage")
        .ok_or_else(|| ExportError::Permanent("the reply has no replyMessage".into()))?;
    let reason_code = child(reply, "reasonCode")
        .and_then(|n| n.text())
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| ExportError::Permanent("the reply has no reasonCode".into()))?;
    let info_code = child(reply, "exportReply")
        .and_then(|r| child(r, "infoCode"))
        .and_then(|n| n.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Ok((reason_code, info_code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_yields_its_reason_and_info_codes() {
        let reply = format!(
            "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>\
             <c:replyMessage xmlns:c=\"{NAMESPACE}\"><c:reasonCode>100</c:reasonCode>\
             <c:exportReply><c:reasonCode>100</c:reasonCode><c:infoCode>MATCH-DPC</c:infoCode></c:exportReply>\
             </c:replyMessage></soap:Body></soap:Envelope>"
        );
        assert_eq!(read_reply(&reply), Ok((100, Some("MATCH-DPC".into()))));
        let clean = reply.replace("<c:infoCode>MATCH-DPC</c:infoCode>", "");
        assert_eq!(read_reply(&clean), Ok((100, None)));
    }

    #[test]
    fn a_fault_or_garbage_is_a_refusal() {
        let fault = "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault>\
             <faultcode>wsse:FailedCheck</faultcode><faultstring>Security Data : UsernameToken authentication failed.</faultstring>\
             </soap:Fault></soap:Body></soap:Envelope>";
        assert!(
            matches!(read_reply(fault), Err(ExportError::Permanent(m)) if m.contains("UsernameToken"))
        );
        assert!(matches!(
            read_reply("<html>"),
            Err(ExportError::Permanent(_))
        ));
    }

    #[test]
    fn the_request_escapes_what_learners_type_and_keeps_the_state_suffix() {
        let service = ExportService::new(Config {
            url: "http://127.0.0.1:9".into(),
            merchant_id: "mitx".into(),
            transaction_key: "secret".into(),
            address_operator: "AND".into(),
            address_weight: "high".into(),
            name_weight: "high".into(),
            sanctions_lists: None,
        });
        let xml = service.envelope(
            &Subject {
                reference: 7,
                first_name: "Ada <b>",
                last_name: "O'Neil & Sons",
                email: "ada@example.edu",
                country: "US",
                state: Some("US-MA"),
            },
            "secret",
        );
        let document = roxmltree::Document::parse(&xml).expect("well-formed");
        let text = |name: &str| {
            document
                .descendants()
                .find(|n| n.tag_name().name() == name)
                .and_then(|n| n.text())
                .map(str::to_string)
        };
        assert_eq!(text("firstName").as_deref(), Some("Ada <b>"));
        assert_eq!(text("lastName").as_deref(), Some("O'Neil & Sons"));
        assert_eq!(text("state").as_deref(), Some("MA"));
        assert_eq!(text("merchantReferenceCode").as_deref(), Some("7"));
        assert!(xml.contains("<exportService run=\"true\">"));
        assert!(
            text("sanctionsLists").is_none(),
            "sent only when configured"
        );
    }
}
