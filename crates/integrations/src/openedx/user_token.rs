//! Each learner's own edX API token and the calls made with it. edX mints it only to a
//! learner signed in to edX, so the client plays the learner's browser (reference
//! `create_edx_auth_token`): with a Registrar session it enters edX's social login, which
//! bounces through Registrar's OAuth2 provider and signs the learner in to edX; then edX's
//! own authorize endpoint grants a code for the API client, exchanged for tokens.

use std::collections::HashMap;

use reqwest::{Url, header};
use serde::Deserialize;

use super::{EdxError, OpenEdx, classify, expect_success, network};

/// A Registrar session for the learner, which edX's social login is entered with.
pub struct SiteSession<'a> {
    /// Registrar's root URL, which edX bounces the browser through.
    pub site_url: &'a str,
    pub cookie_name: &'a str,
    pub cookie_value: &'a str,
}

/// Tokens as edX issues them; `expires_in` is in seconds.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct UserToken {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

/// How many redirects one handshake leg may take before it is called a loop.
const MAX_HOPS: usize = 10;

/// Cookies by origin. Keyed by origin rather than host (as a browser would) so that a
/// Registrar and an edX on one host with different ports keep their cookies apart.
#[derive(Default)]
struct Jar(HashMap<String, Vec<(String, String)>>);

impl Jar {
    fn set(&mut self, url: &Url, name: &str, value: &str) {
        let cookies = self
            .0
            .entry(url.origin().ascii_serialization())
            .or_default();
        cookies.retain(|(n, _)| n != name);
        cookies.push((name.to_string(), value.to_string()));
    }

    fn header(&self, url: &Url) -> Option<String> {
        let cookies = self.0.get(&url.origin().ascii_serialization())?;
        Some(
            cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    fn keep(&mut self, url: &Url, response: &reqwest::Response) {
        for set_cookie in response.headers().get_all(header::SET_COOKIE) {
            let pair = set_cookie
                .to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .and_then(|p| p.split_once('='));
            if let Some((name, value)) = pair {
                self.set(url, name.trim(), value.trim());
            }
        }
    }
}

fn handshake_error(message: impl std::fmt::Display) -> EdxError {
    EdxError::Permanent(format!("edX sign-in handshake: {message}"))
}

impl OpenEdx {
    /// Follows redirects from `url` like a browser, until a page answers or the browser is
    /// sent to `stop_at` (not fetched); returns where it ended.
    async fn browse(&self, jar: &mut Jar, mut url: Url, stop_at: &str) -> Result<Url, EdxError> {
        for _ in 0..MAX_HOPS {
            if url.as_str().starts_with(stop_at) {
                return Ok(url);
            }
            let mut request = self.browser.get(url.clone());
            if let Some(cookies) = jar.header(&url) {
                request = request.header(header::COOKIE, cookies);
            }
            let response = request.send().await.map_err(network)?;
            jar.keep(&url, &response);
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| handshake_error(format!("{status} without a Location")))?;
                url = url.join(location).map_err(handshake_error)?;
                continue;
            }
            if !status.is_success() {
                let body = response.text().await.map_err(network)?;
                return Err(classify(status, &body));
            }
            return Ok(url);
        }
        Err(handshake_error(format!("more than {MAX_HOPS} redirects")))
    }

    /// Mints the learner's API tokens by signing them in to edX through Registrar (reference
    /// steps 1–4; the redirect URI is Registrar's `/login/_private/complete`).
    pub async fn mint_user_token(&self, session: &SiteSession<'_>) -> Result<UserToken, EdxError> {
        let site = Url::parse(session.site_url).map_err(handshake_error)?;
        let mut jar = Jar::default();
        jar.set(&site, session.cookie_name, session.cookie_value);
        let redirect_uri = format!(
            "{}/login/_private/complete",
            session.site_url.trim_end_matches('/')
        );
        let login =
            Url::parse(&self.url(&self.config.social_login_path)).map_err(handshake_error)?;
        self.browse(&mut jar, login, &redirect_uri).await?;
        let authorize = Url::parse_with_params(
            &self.url("/oauth2/authorize"),
            [
                ("client_id", self.config.client_id.as_str()),
                ("scope", "read write"),
                ("redirect_uri", redirect_uri.as_str()),
                ("response_type", "code"),
            ],
        )
        .map_err(handshake_error)?;
        let landed = self.browse(&mut jar, authorize, &redirect_uri).await?;
        let code = landed
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| {
                handshake_error(format!("edX did not grant a code (ended at {landed})"))
            })?;
        self.grant(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
        ])
        .await?
        .ok_or_else(|| handshake_error("edX refused its own code"))
    }

    /// Exchanges a refresh token; `None` when edX no longer honours it (`invalid_grant`),
    /// and the tokens must be minted afresh.
    pub async fn refresh_user_token(
        &self,
        refresh_token: &str,
    ) -> Result<Option<UserToken>, EdxError> {
        self.grant(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    /// Updates the name and email of the learner's edX account (the accounts API's merge
    /// patch, with the learner's token as the reference sends it).
    pub async fn update_user(
        &self,
        user_token: &str,
        edx_username: &str,
        name: &str,
        email: &str,
    ) -> Result<(), EdxError> {
        let response = self
            .http
            .patch(self.url(&format!("/api/user/v1/accounts/{edx_username}")))
            .bearer_auth(user_token)
            .header(header::CONTENT_TYPE, "application/merge-patch+json")
            .body(serde_json::json!({"name": name, "email": email}).to_string())
            .send()
            .await
            .map_err(network)?;
        expect_success(response).await
    }

    /// Opts the learner in to (or out of) a course's email.
    pub async fn set_email_opt_in(
        &self,
        user_token: &str,
        course_id: &str,
        receive: bool,
    ) -> Result<(), EdxError> {
        let mut form = vec![("course_id", course_id)];
        if receive {
            form.push(("receive_emails", "on"));
        }
        let response = self
            .http
            .post(self.url("/api/change_email_settings"))
            .bearer_auth(user_token)
            .form(&form)
            .send()
            .await
            .map_err(network)?;
        expect_success(response).await
    }
}
