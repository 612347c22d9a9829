//! Learners for staff (`/staff/users/`): the list, one learner's enrollments, Open edX
//! state, export screenings and certificates, and what staff do for them: re-sync with
//! Open edX, approve a screening by hand, revoke or restore a certificate, move an
//! enrollment to another run.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::compliance::ComputedResult;

use super::{StaffMember, meta};
use crate::AppState;
use crate::error::PageError;
use crate::pages::{Flash, Meta, assets, render, text};
use crate::request::Params;

pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub username: String,
    pub verified: &'static str,
    pub edx: String,
    pub joined: String,
}

#[derive(Template)]
#[template(path = "staff/users.html")]
struct UsersPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    users: Vec<UserRow>,
}

fn edx_state(account: Option<store::openedx::EdxAccount>) -> String {
    match account {
        Some(a) if a.has_been_synced => {
            format!("in Open edX as {}", a.edx_username.unwrap_or_default())
        }
        Some(a) => format!("not in Open edX: {}", a.sync_error.unwrap_or_default()),
        None => "not in Open edX yet".to_string(),
    }
}

pub async fn users(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
) -> Result<Response, PageError> {
    let db = state.store.db();
    let list = store::accounts::list(db, 500).await?;
    let mut users = Vec::with_capacity(list.len());
    for user in list {
        let account = store::openedx::account(db, user.id).await?;
        users.push(UserRow {
            id: user.id,
            email: user.email,
            username: user.username,
            verified: if user.email_verified { "yes" } else { "no" },
            edx: edx_state(account),
            joined: text::date(user.created_on),
        });
    }
    Ok(render(
        StatusCode::OK,
        &UsersPage {
            meta: meta(&state, "/staff/users/", "Users", Some(who), false),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            users,
        },
    ))
}

#[derive(Template)]
#[template(path = "staff/user.html")]
struct UserPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    user: store::accounts::User,
    verified: &'static str,
    compliance: &'static str,
    screenings: Vec<String>,
    approvable: bool,
    edx: String,
    enrollments: Vec<String>,
    /// Runs the learner is enrolled in now, which a deferral can move from.
    active_runs: Vec<String>,
    certificates: Vec<crate::pages::certificates::Shown>,
}

pub async fn user(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let db = state.store.db();
    let Some(user) = store::accounts::find(db, id).await? else {
        return Err(PageError::not_found(format!("There is no user {id}.")));
    };
    let account = store::openedx::account(db, id).await?;
    let rows = store::enrollments::of_user(db, id).await?;
    let inquiries = store::compliance::of_user(db, id).await?;
    let snapshot = state.catalog.get().await?;
    let enrollments = rows
        .iter()
        .map(|e| {
            let run = snapshot
                .view
                .run(e.run_id)
                .map(|(_, r)| r.courseware_id.clone())
                .unwrap_or_default();
            let edx = if e.edx_enrolled {
                "in Open edX".to_string()
            } else {
                format!(
                    "not in Open edX{}",
                    e.edx_error
                        .as_ref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )
            };
            let status = if e.active {
                "enrolled".to_string()
            } else {
                e.change_status.clone().unwrap_or_default()
            };
            format!("{run} · {} · {status} · {edx}", e.mode)
        })
        .collect();
    let active_runs = rows
        .iter()
        .filter(|e| e.active)
        .filter_map(|e| {
            snapshot
                .view
                .run(e.run_id)
                .map(|(_, r)| r.courseware_id.clone())
        })
        .collect();
    let latest = inquiries.first().map(|i| i.computed_result);
    let compliance = match (user.is_active, latest) {
        (true, _) => "active",
        (false, Some(ComputedResult::Denied)) => "inactive: the screening denied this account",
        (false, Some(_)) => "inactive: the screening could not decide; review it",
        (false, None) => "inactive: awaiting the export-compliance screening",
    };
    let screenings = inquiries
        .iter()
        .map(|i| {
            format!(
                "{} · {} · reason {} · info code {}",
                text::date(i.created_on),
                i.computed_result,
                i.reason_code.map(|c| c.to_string()).unwrap_or_default(),
                i.info_code.as_deref().unwrap_or("none")
            )
        })
        .collect();
    let certificates = store::certificates::of_user(db, id)
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|c| crate::pages::certificates::shown(&snapshot.view, c, user.name.clone()))
        .collect();
    let params = Params::parse(query.as_deref());
    let flash = if params.get("resynced").is_some() {
        Some("Re-sync queued.")
    } else if params.get("certificate").is_some() {
        Some("Certificate updated.")
    } else if params.get("deferred").is_some() {
        Some("Enrollment moved; Open edX is being told.")
    } else if params.get("approved").is_some() {
        Some("Approved manually; the account is active.")
    } else {
        None
    };
    let mut page_meta = meta(
        &state,
        &format!("/staff/users/{id}"),
        &user.email,
        Some(who),
        false,
    );
    page_meta.flash = flash.map(|message| Flash {
        kind: "ok",
        message: message.to_string(),
    });
    Ok(render(
        StatusCode::OK,
        &UserPage {
            meta: page_meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            verified: if user.email_verified {
                "email verified"
            } else {
                "email not verified"
            },
            approvable: !user.is_active && latest.is_some_and(|r| !r.clears()),
            compliance,
            screenings,
            edx: edx_state(account),
            enrollments,
            active_runs,
            certificates,
            user,
        },
    ))
}

