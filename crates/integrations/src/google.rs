//! Google Sheets v4 and Drive v3 through a service account: a JWT signed with the
//! account's RSA key (RS256) is exchanged for an access token (OAuth2 JWT bearer grant),
//! renewed a minute before it expires. Values are read and written by A1 range; ranges are
//! protected (`spreadsheets.batchUpdate`); Drive creates spreadsheets in a folder, shares
//! them, sets app properties and opens push-notification channels (`files.watch`).

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

const SCOPES: &str =
    "https://www.googleapis.com/auth/spreadsheets https://www.googleapis.com/auth/drive";

#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    #[error("the service account key: {0}")]
    Key(String),
    #[error("Google is unreachable: {0}")]
    Network(String),
    #[error("Google answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("Google answered something unexpected: {0}")]
    Malformed(String),
}

impl GoogleError {
    pub fn is_transient(&self) -> bool {
        match self {
            GoogleError::Network(_) => true,
            GoogleError::Status { status, .. } => *status >= 500 || *status == 429,
            GoogleError::Key(_) | GoogleError::Malformed(_) => false,
        }
    }
}

/// The parts of a service account's JSON key Registrar uses.
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key: String,
    #[serde(default = "google_token_uri")]
    pub token_uri: String,
}

fn google_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_string()
}

/// Where the APIs are (Google's own, or a simulator).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub sheets: String,
    pub drive: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            sheets: "https://sheets.googleapis.com".into(),
            drive: "https://www.googleapis.com".into(),
        }
    }
}

/// A push-notification channel Drive opened.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Channel {
    pub id: String,
    #[serde(rename = "resourceId")]
    pub resource_id: String,
    /// Milliseconds since the epoch, as a string.
    pub expiration: Option<String>,
}

/// A range of a spreadsheet's first worksheet only Registrar may edit (a person is warned
/// before editing a `warning_only` one). Indexes are 0-based, ends exclusive; `None` is
/// unbounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    pub description: String,
    pub rows: (Option<u32>, Option<u32>),
    pub columns: (Option<u32>, Option<u32>),
    pub warning_only: bool,
}

pub struct Google {
    account: ServiceAccount,
    key: ring::signature::RsaKeyPair,
    endpoints: Endpoints,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

/// The DER inside a PEM block.
pub fn pem_der(pem: &str) -> Result<Vec<u8>, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    STANDARD.decode(body).map_err(|e| e.to_string())
}

/// A range as one URL path segment: a worksheet title may hold `#`, `?`, `/` or spaces.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'!'
            | b'\''
            | b':'
            | b'@' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn error_of(e: reqwest::Error) -> GoogleError {
    GoogleError::Network(e.without_url().to_string())
}

