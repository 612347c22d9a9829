//! Google's token endpoint, Sheets v4 values and protected ranges, and Drive v3 files
//! (spreadsheets created in a folder, permissions, app properties, watch channels), in
//! memory. The token endpoint checks the service account's RS256 assertion against the
//! simulator's own key pair (a test key, never a real one). Every change to a spreadsheet,
//! the app's own write-back included (as Drive does), posts a push notification to each
//! open channel on the file.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::escape;

/// The simulated service account's email.
pub const CLIENT_EMAIL: &str = "registrar-sim@registrar-demo.iam.gserviceaccount.com";

/// The simulated service account's private key: generated for the simulator, it signs
/// nothing anywhere else.
pub const KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDhEr+ABFsYy2Fk\n\
uY1MMrI4dS6mm8m92RI3HZ+2jiFhk4bgVS+Ah0fdaDdImc8Fi9zTsu6EnA47GgAn\n\
f61IQ3IbkziDa441vzDnOql3TFSytB2L6DosCYDqM/RgOcPbkLMp/cnBSEApi8ZP\n\
epZL5Xggc0fCF6gEh35vUmkh51f1Dx2ydj0XabYISMAtnfWneSPsaWIcskn66sUz\n\
AlGNt7VUGFmLpvEYCWbATAY8fP/jmxGN0m4wglA0eVbIzx5pEwENOINVIel5rpzU\n\
Lg2rhNMPB41Jm5ZFxFkvvbVZoWOM6hcCOJjywJp5FOjo+sm/2X3mqovX0SplX/JV\n\
LzLBbdZ1AgMBAAECggEAAeZ6n3C/TtJIxuTvgHkycATtQ+gvfTQxUdh6L2cRI8Bv\n\
HxhuXOjHfo28CcI4BpVLuViFaFvjnYl2qYlhGSnDSOBRVdVj+f2HQtcynxiR49W0\n\
JNOXyiS6Zep9DGLweGYcXSUQva+yevynIVH+UDMRHz+vQhWZDDtood/8QJZcyRY3\n\
iDUfFtqEtwWcWRdaP10P/Q3pSYJ0B69aifYQL9LHreAzu54A8PHvjIUvb1XuhgkP\n\
V81ZnlTHmEaAjLei2b6YSzIYkI0TsbMlKeJDxPcb7w9EzwZNsAMA8cuO2IFL04KR\n\
SmTK/j8Ja97BEKb+k9+wVNFBG1xDayl9lqv2Wwib8QKBgQDzUsk7biAvGxuJmP8J\n\
pjGZFnoWo8G83+9Ss5mWdYhf3tSyhvL2Sd5xGI0uZYXprTZI9OZ3FOhG10mOmA63\n\
kLPki+xidzvGi3czBCsdhZxumBAGY9/XbVKb/EKGtfIOWvuz/8s1hcXspWJVgwaO\n\
QDlqHcSege5Cfha2sVAWAcAXcwKBgQDszI8a9uK1tm7khVZv/eXCm6/obLjwDHZo\n\
ouipkPO6UihiA0hi7On1wLKGyf7c2+gn0B6CDOvORgJec0mL1doooYCsSbVKW/Bh\n\
7x6MkmDh606Q8KGB8C6syv+DHv4jeP9J49qMlV7D7EqCZosathhFhE8jVd6JK/Rf\n\
9dBy9TVQdwKBgBBjXQZRrn09uCcWVOcTeHe1Gdf4g43zDy1kx01o8Rxz56N2j1qj\n\
MwYu/yNG1zQb5HIZfIQ8tkA/M8cU2rjmWBdmjS88lJwUvJyFBVphq12PhFTJ2UOr\n\
K0syPFDSZFEvM5C2A7vBHMmJggv8XS6riLJq+tkqKx/zWhhH7Prudz+dAoGAHdz6\n\
WzMxiisUtxsduIfzluRdfdlgRV28/Rs2blQKeL/tudaiJV+tbcG8ggUtcBsHnyW/\n\
AzWv81ae69xsNQdmOOONP60YAOWxXhhy6NV5BGTRhrPiGmn46O+844NgF4cl4uKq\n\
aDpaNikxiFp4RokabIHwHQuyQehaLFPq0uSbsacCgYBjYzCdbeACFIvE/d54KAK6\n\
240qopnDthLH+IRUkj485ZyyBsM8mFGMdAbqiPCOpkDnqmLRz/fYvtopBqQon56a\n\
3PSdWlWOW+9fb3IvxaIpgFNNpDPhy0CKzBY2aUhdUQ9AM74KZ10aikV6M0/ya4+Z\n\
3zorXay3/lSQg3xeWjnWHg==\n\
-----END PRIVATE KEY-----\n\
";