/// Revokes a learner's certificate with a reason, or (`restore`) makes it valid again.
pub async fn certificate_action(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path((id, uuid, action)): Path<(i64, String, String)>,
    axum::Form(values): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let db = state.store.db();
    let found = match store::certificates::by_any_uuid(db, &uuid).await? {
        Some(c) if c.user_id == id => c,
        _ => {
            return Err(PageError::not_found(
                "This learner has no such certificate.",
            ));
        }
    };
    let reason = values.get("reason").map(|r| r.trim()).unwrap_or_default();
    let change = match action.as_str() {
        "revoke" if reason.is_empty() => {
            return Err(PageError::bad_request("A revocation needs a reason."));
        }
        "revoke" => Some(reason),
        "restore" => None,
        _ => return Err(PageError::Refused(StatusCode::NOT_FOUND, None)),
    };
    services::certificates::set_revoked(&state.store, id, found.of, change).await?;
    tracing::info!(staff = %who, user = id, certificate = %uuid, %action, reason, "certificate changed");
    Ok(Redirect::to(&format!("/staff/users/{id}?certificate=1")).into_response())
}

/// Clears a learner the export screening denied or could not judge.
pub async fn approve(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let result = async {
        let Some(user) = store::accounts::find(state.store.db(), id).await? else {
            return Ok(None);
        };
        services::compliance::approve_manually(
            &state.store,
            user,
            state.settings.onboarding.provision_openedx,
            state.now(),
        )
        .await?;
        Ok::<_, services::compliance::ApprovalError>(Some(()))
    }
    .await;
    match result {
        Ok(Some(())) => {
            tracing::info!(staff = %who, user = id, "export compliance approved manually");
            Ok(Redirect::to(&format!("/staff/users/{id}?approved=1")).into_response())
        }
        Ok(None) => Err(PageError::not_found(format!("There is no user {id}."))),
        Err(services::compliance::ApprovalError::Db(error)) => Err(error.into()),
        Err(refused) => Err(PageError::conflict(refused.to_string())),
    }
}

/// Queues the user's edX account and every active enrollment edX lacks; the jobs'
/// unique keys make repeated clicks harmless.
pub async fn resync(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    services::openedx::resync(&state.store, id).await?;
    tracing::info!(staff = %who, user = id, "edX re-sync queued");
    Ok(Redirect::to(&format!("/staff/users/{id}?resynced=1")).into_response())
}

#[derive(serde::Deserialize)]
pub struct DeferForm {
    from: String,
    to: String,
    #[serde(default)]
    force: Option<String>,
}

/// Moves a learner's enrollment to another run (the staff side of deferral requests).
pub async fn defer(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
    Form(form): Form<DeferForm>,
) -> Result<Response, PageError> {
    let snapshot = state.catalog.get().await?;
    let moved = services::enrollments::defer(
        &state.store,
        &snapshot.view,
        &state.settings.base_url,
        id,
        &form.from,
        &form.to,
        form.force.is_some(),
        state.now(),
    )
    .await;
    match moved {
        Ok(_) => {
            tracing::info!(staff = %who, user = id, from = %form.from, to = %form.to, "enrollment deferred");
            Ok(Redirect::to(&format!("/staff/users/{id}?deferred=1")).into_response())
        }
        Err(services::enrollments::DeferError::Db(error)) => Err(error.into()),
        Err(refused) => Err(PageError::bad_request(format!(
            "The enrollment was not moved: {refused}."
        ))),
    }
}