impl Google {
    pub fn new(account: ServiceAccount, endpoints: Endpoints) -> Result<Self, GoogleError> {
        let der = pem_der(&account.private_key).map_err(GoogleError::Key)?;
        let key = ring::signature::RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| GoogleError::Key(e.to_string()))?;
        Ok(Self {
            account,
            key,
            endpoints,
            http: crate::http_client(30, reqwest::redirect::Policy::none()),
            token: Mutex::new(None),
        })
    }

    /// The signed assertion for the token endpoint.
    fn assertion(&self) -> Result<String, GoogleError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            json!({
                "iss": self.account.client_email,
                "scope": SCOPES,
                "aud": self.account.token_uri,
                "iat": now,
                "exp": now + 3600,
            })
            .to_string(),
        );
        let signing_input = format!("{header}.{claims}");
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| GoogleError::Key(e.to_string()))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    async fn access_token(&self) -> Result<String, GoogleError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
            expires_in: u64,
        }
        let assertion = self.assertion()?;
        let response = self
            .http
            .post(&self.account.token_uri)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(error_of)?;
        let token: Token = Self::read(response).await.and_then(|v| {
            serde_json::from_value(v).map_err(|e| GoogleError::Malformed(e.to_string()))
        })?;
        let lifetime = Duration::from_secs(token.expires_in.saturating_sub(60).max(1));
        *cached = Some((token.access_token.clone(), Instant::now() + lifetime));
        Ok(token.access_token)
    }

    async fn read(response: reqwest::Response) -> Result<Value, GoogleError> {
        let status = response.status();
        let body = response.text().await.map_err(error_of)?;
        if !status.is_success() {
            return Err(GoogleError::Status {
                status: status.as_u16(),
                body: body.chars().take(500).collect(),
            });
        }
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).map_err(|e| GoogleError::Malformed(e.to_string()))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, GoogleError> {
        let token = self.access_token().await?;
        let response = request.bearer_auth(token).send().await.map_err(error_of)?;
        Self::read(response).await
    }

    /// The cells of a range (`Refunds!A4:O`), row by row, as the sheet shows them.
    pub async fn values(
        &self,
        spreadsheet: &str,
        range: &str,
    ) -> Result<Vec<Vec<String>>, GoogleError> {
        let url = format!(
            "{}/v4/spreadsheets/{spreadsheet}/values/{}",
            self.endpoints.sheets,
            path_segment(range)
        );
        let answer = self.send(self.http.get(url)).await?;
        let rows = answer
            .get("values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(rows
            .iter()
            .map(|row| {
                row.as_array()
                    .into_iter()
                    .flatten()
                    .map(|cell| match cell {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect())
    }

    /// Writes several ranges at once (`values:batchUpdate`), as a person would type them
    /// (dates become dates).
    pub async fn write(
        &self,
        spreadsheet: &str,
        ranges: &[(String, Vec<Vec<String>>)],
    ) -> Result<(), GoogleError> {
        self.write_as(spreadsheet, ranges, "USER_ENTERED").await
    }

    /// Writes several ranges as plain text, read back exactly as written.
    pub async fn write_text(
        &self,
        spreadsheet: &str,
        ranges: &[(String, Vec<Vec<String>>)],
    ) -> Result<(), GoogleError> {
        self.write_as(spreadsheet, ranges, "RAW").await
    }

    async fn write_as(
        &self,
        spreadsheet: &str,
        ranges: &[(String, Vec<Vec<String>>)],
        input: &str,
    ) -> Result<(), GoogleError> {
        if ranges.is_empty() {
            return Ok(());
        }
        let data: Vec<Value> = ranges
            .iter()
            .map(|(range, values)| json!({"range": range, "majorDimension": "ROWS", "values": values}))
            .collect();
        let url = format!(
            "{}/v4/spreadsheets/{spreadsheet}/values:batchUpdate",
            self.endpoints.sheets
        );
        self.send(
            self.http
                .post(url)
                .json(&json!({"valueInputOption": input, "data": data})),
        )
        .await
        .map(|_| ())
    }

    /// Opens a push-notification channel on a file (`files.watch`): Drive will post to
    /// `address` with `token` in `X-Goog-Channel-Token` until `expiration_ms`.
    pub async fn watch(
        &self,
        file: &str,
        channel_id: &str,
        address: &str,
        token: &str,
        expiration_ms: i64,
    ) -> Result<Channel, GoogleError> {
        let url = format!(
            "{}/drive/v3/files/{file}/watch?supportsAllDrives=true",
            self.endpoints.drive
        );
        let body = json!({
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": token,
            "expiration": expiration_ms.to_string(),
            "payload": true,
        });
        let answer = self.send(self.http.post(url).json(&body)).await?;
        serde_json::from_value(answer).map_err(|e| GoogleError::Malformed(e.to_string()))
    }

    /// Creates an empty spreadsheet (one worksheet, `Sheet1`) in a Drive folder; its id.
    pub async fn create_spreadsheet(
        &self,
        title: &str,
        folder: Option<&str>,
    ) -> Result<String, GoogleError> {
        let url = format!(
            "{}/drive/v3/files?supportsAllDrives=true",
            self.endpoints.drive
        );
        let mut body = json!({
            "name": title,
            "mimeType": "application/vnd.google-apps.spreadsheet",
        });
        if let Some(folder) = folder {
            body["parents"] = json!([folder]);
        }
        let answer = self.send(self.http.post(url).json(&body)).await?;
        answer["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| GoogleError::Malformed("a created file without an id".into()))
    }

    /// Protects ranges of the first worksheet, Registrar's service account their only editor.
    pub async fn protect(
        &self,
        spreadsheet: &str,
        protections: &[Protection],
    ) -> Result<(), GoogleError> {
        let requests: Vec<Value> = protections
            .iter()
            .map(|p| {
                let mut range = json!({"sheetId": 0});
                for (key, value) in [
                    ("startRowIndex", p.rows.0),
                    ("endRowIndex", p.rows.1),
                    ("startColumnIndex", p.columns.0),
                    ("endColumnIndex", p.columns.1),
                ] {
                    if let Some(value) = value {
                        range[key] = json!(value);
                    }
                }
                let mut protected = json!({
                    "range": range,
                    "description": p.description,
                    "warningOnly": p.warning_only,
                });
                if !p.warning_only {
                    protected["editors"] = json!({"users": [self.account.client_email]});
                }
                json!({"addProtectedRange": {"protectedRange": protected}})
            })
            .collect();
        let url = format!(
            "{}/v4/spreadsheets/{spreadsheet}:batchUpdate",
            self.endpoints.sheets
        );
        self.send(self.http.post(url).json(&json!({"requests": requests})))
            .await
            .map(|_| ())
    }

    /// Lets a person edit a file (no notification email; sharing again changes nothing).
    pub async fn share(&self, file: &str, email: &str) -> Result<(), GoogleError> {
        let url = format!(
            "{}/drive/v3/files/{file}/permissions?sendNotificationEmail=false&supportsAllDrives=true",
            self.endpoints.drive
        );
        let body = json!({"type": "user", "role": "writer", "emailAddress": email});
        self.send(self.http.post(url).json(&body)).await.map(|_| ())
    }

    /// Sets a file's app properties (private key-value notes other apps can read).
    pub async fn set_app_properties(
        &self,
        file: &str,
        properties: &[(&str, String)],
    ) -> Result<(), GoogleError> {
        let url = format!(
            "{}/drive/v3/files/{file}?supportsAllDrives=true",
            self.endpoints.drive
        );
        let properties: serde_json::Map<String, Value> = properties
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        self.send(
            self.http
                .patch(url)
                .json(&json!({"appProperties": properties})),
        )
        .await
        .map(|_| ())
    }
}
