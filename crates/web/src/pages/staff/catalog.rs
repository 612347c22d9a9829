//! What the course and program editors share: the collection lists' rows, prices and
//! their history, signatories, form paths, and saving through the catalog write (the same
//! checks as the staff API), which hands back the field errors the rules found.

use axum::response::{IntoResponse, Redirect, Response};
use domain::Money;
use domain::catalog::validate::FieldErrors;
use domain::catalog::{Catalog, PageRecord, PriceVersion, ProductRecord, Signatory};
use store::catalog::write::ApplyError;

use crate::AppState;
use crate::error::PageError;
use crate::pages::text;
use crate::request::Params;

/// A course or program in its collection's list.
pub struct Row {
    pub title: String,
    pub readable_id: String,
    pub site: &'static str,
    pub runs: usize,
    pub live: bool,
}

pub(super) fn parse_price(text: &str) -> Result<Option<Money>, String> {
    let text = text.trim().trim_start_matches('$');
    if text.is_empty() {
        return Ok(None);
    }
    Money::parse(text)
        .map(Some)
        .map_err(|e| format!("\"{text}\" {e}"))
}

pub(super) fn history(product: &Option<ProductRecord>) -> Vec<String> {
    product
        .iter()
        .flat_map(|p| &p.prices)
        .map(|v| match v.created_on {
            Some(at) => format!("{} from {}", text::price(Some(v.price)), text::date(at)),
            None => text::price(Some(v.price)),
        })
        .collect()
}

pub(super) fn current_price(product: &Option<ProductRecord>) -> String {
    text::price(
        product
            .as_ref()
            .and_then(|p| p.prices.last())
            .map(|v| v.price),
    )
}

/// Adds a price as the product's new current version (creating the product if needed),
/// unless it already is the current price.
pub(super) fn set_price(product: &mut Option<ProductRecord>, price: Money, description: &str) {
    match product {
        Some(p) if p.prices.last().map(|v| v.price) == Some(price) => {}
        Some(p) => p.prices.push(PriceVersion {
            price,
            created_on: None,
        }),
        None => *product = Some(ProductRecord::priced(price, description)),
    }
}

/// `?new` on a collection page shows the empty creation form.
pub(super) fn asks_for_new(query: Option<String>) -> bool {
    Params::parse(query.as_deref()).get("new").is_some()
}

/// New records are created by posting to the collection, so a readable id such as `new`
/// never collides with the creation form.
pub(super) fn form_path(collection: &str, is_new: bool, readable_id: &str) -> String {
    if is_new {
        format!("/staff/{collection}/?new")
    } else {
        format!("/staff/{collection}/{readable_id}")
    }
}

/// Saves the record named `target` in `collection` ("courses" or "programs") and answers
/// with a redirect to its edit page, or (`Ok(Err(…))`) hands back what the catalog rules
/// rejected so the caller can show it on the form.
pub(super) async fn save(
    state: &AppState,
    who: &str,
    collection: &str,
    target: &str,
    catalog: Catalog,
) -> Result<Result<Response, FieldErrors>, PageError> {
    match crate::actions::save_catalog(state, &catalog).await {
        Ok(_) => {
            tracing::info!(staff = %who, collection, record = %target, "saved from the staff area");
            Ok(Ok(Redirect::to(&format!(
                "/staff/{collection}/{target}?saved=1"
            ))
            .into_response()))
        }
        Err(ApplyError::Invalid(errors)) => Ok(Err(errors)),
        Err(ApplyError::Db(error)) => Err(error.into()),
    }
}

/// The signatories a form lists, onto the page (made if there is none and some are given).
pub(super) fn set_signatories(page: &mut Option<PageRecord>, text: &str, errors: &mut FieldErrors) {
    match Signatory::parse_lines(text) {
        Ok(signatories) if page.is_some() || !signatories.is_empty() => {
            page.get_or_insert_with(|| PageRecord {
                live: true,
                ..PageRecord::default()
            })
            .signatories = signatories;
        }
        Ok(_) => {}
        Err(message) => errors.add("signatories", message),
    }
}
