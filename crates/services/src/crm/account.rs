//! The HubSpot account a deployment sends to: its client, the `unique_app_id` prefix, the
//! deal pipeline with its stages, and xPRO's sign-up form when there is one.

use domain::catalog::Site;
use domain::commerce::order::OrderState;
use integrations::hubspot::HubSpot;
use serde::{Deserialize, Serialize};

/// The HubSpot account and how this deployment's objects appear in it.
pub struct Crm {
    pub hubspot: HubSpot,
    /// `unique_app_id` prefix (the references' `MITOL_HUBSPOT_API_ID_PREFIX`, `XPRO`).
    pub prefix: String,
    /// The deal pipeline and its stages.
    pub pipeline: String,
    pub stages: Stages,
    /// xPRO's registration form (`HUBSPOT_PORTAL_ID`, `HUBSPOT_CREATE_USER_FORM_ID`), posted
    /// at each sign-up when set.
    pub signup_form: Option<SignUpForm>,
}

/// A HubSpot form: where its submissions go.
#[derive(Debug, Clone)]
pub struct SignUpForm {
    /// `https://forms.hubspot.com` (or a simulator).
    pub url: String,
    pub portal_id: String,
    pub form_id: String,
}

/// Deal stage ids of the pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stages {
    /// A basket checked out but not paid (xPRO "checkout abandoned").
    pub abandoned: String,
    /// Waiting for the processor (MITx Online "checkout pending").
    pub pending: String,
    /// Paid (both "processed").
    pub processed: String,
    /// Declined, errored, canceled or refunded (MITx Online's closed stage).
    pub lost: String,
}

impl Default for Stages {
    fn default() -> Self {
        Stages {
            abandoned: "checkout_abandoned".into(),
            pending: "checkout_pending".into(),
            processed: "processed".into(),
            lost: "closedlost".into(),
        }
    }
}

impl Stages {
    /// Each reference's mapping of order states (xPRO keeps declined and errored orders
    /// "abandoned" and refunded ones "processed"; MITx Online closes them).
    pub fn of(&self, site: Site, state: OrderState) -> &str {
        match (site, state) {
            (_, OrderState::Fulfilled) => &self.processed,
            (Site::Xpro, OrderState::Refunded) => &self.processed,
            (Site::Xpro, _) => &self.abandoned,
            (Site::Mitxonline, OrderState::Pending) => &self.pending,
            (Site::Mitxonline, _) => &self.lost,
        }
    }
}
