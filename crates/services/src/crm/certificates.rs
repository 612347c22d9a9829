//! MITx Online's certificate custom objects: certificates sent, associated with their
//! learners' contacts, and archived when removed.

use std::collections::HashMap;

use chrono::Utc;
use domain::catalog::Site;
use integrations::hubspot::Upsert;
use jobs::{Job, JobError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::contacts::send_contacts;
use super::{Crm, digest, hubspot_error};
use crate::Context;
use crate::certificates::Learners;

/// A certificate custom object kind: its schema name, its `unique_app_id` stem and its
/// property prefix.
struct CertificateObject {
    name: &'static str,
    stem: &'static str,
    field: &'static str,
}

impl CertificateObject {
    fn of(program: bool) -> Self {
        if program {
            CertificateObject {
                name: "program_certificate",
                stem: "pc",
                field: "program",
            }
        } else {
            CertificateObject {
                name: "course_run_certificate",
                stem: "crc",
                field: "course_run",
            }
        }
    }

    /// The schema's objectTypeId, or its name as MITx Online falls back to.
    async fn object_type(&self, crm: &Crm) -> Result<String, JobError> {
        Ok(crm
            .hubspot
            .custom_object_type(self.name)
            .await
            .map_err(hubspot_error)?
            .unwrap_or_else(|| self.name.to_string()))
    }

    fn key(&self, crm: &Crm, id: i64) -> String {
        format!("{}-{}-{id}", crm.prefix, self.stem)
    }
}

/// Certificates removed (a grade that no longer passes deletes the course certificate):
/// the objects sent for them are archived in HubSpot.
#[derive(Debug, Serialize, Deserialize)]
pub struct ArchiveCertificates {
    pub program: bool,
    pub ids: Vec<i64>,
}

impl Job for ArchiveCertificates {
    const KIND: &'static str = "crm.archive_certificates";
    const MAX_ATTEMPTS: u32 = 25;
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(crm) = ctx.crm.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        let kind = CertificateObject::of(self.program);
        let keys: Vec<String> = self.ids.iter().map(|id| kind.key(crm, *id)).collect();
        let sent = store::crm::sent(db, "certificate", &keys).await?;
        if sent.is_empty() {
            return Ok(());
        }
        let object_type = kind.object_type(crm).await?;
        for (key, object) in sent {
            crm.hubspot
                .archive(&object_type, &object.hubspot_id)
                .await
                .map_err(hubspot_error)?;
            store::crm::forget(db, "certificate", &key).await?;
        }
        Ok(())
    }
}

/// MITx Online's certificate custom objects (`course_run_certificate`,
/// `program_certificate`): each certificate of these learners, issued, revoked or
/// restored, upserted by `unique_app_id` and associated with the learner's contact. xPRO
/// has no such objects, so its certificates are not sent.
#[derive(Debug, Serialize, Deserialize)]
pub struct SyncCertificates {
    #[serde(flatten)]
    pub learners: Learners,
}

impl Job for SyncCertificates {
    const KIND: &'static str = "crm.sync_certificates";
    const MAX_ATTEMPTS: u32 = 25;
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        use store::certificates::Of;
        let Some(crm) = ctx.crm.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await?;
        let of = self.learners.of();
        let (site, readable_id, title) = match of {
            Of::Program(id) => {
                let Some(p) = view.program(id) else {
                    return Ok(());
                };
                (p.site, p.readable_id.clone(), p.title.clone())
            }
            Of::Run(id) => {
                let Some((course, run)) = view.run(id) else {
                    return Ok(());
                };
                let title = if run.title.is_empty() {
                    course.title.clone()
                } else {
                    run.title.clone()
                };
                (course.site, run.courseware_id.clone(), title)
            }
        };
        if site != Site::Mitxonline {
            return Ok(());
        }
        let kind = CertificateObject::of(self.learners.program);
        let field = kind.field;
        let object_type = kind.object_type(crm).await?;
        let now = Utc::now();
        for users in self
            .learners
            .users
            .chunks(integrations::hubspot::BATCH_LIMIT)
        {
            let certificates = store::certificates::of_learners(db, of, users).await?;
            let objects: Vec<Upsert> = certificates
                .iter()
                .map(|(c, holder)| {
                    let key = kind.key(crm, c.id);
                    let Value::Object(properties) = json!({
                        "unique_app_id": key,
                        format!("{field}_readable_id"): readable_id,
                        format!("{field}_title"): title,
                        "user_email": holder.email,
                        "issue_date": c.issue_date.timestamp_millis().to_string(),
                        "is_revoked": if c.is_revoked { "true" } else { "false" },
                    }) else {
                        unreachable!("a JSON object literal")
                    };
                    Upsert { key, properties }
                })
                .collect();
            let ids: HashMap<String, String> = crm
                .hubspot
                .batch_upsert(&object_type, "unique_app_id", &objects)
                .await
                .map_err(hubspot_error)?
                .into_iter()
                .collect();
            let learners: Vec<i64> = certificates.iter().map(|(c, _)| c.user_id).collect();
            let contacts = send_contacts(db, crm, &learners, now).await?.ids;
            let pairs: Vec<(String, String)> = certificates
                .iter()
                .zip(&objects)
                .filter_map(|((c, _), o)| {
                    Some((ids.get(&o.key)?.clone(), contacts.get(&c.user_id)?.clone()))
                })
                .collect();
            crm.hubspot
                .batch_associate(&object_type, "contacts", &pairs)
                .await
                .map_err(hubspot_error)?;
            let records: Vec<(String, String, String)> = objects
                .iter()
                .filter_map(|o| {
                    Some((
                        o.key.clone(),
                        ids.get(&o.key)?.clone(),
                        digest(&o.properties),
                    ))
                })
                .collect();
            store::crm::record(db, "certificate", &records, now).await?;
        }
        tracing::info!(
            ?of,
            learners = self.learners.users.len(),
            "certificates synced to HubSpot"
        );
        Ok(())
    }
}
