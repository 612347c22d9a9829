//! The daily external-vendor sync (xPRO `sync-external-course-runs`, §7): for each vendor
//! whose platform has sync turned on, read its report, take down runs the feed dropped,
//! create or update its courses, runs and prices through the catalog (one transaction per
//! course), and mail the counts to staff.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use domain::catalog::Catalog;
use domain::catalog::vendors::{Skip, Stats, Vendor, deactivate_missing, listed_run, merge, parse};
use integrations::vendor_reports::{ReportApi, ReportError};
use jobs::{Job, JobError};
use serde::{Deserialize, Serialize};
use store::Store;
use store::catalog::write::{ApplyError, Mode};

use crate::Context;
use crate::emails;
use crate::mail::Mail;

/// The report API and who hears about each sync.
pub struct VendorSync {
    pub reports: ReportApi,
    /// Staff who receive each sync's counts (xPRO `EXTERNAL_COURSE_SYNC_EMAIL_RECIPIENTS`).
    pub recipients: Vec<String>,
}

pub fn report_error(e: ReportError) -> JobError {
    if e.is_transient() {
        JobError::Retry(e.to_string())
    } else {
        JobError::Permanent(e.to_string())
    }
}

/// What a vendor's sync did, and the courses the catalog refused (with its reasons).
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub stats: Stats,
    pub refused: BTreeMap<String, String>,
}

impl Outcome {
    fn summary(&self, vendor: Vendor, to: &str) -> Mail {
        Mail::compose(
            to,
            &format!(
                "MIT xPRO {} Course Sync Report – Latest Statistics",
                vendor.platform()
            ),
            &emails::VendorSync {
                vendor: vendor.platform(),
                lines: self.stats.lines(),
                refused: self
                    .refused
                    .iter()
                    .map(|(c, r)| (c.clone(), r.clone()))
                    .collect(),
            },
        )
    }
}

/// Applies a vendor's report rows to the catalog.
pub async fn apply_rows(
    store: &Store,
    vendor: Vendor,
    rows: &[integrations::vendor_reports::Row],
    now: DateTime<Utc>,
) -> Result<Outcome, sea_orm::DbErr> {
    let db = store.db();
    let view = store::catalog::read::load(db).await?;
    let topics = store::catalog::vocabulary::topic_names(db).await?;
    let mut outcome = Outcome::default();
    let mut ours = BTreeMap::new();
    let mut others = BTreeSet::new();
    for course in &view.courses {
        if course.is_external && vendor.owns(course.platform.as_deref()) {
            ours.insert(course.readable_id.clone(), view.course_record(course));
        } else {
            others.insert(course.readable_id.clone());
        }
    }
    let listed: BTreeSet<String> = rows.iter().filter_map(listed_run).collect();
    let mut changed = BTreeSet::new();
    for (id, course) in &mut ours {
        let taken_down = deactivate_missing(course, &listed, now);
        if !taken_down.is_empty() {
            changed.insert(id.clone());
            outcome.stats.course_runs_deactivated.extend(taken_down);
        }
    }
    for (index, row) in rows.iter().enumerate() {
        let label = || {
            row.get("course_run_code")
                .and_then(|c| c.as_str())
                .map_or_else(|| format!("row {}", index + 1), str::to_string)
        };
        match parse(row, now) {
            Err(Skip::BadData(reason)) => {
                tracing::info!(vendor = vendor.platform(), row = %label(), %reason, "vendor row skipped");
                outcome.stats.course_runs_skipped.insert(label());
            }
            Err(Skip::InvalidDates(reason)) => {
                tracing::info!(vendor = vendor.platform(), row = %label(), %reason, "vendor row has invalid dates");
                outcome.stats.course_runs_with_invalid_dates.insert(label());
            }
            Ok(run) if others.contains(&run.readable_id) => {
                // Another platform's (or an internal) course holds the id: never taken over.
                outcome.refused.insert(
                    run.readable_id.clone(),
                    "the id belongs to a course of another platform".into(),
                );
                outcome.stats.course_runs_skipped.insert(run.run_code);
            }
            Ok(run) => {
                let existing = ours.remove(&run.readable_id);
                let merged = merge(existing, &run, vendor, &topics, &mut outcome.stats);
                changed.insert(run.readable_id.clone());
                ours.insert(run.readable_id, merged);
            }
        }
    }
    // The same course on several rows is counted created once, not also as existing.
    let created = outcome.stats.courses_created.clone();
    outcome
        .stats
        .existing_courses
        .retain(|c| !created.contains(c));
    let pages = outcome.stats.course_pages_created.clone();
    outcome
        .stats
        .course_pages_updated
        .retain(|c| !pages.contains(c));
    for id in changed {
        let course = ours.remove(&id).expect("changed courses are ours");
        let txn = store.write().await?;
        let one = Catalog {
            courses: vec![course],
            ..Catalog::default()
        };
        match store::catalog::write::apply(&txn, &one, Mode::Strict).await {
            Ok(_) => {
                crate::crm::SyncProducts {}
                    .enqueue_at(&txn, Some(now + crate::crm::PRODUCTS_DELAY))
                    .await?;
                txn.commit().await?
            }
            Err(ApplyError::Invalid(errors)) => {
                tracing::error!(course = %id, %errors, "vendor data breaks the catalog rules; kept as it was");
                outcome.refused.insert(id, errors.to_string());
            }
            Err(ApplyError::Db(e)) => return Err(e),
        }
    }
    Ok(outcome)
}