/// The service account key file the simulator accepts, for its token endpoint at `token_uri`.
pub fn service_account(token_uri: &str) -> integrations::google::ServiceAccount {
    integrations::google::ServiceAccount {
        client_email: CLIENT_EMAIL.to_string(),
        private_key: KEY_PEM.to_string(),
        token_uri: token_uri.to_string(),
    }
}

/// A client of the simulator serving at `url`, signed in as the simulated account.
pub fn client(url: &str) -> integrations::google::Google {
    integrations::google::Google::new(
        service_account(&format!("{url}/token")),
        integrations::google::Endpoints {
            sheets: url.to_string(),
            drive: url.to_string(),
        },
    )
    .expect("the simulator's key reads")
}

/// A channel a file is watched through.
#[derive(Debug, Clone)]
struct Watch {
    file: String,
    id: String,
    address: String,
    token: String,
}

/// A push notification delivered, and the app's answer (0: unreachable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub file: String,
    pub channel: String,
    pub status: u16,
}

/// A spreadsheet's worksheets by title, each rows of cells.
type Spreadsheet = BTreeMap<String, Vec<Vec<String>>>;

/// What Drive knows of a file the app created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub parents: Vec<String>,
    /// Emails the file is shared with.
    pub shared_with: Vec<String>,
    pub app_properties: BTreeMap<String, String>,
    pub protected: Vec<Protected>,
}

/// A protected range of the first worksheet: rows and columns 0-based, ends exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    pub description: String,
    pub rows: (usize, usize),
    pub columns: (usize, usize),
    pub warning_only: bool,
}

impl Protected {
    fn covers(&self, row: usize, column: usize) -> bool {
        (self.rows.0..self.rows.1).contains(&row)
            && (self.columns.0..self.columns.1).contains(&column)
    }
}

#[derive(Default)]
pub struct Google {
    /// Spreadsheets by id: their worksheets by title, rows of cells.
    sheets: Mutex<BTreeMap<String, Spreadsheet>>,
    files: Mutex<BTreeMap<String, File>>,
    watches: Mutex<Vec<Watch>>,
    tokens: Mutex<Vec<String>>,
    issued: AtomicU32,
    pub pushed: Mutex<Vec<Pushed>>,
    /// Where the simulator posts from (set when mounted in a process that serves itself).
    http: Mutex<Option<reqwest::Client>>,
}

/// A cell reference's column letters as a 0-based index.
fn column(letters: &str) -> usize {
    letters.bytes().fold(0, |n, b| {
        n * 26 + (b.to_ascii_uppercase() - b'A' + 1) as usize
    }) - 1
}

/// (worksheet, first row 1-based, first column, last column) of `Title!A4:O` or `Title!M5`.
fn parse_range(range: &str) -> Option<(String, usize, usize, Option<usize>)> {
    let (title, cells) = range.rsplit_once('!')?;
    let title = title.trim_matches('\'').to_string();
    let (from, to) = match cells.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (cells, None),
    };
    let split = |cell: &str| {
        let letters: String = cell.chars().take_while(char::is_ascii_alphabetic).collect();
        let digits: String = cell.chars().skip_while(char::is_ascii_alphabetic).collect();
        (letters, digits.parse::<usize>().ok())
    };
    let (from_col, from_row) = split(from);
    let to_col = to.map(|t| column(&split(t).0));
    Some((
        title,
        from_row.unwrap_or(1).max(1),
        column(&from_col),
        to_col,
    ))
}

impl Google {
    /// Creates (or replaces) a worksheet's rows.
    pub fn set_sheet(&self, spreadsheet: &str, title: &str, rows: Vec<Vec<String>>) {
        self.sheets
            .lock()
            .expect("simulator lock")
            .entry(spreadsheet.to_string())
            .or_default()
            .insert(title.to_string(), rows);
    }

