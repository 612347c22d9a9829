//! Gateway sign-in (MITx Online behind APISIX and Keycloak): the gateway forwards the
//! signed-in user as an `X-Userinfo` header (base64 JSON). It is trusted only from the
//! configured proxy addresses; from anywhere else it is ignored and logged. The identity
//! holds for that request only, so when the header stops coming the user is signed out.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use serde::Deserialize;
use store::accounts::{GatewayIdentity, User};

use crate::AppState;

tokio::task_local! {
    static USER: Option<User>;
}

/// The user the gateway vouched for on this request, if any.
pub fn current() -> Option<User> {
    USER.try_with(Clone::clone).ok().flatten()
}

#[derive(Deserialize)]
struct Userinfo {
    sub: String,
    email: String,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
}

fn decode(header: &str) -> Option<GatewayIdentity> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header.trim()))
        .ok()?;
    let info: Userinfo = serde_json::from_slice(&bytes).ok()?;
    let email = domain::accounts::Email::parse(&info.email).ok()?;
    let (first, last) = (
        info.given_name.unwrap_or_default(),
        info.family_name.unwrap_or_default(),
    );
    Some(GatewayIdentity {
        username: info.preferred_username.unwrap_or_else(|| {
            email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_string()
        }),
        name: info
            .name
            .unwrap_or_else(|| format!("{first} {last}").trim().to_string()),
        first_name: first,
        last_name: last,
        sub: info.sub,
        email,
    })
}

pub async fn identify(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get("x-userinfo")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(header) = header else {
        return USER.scope(None, next.run(request)).await;
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if !peer.is_some_and(|ip| state.settings.gateway_proxies.contains(&ip)) {
        tracing::warn!(peer = ?peer, "X-Userinfo from an untrusted address ignored");
        return USER.scope(None, next.run(request)).await;
    }
    let Some(identity) = decode(&header) else {
        tracing::warn!("X-Userinfo that is not base64 JSON with sub and email ignored");
        return USER.scope(None, next.run(request)).await;
    };
    let user = services::accounts::gateway_user(&state.store, &identity, state.now()).await;
    match user {
        Ok(user) => USER.scope(Some(user), next.run(request)).await,
        Err(error) => {
            tracing::error!(%error, "gateway user could not be stored");
            USER.scope(None, next.run(request)).await
        }
    }
}
