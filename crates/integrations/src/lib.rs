//! Clients of the external systems Registrar talks to, each speaking the system's real HTTP
//! API; the `simulators` crate fakes the same APIs for the demo and tests.

pub mod cybersource;
pub mod google;
pub mod hubspot;
pub mod openedx;
pub mod recaptcha;
pub mod vendor_reports;

/// An HTTP client with a timeout and the redirect policy given (TLS installed).
pub fn http_client(timeout_secs: u64, redirects: reqwest::redirect::Policy) -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(timeout_secs))
        .redirect(redirects)
        .build()
        .expect("an HTTP client with default settings")
}

/// TLS for every client uses rustls with the ring provider; installing it twice is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