    pub fn rows(&self, spreadsheet: &str, title: &str) -> Vec<Vec<String>> {
        self.sheets
            .lock()
            .expect("simulator lock")
            .get(spreadsheet)
            .and_then(|s| s.get(title))
            .cloned()
            .unwrap_or_default()
    }

    /// What Drive knows of a file the app created.
    pub fn file(&self, id: &str) -> Option<File> {
        self.files.lock().expect("simulator lock").get(id).cloned()
    }

    /// Ids of the files created in a folder.
    pub fn files_in(&self, folder: &str) -> Vec<String> {
        self.files
            .lock()
            .expect("simulator lock")
            .iter()
            .filter(|(_, f)| f.parents.iter().any(|p| p == folder))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Sets cells from `column` on a row (1-based), as a person typing would; Drive then
    /// notifies the file's channels. A person cannot change a cell of a protected range
    /// of the first worksheet (unless the protection only warns).
    pub async fn edit(
        &self,
        spreadsheet: &str,
        title: &str,
        row: usize,
        column: usize,
        cells: &[String],
    ) -> Result<(), String> {
        let first = self
            .sheets
            .lock()
            .expect("simulator lock")
            .get(spreadsheet)
            .and_then(|s| s.keys().next().cloned());
        if first.as_deref() == Some(title) {
            let current = self.rows(spreadsheet, title);
            let files = self.files.lock().expect("simulator lock");
            let protected = files
                .get(spreadsheet)
                .map(|f| f.protected.clone())
                .unwrap_or_default();
            for (i, cell) in cells.iter().enumerate() {
                let (r, c) = (row - 1, column + i);
                let before = current
                    .get(r)
                    .and_then(|cells| cells.get(c))
                    .map_or("", String::as_str);
                if let Some(p) = protected.iter().find(|p| !p.warning_only && p.covers(r, c))
                    && before != cell
                {
                    return Err(format!("The cell is protected ({}).", p.description));
                }
            }
        }
        self.put(spreadsheet, title, row, column, cells);
        self.notify(spreadsheet).await;
        Ok(())
    }

    fn put(&self, spreadsheet: &str, title: &str, row: usize, column: usize, cells: &[String]) {
        {
            let mut sheets = self.sheets.lock().expect("simulator lock");
            let rows = sheets
                .entry(spreadsheet.to_string())
                .or_default()
                .entry(title.to_string())
                .or_default();
            while rows.len() < row {
                rows.push(Vec::new());
            }
            let target = &mut rows[row - 1];
            while target.len() < column + cells.len() {
                target.push(String::new());
            }
            for (i, cell) in cells.iter().enumerate() {
                target[column + i] = cell.clone();
            }
        }
    }

    /// Posts a change notification to every channel watching the file.
    pub async fn notify(&self, spreadsheet: &str) {
        let watches: Vec<Watch> = self
            .watches
            .lock()
            .expect("simulator lock")
            .iter()
            .filter(|w| w.file == spreadsheet)
            .cloned()
            .collect();
        let http = self
            .http
            .lock()
            .expect("simulator lock")
            .get_or_insert_with(|| integrations::http_client(10, reqwest::redirect::Policy::none()))
            .clone();
        for (n, watch) in watches.into_iter().enumerate() {
            let status = http
                .post(&watch.address)
                .header("X-Goog-Channel-ID", &watch.id)
                .header("X-Goog-Channel-Token", &watch.token)
                .header("X-Goog-Resource-ID", format!("res-{spreadsheet}"))
                .header("X-Goog-Resource-State", "update")
                .header("X-Goog-Message-Number", (n + 2).to_string())
                .send()
                .await
                .map_or(0, |r| r.status().as_u16());
            self.pushed.lock().expect("simulator lock").push(Pushed {
                file: spreadsheet.to_string(),
                channel: watch.id,
                status,
            });
        }
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        self.tokens
            .lock()
            .expect("simulator lock")
            .iter()
            .any(|t| t == token)
    }
}

fn google_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": {"code": status.as_u16(), "message": message, "status": status.canonical_reason()}}))).into_response()
}

