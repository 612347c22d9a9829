//! Google reCAPTCHA verification (`siteverify`), used by sign-up as the references use it.

use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct Config {
    /// `https://www.google.com/recaptcha/api/siteverify`, or a simulator's.
    pub verify_url: String,
    pub secret: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("reCAPTCHA could not be reached: {0}")]
pub struct Unavailable(pub String);

pub struct Recaptcha {
    config: Config,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Verdict {
    success: bool,
}

impl Recaptcha {
    pub fn new(config: Config) -> Self {
        let http = crate::http_client(10, reqwest::redirect::Policy::default());
        Self { config, http }
    }

    /// Whether the token from the form proves a person.
    pub async fn verify(&self, token: &str, remote_ip: Option<&str>) -> Result<bool, Unavailable> {
        let mut form = vec![("secret", self.config.secret.as_str()), ("response", token)];
        if let Some(ip) = remote_ip {
            form.push(("remoteip", ip));
        }
        let response = self
            .http
            .post(&self.config.verify_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| Unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(Unavailable(response.status().to_string()));
        }
        let verdict: Verdict = response
            .json()
            .await
            .map_err(|e| Unavailable(e.to_string()))?;
        Ok(verdict.success)
    }
}
