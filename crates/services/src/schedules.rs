//! The recurring work of both reference platforms (xPRO `mitxpro/settings.py` beat schedule,
//! MITx Online `main/settings.py`), with their cadences. A schedule whose handler arrives in
//! a later issue is declared here and off: turning it on is refused until its job kind is
//! registered. Operators override cadences by name (`schedules.<name> = "off" | "every 30m" |
//! "<crontab>"`).

use std::collections::BTreeMap;
use std::str::FromStr;

use jobs::{Cadence, Job, Schedule};
use serde_json::json;

use domain::catalog::Site;

use crate::certificates::GenerateCourseCertificates;
use crate::housekeeping::PurgeFinishedJobs;

/// A schedule as declared: where it comes from and whether this build can run it.
#[derive(Debug, Clone)]
pub struct Declared {
    pub schedule: Schedule,
    /// The reference(s) it comes from, for operators.
    pub origin: &'static str,
    /// The reference's cadence, even when this build keeps it off.
    pub reference_cadence: &'static str,
}

fn declared(
    name: &'static str,
    kind: &'static str,
    cadence: &'static str,
    origin: &'static str,
) -> Declared {
    Declared {
        schedule: Schedule {
            name,
            cadence: Cadence::from_str(cadence).expect("declared cadences parse"),
            kind,
            payload: json!({}),
            max_attempts: 5,
        },
        origin,
        reference_cadence: cadence,
    }
}

/// Every schedule, with the reference cadence. Which are on is decided by `resolve`.
pub fn all() -> Vec<Declared> {
    let mut purge = declared(
        "purge-finished-jobs",
        PurgeFinishedJobs::KIND,
        "30 3 * * *",
        "Registrar (keeps the jobs table small)",
    );
    purge.schedule.payload = json!(PurgeFinishedJobs { keep_days: 14 });
    let certificates_of = |name, cadence, site, origin| {
        let mut sweep = declared(name, GenerateCourseCertificates::KIND, cadence, origin);
        sweep.schedule.payload = json!(GenerateCourseCertificates { site: Some(site) });
        sweep
    };
    vec![
        purge,
        declared(
            "retry-failed-edx-enrollments",
            "openedx.retry_failed_enrollments",
            "every 1800s",
            "xPRO, MITx Online",
        ),
        declared(
            "repair-faulty-edx-users",
            "openedx.repair_faulty_users",
            "every 1800s offset 900s",
            "xPRO, MITx Online",
        ),
        declared(
            "sync-courseruns-data",
            "courses.sync_courseruns_data",
            "10 0 * * *",
            "MITx Online 00:10 (xPRO 00:00)",
        ),
        certificates_of(
            "generate-course-certificates",
            "0 * * * *",
            Site::Mitxonline,
            "MITx Online (hourly)",
        ),
        certificates_of(
            "generate-course-certificate",
            "0 0 * * *",
            Site::Xpro,
            "xPRO (daily 00:00)",
        ),
        declared(
            "generate-missing-program-certificates",
            "courses.generate_program_certificates",
            "0 2 * * *",
            "MITx Online",
        ),
        declared(
            "upgrade-eligible-program-enrollments",
            "courses.upgrade_eligible_program_enrollments",
            "0 1 * * *",
            "MITx Online",
        ),
        declared(
            "sync-external-course-runs",
            "courses.sync_external_course_runs",
            "0 0 * * *",
            "xPRO",
        ),
        declared(
            "delete-expired-baskets",
            "ecommerce.delete_expired_baskets",
            "0 0 * * *",
            "xPRO",
        ),
        declared(
            "cull-anonymous-baskets",
            "ecommerce.cull_anonymous_baskets",
            "0 4 * * *",
            "MITx Online",
        ),
        declared(
            "update-currency-exchange-rates",
            "flexiblepricing.sync_exchange_rates",
            "0 3 * * *",
            "MITx Online",
        ),
        declared(
            "process-google-sheets-requests",
            "sheets.process_requests",
            "* 10-23,0-2 * * *",
            "MITx Online (every minute, 10:00-02:59 UTC)",
        ),
        declared(
            "renew-file-watches",
            "sheets.renew_file_watches",
            "every 75600s",
            "xPRO",
        ),
        declared(
            "handle-coupon-request-sheet",
            "sheets.handle_coupon_requests",
            "every 7200s",
            "xPRO (alternative processing flag)",
        ),
        declared(
            "update-assignment-delivery-dates",
            "sheets.update_assignment_delivery",
            "every 7200s",
            "xPRO",
        ),
        declared(
            "update-b2b-enrollment-code-sheets",
            "b2b.update_enrollment_code_sheets",
            "every 3600s offset 1800s",
            "MITx Online",
        ),
        declared(
            "sync-keycloak",
            "b2b.sync_keycloak_organizations",
            "every 86400s offset 43200s",
            "MITx Online",
        ),
        declared(
            "clear-expired-tokens",
            "oauth2.clear_expired_tokens",
            "0 9 * * 1",
            "xPRO, MITx Online",
        ),
    ]
}