/// Checks an RS256 assertion against the simulator's key and its claims.
fn assertion_ok(assertion: &str) -> bool {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return false;
    };
    let Ok(der) = integrations::google::pem_der(KEY_PEM) else {
        return false;
    };
    let Ok(pair) = ring::signature::RsaKeyPair::from_pkcs8(&der) else {
        return false;
    };
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        pair.public().as_ref().to_vec(),
    );
    let (Ok(signature), Ok(claims)) = (
        URL_SAFE_NO_PAD.decode(signature),
        URL_SAFE_NO_PAD.decode(claims),
    ) else {
        return false;
    };
    let signed = public
        .verify(format!("{header}.{}", parts[1]).as_bytes(), &signature)
        .is_ok();
    let claims: Value = serde_json::from_slice(&claims).unwrap_or_default();
    signed
        && claims["iss"] == CLIENT_EMAIL
        && claims["exp"]
            .as_i64()
            .is_some_and(|exp| exp > Utc::now().timestamp())
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: String,
    assertion: String,
}

async fn token(State(state): State<Arc<Google>>, Form(request): Form<TokenRequest>) -> Response {
    if request.grant_type != "urn:ietf:params:oauth:grant-type:jwt-bearer"
        || !assertion_ok(&request.assertion)
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})),
        )
            .into_response();
    }
    let token = format!("ya29.sim-{}", state.issued.fetch_add(1, Ordering::SeqCst));
    state
        .tokens
        .lock()
        .expect("simulator lock")
        .push(token.clone());
    Json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

async fn values(
    State(state): State<Arc<Google>>,
    headers: HeaderMap,
    Path((id, range)): Path<(String, String)>,
) -> Response {
    if !state.authorized(&headers) {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "Request had invalid authentication credentials.",
        );
    }
    let Some((title, first_row, first_col, last_col)) = parse_range(&range) else {
        return google_error(
            StatusCode::BAD_REQUEST,
            &format!("Unable to parse range: {range}"),
        );
    };
    let sheets = state.sheets.lock().expect("simulator lock");
    let Some(rows) = sheets.get(&id).and_then(|s| s.get(&title)) else {
        return google_error(StatusCode::NOT_FOUND, "Requested entity was not found.");
    };
    let values: Vec<Vec<String>> = rows
        .iter()
        .skip(first_row - 1)
        .map(|row| {
            let end = last_col.map_or(row.len(), |c| (c + 1).min(row.len()));
            let mut cells: Vec<String> = row
                .get(first_col.min(end)..end)
                .unwrap_or_default()
                .to_vec();
            while cells.last().is_some_and(String::is_empty) {
                cells.pop();
            }
            cells
        })
        .collect();
    Json(json!({"range": range, "majorDimension": "ROWS", "values": values})).into_response()
}

#[derive(Deserialize)]
struct ValueRange {
    range: String,
    values: Vec<Vec<Value>>,
}

#[derive(Deserialize)]
struct BatchUpdate {
    data: Vec<ValueRange>,
}

async fn batch_update(
    State(state): State<Arc<Google>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(batch): Json<BatchUpdate>,
) -> Response {
    if !state.authorized(&headers) {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "Request had invalid authentication credentials.",
        );
    }
    for data in &batch.data {
        let Some((title, row, col, _)) = parse_range(&data.range) else {
            return google_error(
                StatusCode::BAD_REQUEST,
                &format!("Unable to parse range: {}", data.range),
            );
        };
        for (offset, cells) in data.values.iter().enumerate() {
            let cells: Vec<String> = cells
                .iter()
                .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string))
                .collect();
            state.put(&id, &title, row + offset, col, &cells);
        }
    }
    state.notify(&id).await;
    Json(json!({"spreadsheetId": id, "totalUpdatedRanges": batch.data.len()})).into_response()
}

#[derive(Deserialize)]
struct WatchRequest {
    id: String,
    address: String,
    #[serde(default)]
    token: String,
    expiration: Option<String>,
}

