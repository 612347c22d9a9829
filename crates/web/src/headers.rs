//! Security headers on every response Registrar's router gives (the demo's simulators,
//! mounted beside it, are other sites and send their own): a Content-Security-Policy the
//! pages satisfy (scripts only from this site, no inline script; inline `style` attributes
//! allowed; forms post only here and to the payment page; no framing by other sites),
//! `X-Content-Type-Options: nosniff`, a Referrer-Policy that keeps paths (which may carry
//! codes) to this site, and `X-Frame-Options` for browsers without `frame-ancestors`.
//! A handler that sets one of these itself keeps its own.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub type Headers = Arc<Vec<(HeaderName, HeaderValue)>>;

/// The origin (`scheme://host[:port]`) of a URL, if it has one.
fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The policy for this deployment: the payment page's origin may receive form posts, and
/// reCAPTCHA's script and frame may load when sign-up uses Google's widget.
pub fn content_security_policy(settings: &crate::Settings) -> String {
    let mut form_action = vec!["'self'".to_string()];
    if let Some(front) = &settings.storefront
        && let Some(payment) = origin(&front.processor.url)
    {
        form_action.push(payment);
    }
    let (script, frame) = match &settings.recaptcha {
        Some(r) if !r.simulated => (
            " https://www.google.com/recaptcha/ https://www.gstatic.com/recaptcha/",
            " https://www.google.com/recaptcha/ https://recaptcha.google.com/recaptcha/",
        ),
        _ => ("", ""),
    };
    format!(
        "default-src 'self'; script-src 'self'{script}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: https:; font-src 'self'; connect-src 'self'; frame-src 'self'{frame}; \
         object-src 'none'; base-uri 'self'; form-action {}; frame-ancestors 'none'",
        form_action.join(" ")
    )
}

pub fn for_settings(settings: &crate::Settings) -> Headers {
    let csp = HeaderValue::from_str(&content_security_policy(settings))
        .expect("the policy is ASCII without control characters");
    Arc::new(vec![
        (header::CONTENT_SECURITY_POLICY, csp),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ])
}

pub async fn add(State(headers): State<Headers>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let present = response.headers_mut();
    for (name, value) in headers.iter() {
        if !present.contains_key(name) {
            present.insert(name.clone(), value.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins_are_read_from_urls() {
        assert_eq!(
            super::origin("https://secureacceptance.cybersource.com/pay").as_deref(),
            Some("https://secureacceptance.cybersource.com")
        );
        assert_eq!(
            super::origin("http://127.0.0.1:8000/_simulators/cybersource/pay").as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(super::origin("not a url"), None);
    }
}
