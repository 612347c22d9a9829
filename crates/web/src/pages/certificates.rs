//! Public, verifiable certificates: `/certificate/{uuid}/` and `/certificate/program/{uuid}/`
//! (the references' paths) show the learner, what was completed, when, and the CEUs or
//! credits; a revoked certificate says so and why (the references answer 404, which leaves
//! a verifier unable to tell revoked from mistyped). Each has SVG and PDF renderings.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use store::catalog::read::CatalogView;
use store::certificates::{self as certs, Certificate, Of};

use super::account::current_user;
use super::{Meta, assets, render, text};
use crate::AppState;
use crate::error::PageError;

/// What a certificate shows.
pub struct Shown {
    pub uuid: String,
    pub learner: String,
    pub title: String,
    pub kind: &'static str,
    pub dates: Option<String>,
    pub credits: Option<String>,
    pub issued: String,
    pub revoked: Option<String>,
    /// The page's own path, the certificate's verification link.
    pub path: String,
    pub signatories: Vec<Signer>,
}

/// A signatory as a certificate shows one: the name, the title and organization below it,
/// and where its column is centred on the SVG (up to three side by side).
pub struct Signer {
    pub name: String,
    pub detail: String,
    pub x: u32,
}

fn signers(signatories: &[domain::catalog::Signatory]) -> Vec<Signer> {
    let shown = &signatories[..signatories.len().min(3)];
    let columns = shown.len() as u32;
    shown
        .iter()
        .enumerate()
        .map(|(i, s)| Signer {
            name: s.name.clone(),
            detail: [s.title.as_deref(), s.organization.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            x: 1100 * (2 * i as u32 + 1) / (2 * columns),
        })
        .collect()
}

impl Shown {
    /// Where its SVG rendering is.
    pub fn svg_path(&self) -> String {
        format!("{}.svg", self.path.trim_end_matches('/'))
    }

    /// Where its PDF is.
    pub fn pdf_path(&self) -> String {
        format!("{}.pdf", self.path.trim_end_matches('/'))
    }

    fn pdf(&self) -> Vec<u8> {
        use crate::pdf::{Line, page};
        let kind = format!("has successfully completed the {}", self.kind);
        let issued = format!("Awarded {}", self.issued);
        let id = format!("Valid Certificate ID: {}", self.uuid);
        let credits = self.credits.as_ref().map(|c| format!("{c} CEUs"));
        let revoked = self.revoked.as_ref().map(|r| format!("REVOKED: {r}"));
        let signed: Vec<String> = self
            .signatories
            .iter()
            .map(|s| match s.detail.as_str() {
                "" => format!("Signed: {}", s.name),
                detail => format!("Signed: {}, {detail}", s.name),
            })
            .collect();
        let mut lines = vec![
            Line {
                size: 18,
                bold: false,
                text: "This certifies that",
            },
            Line {
                size: 36,
                bold: true,
                text: &self.learner,
            },
            Line {
                size: 18,
                bold: false,
                text: &kind,
            },
            Line {
                size: 28,
                bold: true,
                text: &self.title,
            },
        ];
        for text in [
            self.dates.as_deref(),
            credits.as_deref(),
            Some(&issued),
            revoked.as_deref(),
        ]
        .into_iter()
        .flatten()
        .chain(signed.iter().map(String::as_str))
        .chain([id.as_str()])
        {
            lines.push(Line {
                size: 16,
                bold: false,
                text,
            });
        }
        page(&lines)
    }
}

fn span(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Option<String> {
    match (start, end) {
        (Some(s), Some(e)) => Some(format!("{} – {}", text::date(s), text::date(e))),
        (Some(s), None) => Some(format!("From {}", text::date(s))),
        _ => None,
    }
}

/// The certificate as shown, if what it is of is still in the catalog.
pub fn shown(view: &CatalogView, certificate: &Certificate, learner: String) -> Option<Shown> {
    let (title, kind, dates, page, path) = match certificate.of {
        Of::Run(run_id) => {
            let (course, run) = view.run(run_id)?;
            (
                course.title.clone(),
                "course",
                span(run.window.start, run.window.end),
                course.page.as_ref(),
                format!("/certificate/{}/", certificate.uuid),
            )
        }
        Of::Program(program_id) => {
            let program = view.program(program_id)?;
            (
                program.title.clone(),
                "program",
                span(program.start_date, program.end_date),
                program.page.as_ref(),
                format!("/certificate/program/{}/", certificate.uuid),
            )
        }
    };
    let credits = page.and_then(|p| p.credits_centi);
    Some(Shown {
        uuid: certificate.uuid.clone(),
        learner,
        title,
        kind,
        dates,
        credits: credits.map(|c| format!("{}", c as f64 / 100.0)),
        issued: text::date(certificate.issue_date),
        revoked: certificate.is_revoked.then(|| {
            certificate
                .revoke_reason
                .clone()
                .unwrap_or_else(|| "no reason recorded".into())
        }),
        path,
        signatories: page.map(|p| signers(&p.signatories)).unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct CertificatePage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    c: Shown,
}

#[derive(Template)]
#[template(path = "certificate.svg", escape = "xml")]
struct CertificateSvg {
    c: Shown,
}

async fn load(state: &AppState, uuid: &str, program: bool) -> Result<Shown, PageError> {
    let uuid = uuid.trim_end_matches(".svg").trim_end_matches(".pdf");
    let not_found = || PageError::not_found("There is no certificate with this ID.");
    let db = state.store.db();
    let Some(certificate) = certs::by_uuid(db, uuid, program).await? else {
        return Err(not_found());
    };
    let snapshot = state.catalog.get().await?;
    let Some(user) = store::accounts::find(db, certificate.user_id).await? else {
        return Err(PageError::Unexpected(
            format!(
                "certificate {uuid} belongs to user {}, who does not exist",
                certificate.user_id
            )
            .into(),
        ));
    };
    shown(&snapshot.view, &certificate, user.name).ok_or_else(not_found)
}

async fn respond(
    state: AppState,
    headers: HeaderMap,
    uuid: String,
    program: bool,
) -> Result<Response, PageError> {
    let svg = uuid.ends_with(".svg");
    let pdf = uuid.ends_with(".pdf");
    let shown = load(&state, &uuid, program).await?;
    if pdf {
        return Ok(([(header::CONTENT_TYPE, "application/pdf")], shown.pdf()).into_response());
    }
    if svg {
        let body = (CertificateSvg { c: shown })
            .render()
            .map_err(PageError::unexpected)?;
        return Ok((
            [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
            body,
        )
            .into_response());
    }
    let mut meta = Meta::new(
        &state,
        &shown.path,
        format!("Certificate: {}", shown.title),
        format!("{} completed {}", shown.learner, shown.title),
    );
    meta.signed_in = current_user(&state, &headers).await.map(|u| u.email);
    Ok(render(
        StatusCode::OK,
        &CertificatePage {
            meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            c: shown,
        },
    ))
}

/// `GET /certificate/{uuid}/` (and `{uuid}.svg`).
pub async fn course(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Response, PageError> {
    respond(state, headers, uuid, false).await
}

/// `GET /certificate/program/{uuid}/` (and `{uuid}.svg`).
pub async fn program(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Response, PageError> {
    respond(state, headers, uuid, true).await
}