async fn watch(
    State(state): State<Arc<Google>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(request): Json<WatchRequest>,
) -> Response {
    if !state.authorized(&headers) {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "Request had invalid authentication credentials.",
        );
    }
    if !state
        .sheets
        .lock()
        .expect("simulator lock")
        .contains_key(&id)
    {
        return google_error(StatusCode::NOT_FOUND, &format!("File not found: {id}."));
    }
    let mut watches = state.watches.lock().expect("simulator lock");
    watches.retain(|w| !(w.file == id && w.address == request.address));
    watches.push(Watch {
        file: id.clone(),
        id: request.id.clone(),
        address: request.address,
        token: request.token,
    });
    Json(json!({"kind": "api#channel", "id": request.id, "resourceId": format!("res-{id}"), "resourceUri": format!("https://www.googleapis.com/drive/v3/files/{id}"), "expiration": request.expiration})).into_response()
}

fn unauthorized() -> Response {
    google_error(
        StatusCode::UNAUTHORIZED,
        "Request had invalid authentication credentials.",
    )
}

#[derive(Deserialize)]
struct NewFile {
    name: String,
    #[serde(rename = "mimeType")]
    mime_type: String,
    #[serde(default)]
    parents: Vec<String>,
}

/// `POST /drive/v3/files`: a new, empty spreadsheet (its one worksheet is `Sheet1`).
async fn create_file(
    State(state): State<Arc<Google>>,
    headers: HeaderMap,
    Json(new): Json<NewFile>,
) -> Response {
    if !state.authorized(&headers) {
        return unauthorized();
    }
    if new.mime_type != "application/vnd.google-apps.spreadsheet" {
        return google_error(StatusCode::BAD_REQUEST, "Only spreadsheets are simulated.");
    }
    let id = format!("sheet-{}", state.issued.fetch_add(1, Ordering::SeqCst));
    state.set_sheet(&id, "Sheet1", Vec::new());
    state.files.lock().expect("simulator lock").insert(
        id.clone(),
        File {
            name: new.name.clone(),
            parents: new.parents,
            ..File::default()
        },
    );
    Json(json!({"kind": "drive#file", "id": id, "name": new.name, "mimeType": new.mime_type}))
        .into_response()
}

#[derive(Deserialize)]
struct Permission {
    #[serde(rename = "type")]
    kind: String,
    role: String,
    #[serde(rename = "emailAddress")]
    email: String,
}

/// Answers a call on a file the app created: 401 without a token, 404 for another file.
fn on_file(
    state: &Google,
    headers: &HeaderMap,
    id: &str,
    act: impl FnOnce(&mut File) -> Response,
) -> Response {
    if !state.authorized(headers) {
        return unauthorized();
    }
    match state.files.lock().expect("simulator lock").get_mut(id) {
        Some(file) => act(file),
        None => google_error(StatusCode::NOT_FOUND, &format!("File not found: {id}.")),
    }
}

/// `POST /drive/v3/files/{id}/permissions`.
async fn share(
    State(state): State<Arc<Google>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(permission): Json<Permission>,
) -> Response {
    on_file(&state, &headers, &id, |file| {
        if permission.kind != "user" || !permission.email.contains('@') {
            return google_error(StatusCode::BAD_REQUEST, "Invalid sharing request.");
        }
        if !file.shared_with.contains(&permission.email) {
            file.shared_with.push(permission.email.clone());
        }
        Json(json!({"kind": "drive#permission", "id": format!("perm-{}", permission.email), "type": "user", "role": permission.role}))
            .into_response()
    })
}

/// `PATCH /drive/v3/files/{id}`: app properties only.
async fn update_file(
    State(state): State<Arc<Google>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    on_file(&state, &headers, &id, |file| {
        for (key, value) in body["appProperties"].as_object().into_iter().flatten() {
            file.app_properties
                .insert(key.clone(), value.as_str().unwrap_or_default().to_string());
        }
        Json(json!({"kind": "drive#file", "id": id, "name": file.name})).into_response()
    })
}

