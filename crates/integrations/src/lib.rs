//! Clients of the external systems Registrar talks to, each speaking the system's real HTTP
//! API; the `simulators` crate fakes the same APIs for the demo and tests.

pub mod cybersource;
pub mod openedx;
pub mod recaptcha;

/// TLS for every client uses rustls with the ring provider; installing it twice is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
