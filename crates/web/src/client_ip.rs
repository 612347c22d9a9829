//! The caller's address: sent to the processor with a payment, located for tax, and the
//! source sign-in attempts are limited by. It is the connection's peer, unless the peer is
//! one of the trusted proxies (`gateway_trusted_proxies`): then it is the last address in
//! `X-Forwarded-For` that is not itself a trusted proxy (the one the proxy saw), so behind a
//! proxy every learner does not share the proxy's address.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::AppState;

pub struct ClientIp(pub Option<IpAddr>);

/// The client's address given the peer, the trusted proxies and the forwarding header.
pub fn resolve(
    peer: Option<IpAddr>,
    trusted: &[IpAddr],
    forwarded_for: Option<&str>,
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    forwarded_for
        .into_iter()
        .flat_map(|h| h.rsplit(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .find(|a| !trusted.contains(a))
        .or(Some(peer))
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(ClientIp(resolve(
            peer,
            &state.settings.gateway_proxies,
            Some(forwarded.as_str()).filter(|f| !f.is_empty()),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn only_a_trusted_proxy_may_say_who_the_client_is() {
        let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        let client = "198.51.100.7".parse().ok();
        assert_eq!(
            resolve(client, &[proxy], Some("203.0.113.9")),
            client,
            "a client's own header is ignored"
        );
        assert_eq!(
            resolve(Some(proxy), &[proxy], Some("203.0.113.66, 198.51.100.7")),
            client,
            "the address the proxy saw, not one the client wrote before it"
        );
        assert_eq!(resolve(Some(proxy), &[proxy], None), Some(proxy));
    }
}