/// `POST /v4/spreadsheets/{id}:batchUpdate`: `addProtectedRange` requests on the first
/// worksheet.
async fn spreadsheet_update(
    State(state): State<Arc<Google>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(id) = id.strip_suffix(":batchUpdate") else {
        return google_error(StatusCode::NOT_FOUND, "Unknown method.");
    };
    on_file(&state, &headers, id, |file| {
        let requests = body["requests"].as_array().cloned().unwrap_or_default();
        for request in &requests {
            let Some(p) = request.pointer("/addProtectedRange/protectedRange") else {
                return google_error(
                    StatusCode::BAD_REQUEST,
                    "Only addProtectedRange is simulated.",
                );
            };
            let bound =
                |key: &str, open: usize| p["range"][key].as_u64().map_or(open, |v| v as usize);
            file.protected.push(Protected {
                description: p["description"].as_str().unwrap_or_default().to_string(),
                rows: (bound("startRowIndex", 0), bound("endRowIndex", usize::MAX)),
                columns: (
                    bound("startColumnIndex", 0),
                    bound("endColumnIndex", usize::MAX),
                ),
                warning_only: p["warningOnly"].as_bool().unwrap_or(false),
            });
        }
        Json(json!({"spreadsheetId": id, "replies": vec![json!({}); requests.len()]}))
            .into_response()
    })
}

#[derive(Deserialize)]
struct Edit {
    spreadsheet: String,
    title: String,
    row: usize,
    /// The first cell's column letter (A when blank).
    #[serde(default)]
    column: String,
    /// Cells from that column, separated by `|`.
    cells: String,
}

/// `POST /_edit`: types a row into a worksheet, as a person would.
async fn edit(
    State(state): State<Arc<Google>>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    Form(form): Form<Edit>,
) -> Response {
    let cells: Vec<String> = form
        .cells
        .split('|')
        .map(|c| c.trim().to_string())
        .collect();
    let letters = form.column.trim();
    let first = if letters.is_empty() || !letters.chars().all(|c| c.is_ascii_alphabetic()) {
        0
    } else {
        column(letters)
    };
    if let Err(refused) = state
        .edit(
            &form.spreadsheet,
            &form.title,
            form.row.max(1),
            first,
            &cells,
        )
        .await
    {
        return (
            StatusCode::FORBIDDEN,
            Html(format!("<p>{}</p>", escape(&refused))),
        )
            .into_response();
    }
    let page = uri.path().trim_end_matches("/_edit").to_string();
    Redirect::to(if page.is_empty() { "/" } else { &page }).into_response()
}

async fn page(
    State(state): State<Arc<Google>>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> Html<String> {
    let action = format!("{}/_edit", uri.path().trim_end_matches('/'));
    let sheets = state.sheets.lock().expect("simulator lock").clone();
    let mut body = String::new();
    for (id, worksheets) in &sheets {
        for (title, rows) in worksheets {
            body.push_str(&format!(
                "<h2>{} · {}</h2><table>",
                escape(id),
                escape(title)
            ));
            for (n, row) in rows.iter().enumerate() {
                let cells: String = row
                    .iter()
                    .map(|c| format!("<td>{}</td>", escape(c)))
                    .collect();
                body.push_str(&format!("<tr><th>{}</th>{cells}</tr>", n + 1));
            }
            body.push_str("</table>");
        }
    }
    let pushed = state.pushed.lock().expect("simulator lock").len();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Google Sheets simulator</title></head><body>\
         <h1>Google Sheets simulator</h1><p>{pushed} push notifications sent.</p>{body}\
         <h3>Type a row</h3><form method=\"post\" action=\"{action}\">\
         <label>Spreadsheet <input name=\"spreadsheet\"></label> <label>Worksheet <input name=\"title\"></label> \
         <label>Row <input name=\"row\" value=\"4\"></label> <label>From column <input name=\"column\" value=\"A\" size=\"3\"></label> <label>Cells (A | B | …) <input name=\"cells\" size=\"80\"></label> \
         <button type=\"submit\">Save row</button></form></body></html>"
    ))
}

pub fn router(state: Arc<Google>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/_edit", post(edit))
        .route("/token", post(token))
        .route("/v4/spreadsheets/{id}/values/{range}", get(values))
        .route(
            "/v4/spreadsheets/{id}/values:batchUpdate",
            post(batch_update),
        )
        .route("/v4/spreadsheets/{id}", post(spreadsheet_update))
        .route("/drive/v3/files", post(create_file))
        .route("/drive/v3/files/{id}", axum::routing::patch(update_file))
        .route("/drive/v3/files/{id}/permissions", post(share))
        .route("/drive/v3/files/{id}/watch", post(watch))
        .with_state(state)
}