/// The sync job: `vendor` (a slug) syncs that vendor whatever its platform's setting
/// (staff's "sync now", and each vendor the schedule picked); without one, it queues a
/// job per vendor whose platform has sync on.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SyncExternalCourses {
    #[serde(default)]
    pub vendor: Option<String>,
}

impl Job for SyncExternalCourses {
    const KIND: &'static str = "courses.sync_external_course_runs";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        self.vendor.as_ref().map(|slug| format!("vendor:{slug}"))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sync) = ctx.vendors.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        let Some(vendor) = self.vendor.as_deref().and_then(Vendor::from_slug) else {
            // The daily schedule: one job per vendor whose sync is on, so one vendor's
            // failure and retries never repeat another's sync or its summary.
            let platforms = store::catalog::vocabulary::platforms(db).await?;
            for vendor in Vendor::ALL.into_iter().filter(|v| v.enabled(&platforms)) {
                SyncExternalCourses {
                    vendor: Some(vendor.slug().to_string()),
                }
                .enqueue(db)
                .await?;
            }
            return Ok(());
        };
        let now = Utc::now();
        let rows = sync
            .reports
            .rows(vendor.reports(), now)
            .await
            .map_err(report_error)?;
        let outcome = apply_rows(&ctx.store, vendor, &rows, now).await?;
        tracing::info!(vendor = vendor.platform(), stats = ?outcome.stats, refused = ?outcome.refused, "vendor catalog synced");
        let txn = ctx.store.write().await?;
        for to in &sync.recipients {
            outcome.summary(vendor, to).send(&txn).await?;
        }
        Ok(txn.commit().await?)
    }
}

/// Turns a vendor's daily catalog sync on or off.
pub async fn set_sync(store: &Store, vendor: Vendor, enabled: bool) -> Result<(), sea_orm::DbErr> {
    store::catalog::vocabulary::set_platform_sync(store.db(), vendor.platform(), enabled).await
}

/// Queues a sync of one vendor now, whatever its setting.
pub async fn sync_now(store: &Store, vendor: Vendor) -> Result<(), sea_orm::DbErr> {
    SyncExternalCourses {
        vendor: Some(vendor.slug().to_string()),
    }
    .enqueue(store.db())
    .await
    .map(|_| ())
}