/// The schedules of this build's job kinds after the operator's overrides.
pub fn for_this_build(
    overrides: &BTreeMap<String, String>,
) -> Result<Vec<Declared>, ScheduleError> {
    let registry = crate::registry();
    let kinds: Vec<&str> = registry.kinds().collect();
    resolve(&kinds, overrides)
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("setting `schedules.{0}`: no such schedule")]
    Unknown(String),
    #[error("setting `schedules.{name}`: {message}")]
    BadCadence { name: String, message: String },
    #[error(
        "setting `schedules.{name}`: its job ({kind}) is not available in this build yet; only \"off\" is accepted"
    )]
    NotAvailable { name: String, kind: String },
}

/// The schedules this process runs: each declared schedule with its cadence, on only when
/// its job kind is registered, after the operator's overrides.
pub fn resolve(
    available_kinds: &[&str],
    overrides: &BTreeMap<String, String>,
) -> Result<Vec<Declared>, ScheduleError> {
    let mut schedules = all();
    // Environment variables cannot hold `-`, so `purge_finished_jobs` names `purge-finished-jobs`.
    let mut by_name = BTreeMap::new();
    for (key, value) in overrides {
        let name = key.replace('_', "-");
        if !schedules.iter().any(|d| d.schedule.name == name) {
            return Err(ScheduleError::Unknown(key.clone()));
        }
        by_name.insert(name, (key, value));
    }
    for declared in &mut schedules {
        let available = available_kinds.contains(&declared.schedule.kind);
        if !available {
            declared.schedule.cadence = Cadence::Off;
        }
        if let Some((key, text)) = by_name.get(declared.schedule.name) {
            let cadence = Cadence::from_str(text).map_err(|e| ScheduleError::BadCadence {
                name: key.to_string(),
                message: e.to_string(),
            })?;
            if !available && !matches!(cadence, Cadence::Off) {
                return Err(ScheduleError::NotAvailable {
                    name: key.to_string(),
                    kind: declared.schedule.kind.to_string(),
                });
            }
            declared.schedule.cadence = cadence;
        }
    }
    Ok(schedules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds() -> Vec<&'static str> {
        crate::registry().kinds().collect()
    }

    #[test]
    fn reference_schedules_are_declared_and_off_until_their_handlers_exist() {
        let resolved = resolve(&kinds(), &BTreeMap::new()).unwrap();
        assert!(resolved.len() >= 18);
        for d in &resolved {
            let on = !matches!(d.schedule.cadence, Cadence::Off);
            assert_eq!(
                on,
                kinds().contains(&d.schedule.kind),
                "{}",
                d.schedule.name
            );
        }
        let on = |name: &str| {
            resolved
                .iter()
                .any(|d| d.schedule.name == name && !matches!(d.schedule.cadence, Cadence::Off))
        };
        assert!(on("purge-finished-jobs") && on("repair-faulty-edx-users"));
        assert!(!on("sync-keycloak"), "its job arrives with the B2B work");
        let repair = resolved
            .iter()
            .find(|d| d.schedule.name == "repair-faulty-edx-users")
            .unwrap();
        assert_eq!(repair.reference_cadence, "every 1800s offset 900s");
    }

    #[test]
    fn overrides_are_checked_by_name_cadence_and_availability() {
        let set = |name: &str, value: &str| BTreeMap::from([(name.to_string(), value.to_string())]);
        let resolved = resolve(&kinds(), &set("purge-finished-jobs", "every 1h")).unwrap();
        assert_eq!(resolved[0].schedule.cadence.describe(), "every 3600s");
        assert_eq!(
            resolve(&kinds(), &set("purge-finished-jobs", "off")).unwrap()[0]
                .schedule
                .cadence
                .describe(),
            "off"
        );
        assert_eq!(
            resolve(&kinds(), &set("nope", "off")).unwrap_err(),
            ScheduleError::Unknown("nope".into())
        );
        assert!(matches!(
            resolve(&kinds(), &set("purge-finished-jobs", "often")),
            Err(ScheduleError::BadCadence { .. })
        ));
        assert!(matches!(
            resolve(&kinds(), &set("sync-keycloak", "every 1h")),
            Err(ScheduleError::NotAvailable { .. })
        ));
        assert!(resolve(&kinds(), &set("sync-keycloak", "off")).is_ok());
        let from_env = resolve(&kinds(), &set("purge_finished_jobs", "every 2h")).unwrap();
        assert_eq!(
            from_env[0].schedule.cadence.describe(),
            "every 7200s",
            "underscores name the dashed schedule"
        );
    }
}
