//! xPRO's registration form: each sign-up posted to HubSpot with the visitor's tracking
//! cookie.

use jobs::{Job, JobError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::hubspot_error;
use crate::Context;

/// xPRO's `send_user_to_hubspot`: at sign-up the new address is posted to HubSpot's
/// registration form with the visitor's `hubspotutk` cookie, so HubSpot joins the contact
/// to the visits it tracked before.
#[derive(Debug, Serialize, Deserialize)]
pub struct SubmitSignUpForm {
    pub email: String,
    pub hubspotutk: Option<String>,
}

impl Job for SubmitSignUpForm {
    const KIND: &'static str = "crm.submit_signup_form";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(crm) = ctx.crm.as_ref() else {
            return Ok(());
        };
        let Some(form) = &crm.signup_form else {
            return Ok(());
        };
        let context = json!({"hutk": self.hubspotutk}).to_string();
        crm.hubspot
            .submit_form(
                &form.url,
                &form.portal_id,
                &form.form_id,
                &[
                    ("email", self.email.as_str()),
                    ("hs_context", context.as_str()),
                ],
            )
            .await
            .map_err(hubspot_error)
    }
}
