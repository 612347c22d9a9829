//! HubSpot, as both references sync it (xPRO §9, MITx Online §10.1): contacts for
//! learners, products for what is sold, a deal with its line item for each order and bulk
//! purchase, associated to the buyer's contact. Each object is keyed in HubSpot by a
//! unique property (`email` for a new contact, `unique_app_id` for Registrar's own
//! objects); what was sent is recorded with a digest, so an unchanged object is not sent
//! again.
//!
//! Bursts coalesce: a change to a learner marks the contact and queues one keyed, slightly
//! delayed sweep that sends every marked contact in batches of 100; a deal's sync is keyed
//! per order, so it reads the order as it then stands. A 429 is waited out as HubSpot asks;
//! a longer limit, or an outage, fails the job, which is retried while the marks stay:
//! nothing is lost. Without a HubSpot token, nothing is sent.
//!
//! The account's settings are in `account`, and each kind of object has its file:
//! `contacts`, `products`, `deals`, `certificates` and `signup_form`; the helpers they
//! share are here.

mod account;
mod certificates;
mod contacts;
mod deals;
mod products;
mod signup_form;

pub use account::{Crm, SignUpForm, Stages};
pub use certificates::{ArchiveCertificates, SyncCertificates};
pub use contacts::{SyncContacts, contact_changed};
pub use deals::{Deal, SyncDeal};
pub use products::{PRODUCTS_DELAY, SyncProducts};
pub use signup_form::SubmitSignUpForm;

use integrations::hubspot::HubSpotError;
use jobs::JobError;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

fn hubspot_error(e: HubSpotError) -> JobError {
    if e.is_transient() {
        JobError::Retry(e.to_string())
    } else {
        JobError::Permanent(e.to_string())
    }
}

fn digest(properties: &Map<String, Value>) -> String {
    let bytes = serde_json::to_vec(properties).expect("JSON serializes");
    format!("{:x}", Sha256::digest(bytes))
}

fn money(minor: i64) -> String {
    domain::Money::from_minor(minor).to_string()
}
