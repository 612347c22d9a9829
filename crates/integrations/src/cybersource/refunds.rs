//! The CyberSource REST refund (`POST /pts/v2/payments/{id}/refunds`), authenticated by an
//! HTTP signature: HMAC-SHA256 with the base64-decoded shared secret over the `host`,
//! `date`, `(request-target)`, `digest` and `v-c-merchant-id` headers, as CyberSource's SDK
//! signs (reference `perform_refund` through ol-django).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct Config {
    /// e.g. `https://apitest.cybersource.com`.
    pub base_url: String,
    pub merchant_id: String,
    pub key_id: String,
    /// The shared secret, base64 as CyberSource issues it.
    pub shared_secret: String,
}

/// A refund the processor took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refunded {
    /// The refund's own id (the refund transaction id).
    pub id: String,
    /// `PENDING` or `ACCEPT`.
    pub status: String,
    pub response: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RefundError {
    #[error("CyberSource unavailable: {0}")]
    Transient(String),
    #[error("this payment was already refunded (DUPLICATE_REQUEST)")]
    Duplicate,
    #[error("CyberSource refused the refund: {0}")]
    Refused(String),
}

/// The signature header value for a request (shared by the client and the simulator).
pub fn signature(
    key_id: &str,
    shared_secret: &str,
    host: &str,
    date: &str,
    target: &str,
    digest: &str,
    merchant_id: &str,
) -> Result<String, String> {
    let key = STANDARD
        .decode(shared_secret.trim())
        .map_err(|e| format!("the shared secret is not base64: {e}"))?;
    let signing = format!(
        "host: {host}\ndate: {date}\n(request-target): {target}\ndigest: {digest}\nv-c-merchant-id: {merchant_id}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(signing.as_bytes());
    Ok(format!(
        "keyid=\"{key_id}\", algorithm=\"HmacSHA256\", headers=\"host date (request-target) digest v-c-merchant-id\", signature=\"{}\"",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// `SHA-256=<base64 digest of the body>`.
pub fn digest(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)))
}

pub struct Refunds {
    config: Config,
    http: reqwest::Client,
}

impl std::fmt::Debug for Refunds {
    // The shared secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refunds")
            .field("base_url", &self.config.base_url)
            .field("merchant_id", &self.config.merchant_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Reply {
    id: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    message: Option<String>,
}

impl Refunds {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            http: crate::http_client(30, reqwest::redirect::Policy::default()),
        }
    }

    /// Refunds `amount` of the payment `transaction_id`, quoting our reference.
    pub async fn refund(
        &self,
        transaction_id: &str,
        reference: &str,
        amount: &str,
        currency: &str,
    ) -> Result<Refunded, RefundError> {
        let url = reqwest::Url::parse(&format!(
            "{}/pts/v2/payments/{transaction_id}/refunds",
            self.config.base_url.trim_end_matches('/')
        ))
        .map_err(|e| RefundError::Refused(e.to_string()))?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let body = serde_json::json!({
            "clientReferenceInformation": {"code": reference, "transactionId": transaction_id},
            "orderInformation": {"amountDetails": {"totalAmount": amount, "currency": currency}},
        })
        .to_string();
        let date = httpdate(std::time::SystemTime::now());
        let digest = digest(body.as_bytes());
        let signature = signature(
            &self.config.key_id,
            &self.config.shared_secret,
            &host,
            &date,
            &format!("post {}", url.path()),
            &digest,
            &self.config.merchant_id,
        )
        .map_err(RefundError::Refused)?;
        let response = self
            .http
            .post(url)
            .header("v-c-merchant-id", &self.config.merchant_id)
            .header("date", &date)
            .header("digest", &digest)
            .header("signature", signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| RefundError::Transient(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| RefundError::Transient(e.to_string()))?;
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(RefundError::Transient(format!("{status}")));
        }
        let reply: Reply = serde_json::from_str(&text).map_err(|_| {
            RefundError::Refused(format!(
                "{status}: {}",
                text.chars().take(200).collect::<String>()
            ))
        })?;
        if reply.reason.as_deref() == Some("DUPLICATE_REQUEST") {
            return Err(RefundError::Duplicate);
        }
        match (status.is_success(), reply.id, reply.status.as_deref()) {
            (true, Some(id), Some(s @ ("PENDING" | "ACCEPT"))) => Ok(Refunded {
                id,
                status: s.to_string(),
                response: text,
            }),
            _ => Err(RefundError::Refused(
                reply
                    .message
                    .or(reply.reason)
                    .unwrap_or_else(|| status.to_string()),
            )),
        }
    }
}

/// An RFC 7231 date, as the `date` header wants it.
pub fn httpdate(time: std::time::SystemTime) -> String {
    let time: chrono::DateTime<chrono::Utc> = time.into();
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_headers_cybersource_checks() {
        let secret = STANDARD.encode(b"0123456789abcdef0123456789abcdef");
        let header = signature(
            "key-1",
            &secret,
            "apitest.cybersource.com",
            "Thu, 18 Jul 2019 22:24:30 GMT",
            "post /pts/v2/payments/123/refunds",
            &digest(b"{}"),
            "mitx",
        )
        .unwrap();
        assert!(header.starts_with("keyid=\"key-1\", algorithm=\"HmacSHA256\", headers=\"host date (request-target) digest v-c-merchant-id\""));
        let other_date = signature(
            "key-1",
            &secret,
            "apitest.cybersource.com",
            "Thu, 18 Jul 2019 22:24:31 GMT",
            "post /pts/v2/payments/123/refunds",
            &digest(b"{}"),
            "mitx",
        )
        .unwrap();
        assert_ne!(header, other_date, "the date is signed");
        assert_eq!(
            digest(b"{}"),
            "SHA-256=RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o="
        );
        assert!(signature("k", "not base64!", "h", "d", "t", "g", "m").is_err());
    }
}
