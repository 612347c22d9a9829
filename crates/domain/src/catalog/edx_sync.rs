//! Keeping a run in step with Open edX (MITx Online `sync_courseruns_data`): edX's title,
//! dates, pacing and certificate date win; a run whose dates moved loses its expiration;
//! an unchanged run is not rewritten.

use chrono::{DateTime, Utc};

use super::RunRecord;

/// What edX says of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdxRun {
    pub title: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub enrollment_start: Option<DateTime<Utc>>,
    pub enrollment_end: Option<DateTime<Utc>>,
    pub self_paced: Option<bool>,
    pub certificate_available: Option<DateTime<Utc>>,
}

/// Whether the scheduled sync looks at a run: live, not expired, not a placeholder
/// (`fake-` run tags, as MITx Online skips them).
pub fn due(run: &RunRecord, now: DateTime<Utc>) -> bool {
    run.live && !run.run_tag.starts_with("fake-") && run.expiration_date.is_none_or(|e| e > now)
}

fn set<T: PartialEq + std::fmt::Debug>(
    changes: &mut Vec<String>,
    name: &str,
    slot: &mut T,
    value: T,
) {
    if *slot != value {
        changes.push(format!("{name}: {slot:?} → {value:?}"));
        *slot = value;
    }
}

/// Brings the run in line with edX; what changed, one line per field (empty: nothing did).
/// The certificate date is edX's, or the end date when edX has none.
pub fn apply(run: &mut RunRecord, edx: &EdxRun) -> Vec<String> {
    let mut changes = Vec::new();
    if !edx.title.trim().is_empty() {
        set(
            &mut changes,
            "title",
            &mut run.title,
            edx.title.trim().to_string(),
        );
    }
    let dates_before = (run.start_date, run.end_date);
    set(&mut changes, "start_date", &mut run.start_date, edx.start);
    set(&mut changes, "end_date", &mut run.end_date, edx.end);
    set(
        &mut changes,
        "enrollment_start",
        &mut run.enrollment_start,
        edx.enrollment_start,
    );
    set(
        &mut changes,
        "enrollment_end",
        &mut run.enrollment_end,
        edx.enrollment_end,
    );
    if let Some(self_paced) = edx.self_paced {
        set(
            &mut changes,
            "is_self_paced",
            &mut run.is_self_paced,
            self_paced,
        );
    }
    set(
        &mut changes,
        "certificate_available_date",
        &mut run.certificate_available_date,
        edx.certificate_available.or(edx.end),
    );
    // An expiration set for the old dates would hide the run at the wrong time (or fall
    // before the new end, which the catalog refuses); it is cleared, as MITx Online clears
    // it to have it recomputed.
    if (run.start_date, run.end_date) != dates_before && run.expiration_date.is_some() {
        set(
            &mut changes,
            "expiration_date",
            &mut run.expiration_date,
            None,
        );
    }
    changes
}

/// A course mode of a run as edX holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdxMode {
    pub slug: String,
    pub expiration: Option<DateTime<Utc>>,
}

pub const AUDIT: &str = "audit";
pub const VERIFIED: &str = "verified";

/// MITx Online `sync_course_mode`: the run offers every mode edX has (none is taken away)
/// and, when edX has a verified mode, its upgrade deadline is that mode's expiration. What
/// changed, one line per field.
pub fn apply_modes(run: &mut RunRecord, modes: &[EdxMode]) -> Vec<String> {
    let mut changes = Vec::new();
    for mode in modes {
        if !run.enrollment_modes.contains(&mode.slug) {
            changes.push(format!("enrollment_modes: + {}", mode.slug));
            run.enrollment_modes.push(mode.slug.clone());
        }
    }
    if let Some(verified) = modes.iter().find(|m| m.slug == VERIFIED) {
        set(
            &mut changes,
            "upgrade_deadline",
            &mut run.upgrade_deadline,
            verified.expiration,
        );
    }
    changes
}

/// MITx Online `check_course_modes`: of audit and verified, those edX lacks for the run.
pub fn missing_modes(modes: &[EdxMode]) -> Vec<&'static str> {
    [AUDIT, VERIFIED]
        .into_iter()
        .filter(|slug| !modes.iter().any(|m| m.slug == *slug))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(2026, 5, d, 0, 0, 0).unwrap())
    }

    fn run() -> RunRecord {
        serde_json::from_value(serde_json::json!({
            "courseware_id": "course-v1:MITx+1+1T2026",
            "run_tag": "1T2026",
            "title": "Old title",
            "start_date": "2026-05-01T00:00:00Z",
            "end_date": "2026-05-20T00:00:00Z",
            "expiration_date": "2026-06-20T00:00:00Z",
            "live": true,
        }))
        .unwrap()
    }

    fn edx() -> EdxRun {
        EdxRun {
            title: "Old title".into(),
            start: day(1),
            end: day(20),
            enrollment_start: None,
            enrollment_end: None,
            self_paced: Some(false),
            certificate_available: None,
        }
    }

    #[test]
    fn an_unchanged_run_stays_unchanged_except_for_the_derived_certificate_date() {
        let mut r = run();
        r.certificate_available_date = day(20);
        assert!(apply(&mut r, &edx()).is_empty());
    }

    #[test]
    fn edx_dates_and_title_win_and_moved_dates_reset_the_expiration() {
        let mut r = run();
        let changes = apply(
            &mut r,
            &EdxRun {
                title: "New title".into(),
                end: day(25),
                self_paced: Some(true),
                certificate_available: day(27),
                ..edx()
            },
        );
        assert_eq!(r.title, "New title");
        assert_eq!(r.end_date, day(25));
        assert!(r.is_self_paced);
        assert_eq!(r.certificate_available_date, day(27));
        assert_eq!(r.expiration_date, None, "set for the old dates, so cleared");
        assert_eq!(changes.len(), 5, "{changes:?}");
    }

    #[test]
    fn placeholders_expired_and_unpublished_runs_are_not_synced() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        assert!(due(&run(), now));
        assert!(!due(
            &RunRecord {
                live: false,
                ..run()
            },
            now
        ));
        assert!(!due(
            &RunRecord {
                run_tag: "fake-1".into(),
                ..run()
            },
            now
        ));
        assert!(!due(
            &run(),
            Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap()
        ));
    }

    #[test]
    fn edx_modes_are_added_never_removed_and_the_verified_expiration_is_the_upgrade_deadline() {
        let mut r = run();
        r.enrollment_modes = vec!["audit".into(), "honor".into()];
        let modes = [
            EdxMode {
                slug: "audit".into(),
                expiration: None,
            },
            EdxMode {
                slug: "verified".into(),
                expiration: day(15),
            },
        ];
        let changes = apply_modes(&mut r, &modes);
        assert_eq!(r.enrollment_modes, vec!["audit", "honor", "verified"]);
        assert_eq!(r.upgrade_deadline, day(15));
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(
            apply_modes(&mut r, &modes).is_empty(),
            "in step: nothing to do"
        );
        assert!(
            apply_modes(&mut r, &modes[..1]).is_empty(),
            "without a verified mode the deadline is left alone"
        );
        assert_eq!(r.upgrade_deadline, day(15));
    }

    #[test]
    fn audit_and_verified_are_the_modes_a_run_must_have() {
        let audit = EdxMode {
            slug: "audit".into(),
            expiration: None,
        };
        assert_eq!(missing_modes(&[]), vec!["audit", "verified"]);
        assert_eq!(missing_modes(&[audit]), vec!["verified"]);
    }
}
