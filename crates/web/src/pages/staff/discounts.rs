//! Discounts for staff (`/staff/discounts/`): the list and search, creating one discount
//! or a batch of generated codes, and a batch's codes as CSV.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::catalog::validate::FieldErrors;
use domain::commerce::pricing::Kind;
use services::commerce::discount_admin::{self, AdminError};
use store::commerce::discounts::{self, DiscountRow};

use super::{FormField, StaffMember, meta};
use crate::AppState;
use crate::error::PageError;
use crate::pages::{Flash, Meta, assets, render, text};
use crate::request::Params;

pub struct DiscountLine {
    pub code: String,
    pub discount: String,
    pub redemption: String,
    pub window: String,
    pub scope: String,
    pub used: u32,
    pub batch: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/discounts.html")]
struct DiscountsPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    query: String,
    discounts: Vec<DiscountLine>,
    fields: Vec<FormField>,
    automatic: bool,
    bulk: bool,
    bulk_error: Option<String>,
    errors: FieldErrors,
}

fn describe(kind: Kind) -> String {
    match kind {
        Kind::PercentOff(p) => format!("{p} % off"),
        Kind::DollarsOff(m) => format!("{} off", text::price(Some(m))),
        Kind::FixedPrice(m) => format!("fixed price {}", text::price(Some(m))),
    }
}

async fn line(state: &AppState, d: DiscountRow) -> DiscountLine {
    let rules = &d.rules;
    let used = if d.bulk {
        discounts::bulk_usage(state.store.db(), d.id).await
    } else {
        discounts::usage(state.store.db(), d.id, None).await
    }
    .map(|u| u.total)
    .unwrap_or_default();
    let day = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(text::date);
    DiscountLine {
        code: d.code.clone().unwrap_or_else(|| "(automatic)".into()),
        discount: if d.bulk {
            format!("{} (bulk seat purchases)", describe(rules.kind))
        } else {
            describe(rules.kind)
        },
        redemption: if rules.max_redemptions > 0 {
            format!(
                "{}, at most {}",
                rules.redemption.name(),
                rules.max_redemptions
            )
        } else {
            rules.redemption.name().to_string()
        },
        window: match (day(rules.activation), day(rules.expiration)) {
            (None, None) => "always".into(),
            (a, e) => format!(
                "{} – {}",
                a.unwrap_or_else(|| "…".into()),
                e.unwrap_or_else(|| "…".into())
            ),
        },
        scope: match (rules.products.len(), rules.users.len()) {
            (0, 0) => "any product, anyone".into(),
            (p, u) => format!(
                "{}{}",
                if p > 0 {
                    format!("products {:?}", rules.products)
                } else {
                    "any product".into()
                },
                if u > 0 {
                    format!(", {u} learners")
                } else {
                    String::new()
                }
            ),
        },
        used,
        batch: d.batch,
    }
}

const FORM: [(&str, &str); 12] = [
    (
        "code",
        "Code (leave empty for an automatic discount or a batch)",
    ),
    ("kind", "Type"),
    (
        "amount",
        "Amount (percent for percent-off, dollars otherwise)",
    ),
    ("redemption", "Redemption"),
    (
        "max_redemptions",
        "Most redemptions in all (0 for no limit)",
    ),
    ("activation", "Active from (YYYY-MM-DD, optional)"),
    ("expiration", "Expires after (YYYY-MM-DD, optional)"),
    ("products", "Product ids (comma-separated; empty for any)"),
    ("users", "Only for these learners (emails, optional)"),
    ("payment_type", "Payment type"),
    (
        "payment_transaction",
        "Purchase order or transaction (optional)",
    ),
    (
        "count",
        "Generate this many codes (a batch; needs a prefix)",
    ),
];

async fn discounts_page(
    state: &AppState,
    who: String,
    query: &str,
    values: &HashMap<String, String>,
    errors: FieldErrors,
    flash: Option<String>,
) -> Result<Response, PageError> {
    let list = discounts::list(state.store.db(), Some(query), 200).await?;
    let mut lines = Vec::with_capacity(list.len());
    for d in list {
        lines.push(line(state, d).await);
    }
    let mut fields: Vec<FormField> = FORM
        .iter()
        .map(|(name, label)| FormField {
            name,
            label,
            value: values.get(*name).cloned().unwrap_or_default(),
            options: match *name {
                "kind" => vec!["percent-off", "dollars-off", "fixed-price"],
                "redemption" => vec!["one-time", "one-time-per-user", "unlimited"],
                "payment_type" => discount_admin::PAYMENT_TYPES.to_vec(),
                _ => Vec::new(),
            },
            error: errors.get(name).map(|m| m.join("; ")),
        })
        .collect();
    fields.insert(
        FORM.len(),
        FormField {
            name: "prefix",
            label: "Prefix of generated codes",
            value: values.get("prefix").cloned().unwrap_or_default(),
            options: Vec::new(),
            error: errors.get("prefix").map(|m| m.join("; ")),
        },
    );
    let mut page_meta = meta(state, "/staff/discounts/", "Discounts", Some(who), false);
    page_meta.flash = flash.map(|message| Flash {
        kind: "ok",
        message,
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(render(
        status,
        &DiscountsPage {
            meta: page_meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            query: query.to_string(),
            discounts: lines,
            fields,
            automatic: values.contains_key("automatic"),
            bulk: values.contains_key("bulk"),
            bulk_error: errors.get("bulk").map(|m| m.join("; ")),
            errors,
        },
    ))
}

pub async fn discounts_list(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = Params::parse(query.as_deref());
    let flash = params
        .get("created")
        .map(|n| format!("Created {n} discount(s)."));
    let q = params.get("q").unwrap_or_default().to_string();
    discounts_page(
        &state,
        who,
        &q,
        &HashMap::new(),
        FieldErrors::default(),
        flash,
    )
    .await
}

pub async fn discounts_create(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    match discount_admin::create(&state.store, &values, state.now()).await {
        Ok(created) => {
            tracing::info!(staff = %who, count = created.len(), "discounts created");
            let to = format!("/staff/discounts/?created={}", created.len());
            Ok(Redirect::to(&to).into_response())
        }
        Err(AdminError::Invalid(errors)) => {
            discounts_page(&state, who, "", &values, errors, None).await
        }
        Err(AdminError::Db(error)) => Err(error.into()),
    }
}

/// A batch's codes as CSV (xPRO `/couponcodes/<id>`: a `code` column; we add the terms).
pub async fn discounts_export(
    State(state): State<AppState>,
    StaffMember(_): StaffMember,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = Params::parse(query.as_deref());
    let Some(batch) = params.get("batch").filter(|b| !b.is_empty()) else {
        return Err(PageError::bad_request("Name a batch."));
    };
    let rows = discounts::in_batch(state.store.db(), batch).await?;
    let mut csv =
        String::from("code,discount_type,amount,redemption_type,activation_date,expiration_date\n");
    for d in rows {
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.to_rfc3339()).unwrap_or_default()
        };
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            d.code.unwrap_or_default(),
            d.rules.kind.name(),
            d.rules.kind.amount(),
            d.rules.redemption.name(),
            time(d.rules.activation),
            time(d.rules.expiration),
        ));
    }
    let file: String = batch
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"codes-{file}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}
