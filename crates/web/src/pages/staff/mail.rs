//! Mail sent, with the delivery status the mail provider reported (`/staff/mail/`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{StaffMember, meta};
use crate::AppState;
use crate::error::PageError;
use crate::pages::{Meta, assets, render, text};

pub struct MailRow {
    pub sent: String,
    pub recipient: String,
    pub subject: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "staff/mail.html")]
struct MailPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    events: bool,
    messages: Vec<MailRow>,
}

pub async fn page(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
) -> Result<Response, PageError> {
    let sent = store::mail::recent(state.store.db(), 200).await?;
    let messages = sent
        .into_iter()
        .map(|m| MailRow {
            sent: m.sent_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            recipient: m.recipient,
            subject: m.subject,
            status: match (m.status, m.status_at) {
                (Some(status), Some(at)) => format!(
                    "{status} {}{}",
                    text::date(at),
                    m.status_detail
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ),
                _ => "sent".to_string(),
            },
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &MailPage {
            meta: meta(&state, "/staff/mail/", "Mail", Some(who), false),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            events: state.settings.mail_events_key.is_some(),
            messages,
        },
    ))
}
