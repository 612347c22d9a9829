//! Course runs kept in step with Open edX: the nightly `sync-courseruns-data` schedule (and
//! staff's "sync now" for one run) asks edX's course API about live runs, and for MITx
//! Online runs its course modes API (modes offered, upgrade deadline), and writes what
//! changed through the catalog, in one transaction per course, logging each change.

use chrono::Utc;
use domain::catalog::edx_sync::{
    EdxMode, EdxRun, VERIFIED, apply, apply_modes, due, missing_modes,
};
use domain::catalog::{Catalog, CourseRecord, RunRecord, Site};
use integrations::openedx::{EdxCourseMode, OpenEdx};
use jobs::{Job, JobError};
use serde::{Deserialize, Serialize};
use store::catalog::write::Mode;

use crate::Context;
use crate::openedx::edx_outcome;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SyncCourseRuns {
    /// One run only (staff's "sync now"); every due run when absent.
    #[serde(default)]
    pub run_id: Option<i64>,
}

impl Job for SyncCourseRuns {
    const KIND: &'static str = "courses.sync_courseruns_data";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        self.run_id.map(|id| format!("run:{id}"))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(edx) = ctx.openedx.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await?;
        let now = Utc::now();
        let mut records: Vec<_> = view
            .courses
            .iter()
            .filter(|c| !c.is_external)
            .map(|c| view.course_record(c))
            .collect();
        let keys: Vec<String> = records
            .iter()
            .flat_map(|c| c.runs.iter())
            .filter(|r| match self.run_id {
                Some(only) => r.id == Some(only),
                None => due(r, now),
            })
            .map(|r| r.courseware_id.clone())
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let answers = edx.courses(&keys).await.map_err(edx_outcome)?;
        for course in &mut records {
            let mut any = false;
            let site = course.site;
            for run in course
                .runs
                .iter_mut()
                .filter(|r| keys.contains(&r.courseware_id))
            {
                let mut changes = Vec::new();
                if let Some(edx_run) = answers.iter().find(|a| a.id == run.courseware_id) {
                    changes = apply(
                        run,
                        &EdxRun {
                            title: edx_run.name.clone(),
                            start: edx_run.start,
                            end: edx_run.end,
                            enrollment_start: edx_run.enrollment_start,
                            enrollment_end: edx_run.enrollment_end,
                            self_paced: edx_run.pacing.as_deref().map(|p| p == "self"),
                            certificate_available: edx_run.certificate_available_date,
                        },
                    );
                }
                // Course modes are MITx Online's (xPRO enrolls in one professional mode).
                if site == Site::Mitxonline {
                    // Staff's "sync now" also sets up the audit and verified modes edX lacks.
                    changes.extend(modes(edx, run, self.run_id.is_some()).await);
                }
                if !changes.is_empty() {
                    tracing::info!(run = %run.courseware_id, changes = ?changes, "course run synced from Open edX");
                    any = true;
                }
            }
            // Each course is written as soon as its runs are read, so a long sync holds
            // nothing back and leaves the least room for a staff edit in between.
            if any {
                write(ctx, course).await?;
            }
        }
        Ok(())
    }
}

/// Writes one course through the catalog; one edX describes inconsistently is logged and
/// kept as it was, without stopping the others.
async fn write(ctx: &Context, course: &CourseRecord) -> Result<(), JobError> {
    let txn = ctx.store.write().await?;
    let one = Catalog {
        courses: vec![course.clone()],
        ..Catalog::default()
    };
    match store::catalog::write::apply(&txn, &one, Mode::Strict).await {
        Ok(_) => Ok(txn.commit().await?),
        Err(store::catalog::write::ApplyError::Invalid(errors)) => {
            tracing::error!(course = %course.readable_id, %errors, "edX's data for the course does not pass the catalog rules; kept as it was");
            Ok(())
        }
        Err(store::catalog::write::ApplyError::Db(e)) => Err(e.into()),
    }
}

/// Keeps a run's course modes in step with edX (`sync_course_mode`), first creating the
/// audit and verified modes edX lacks when `ensure` (`check_course_modes`). What changed; a
/// run edX cannot answer for is logged and left as it is, as the reference does.
async fn modes(edx: &OpenEdx, run: &mut RunRecord, ensure: bool) -> Vec<String> {
    let known = match edx.course_modes(&run.courseware_id).await {
        Ok(known) => known,
        Err(e) => {
            tracing::warn!(run = %run.courseware_id, error = %e, "course modes not read from Open edX");
            return Vec::new();
        }
    };
    let mut modes: Vec<EdxMode> = known
        .iter()
        .map(|m| EdxMode {
            slug: m.mode_slug.clone(),
            expiration: m.expiration_datetime,
        })
        .collect();
    if ensure {
        for slug in missing_modes(&modes) {
            let verified = slug == VERIFIED;
            let mode = EdxCourseMode::usd(
                slug,
                if verified { "Verified" } else { "Audit" },
                if verified { 10 } else { 0 },
                run.upgrade_deadline.filter(|_| verified),
            );
            match edx.create_course_mode(&run.courseware_id, &mode).await {
                Ok(()) => modes.push(EdxMode {
                    slug: mode.mode_slug,
                    expiration: mode.expiration_datetime,
                }),
                Err(e) => {
                    tracing::warn!(run = %run.courseware_id, mode = slug, error = %e, "course mode not created in Open edX");
                }
            }
        }
    }
    apply_modes(run, &modes)
}

/// Pulls one run's title and dates from Open edX now (staff's button).
pub async fn sync_run_now(store: &store::Store, run_id: i64) -> Result<(), sea_orm::DbErr> {
    SyncCourseRuns {
        run_id: Some(run_id),
    }
    .enqueue(store.db())
    .await
    .map(|_| ())
}
