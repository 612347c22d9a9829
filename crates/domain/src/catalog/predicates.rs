//! Course-run date predicates, exactly as the references define them. Each takes `now`.
//!
//! MITx Online (`courses/models.py` CourseRun): `is_enrollable`, `is_upgradable`, `is_past`,
//! and the serializer's `is_archived`. xPRO (`courses/models.py` CourseRun/Course):
//! `is_not_beyond_enrollment`, `is_unexpired`, `is_catalog_visible`.

use chrono::{DateTime, Utc};

type Instant = DateTime<Utc>;

/// The dates and flags of a run that the predicates read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunWindow {
    pub live: bool,
    pub start: Option<Instant>,
    pub end: Option<Instant>,
    pub enrollment_start: Option<Instant>,
    pub enrollment_end: Option<Instant>,
    pub upgrade_deadline: Option<Instant>,
}

impl RunWindow {
    /// Ended: has an end date strictly before now.
    pub fn is_past(&self, now: Instant) -> bool {
        self.end.is_some_and(|end| end < now)
    }

    /// MITx Online: live, has a start date, enrollment has opened (`enrollment_start ≤ now`,
    /// and a run without one is never enrollable) and not closed (`enrollment_end` null or
    /// `> now`). The end date plays no part.
    pub fn is_enrollable(&self, now: Instant) -> bool {
        self.live
            && self.start.is_some()
            && self.enrollment_start.is_some_and(|s| s <= now)
            && self.enrollment_end.is_none_or(|e| e > now)
    }

    /// MITx Online serializer: enrollable and already over (self-paced archives).
    pub fn is_archived(&self, now: Instant) -> bool {
        self.is_enrollable(now) && self.is_past(now)
    }

    /// MITx Online: live, upgrade deadline null or in the future, the run has a product
    /// (active or not) and offers the `verified` mode.
    pub fn is_upgradable(&self, now: Instant, has_product: bool, has_verified_mode: bool) -> bool {
        self.live
            && self.upgrade_deadline.is_none_or(|d| d > now)
            && has_product
            && has_verified_mode
    }

    /// xPRO: end null or after now, enrollment not closed, and enrollment opened if it has
    /// an opening date.
    pub fn is_not_beyond_enrollment(&self, now: Instant) -> bool {
        self.end.is_none_or(|e| e > now)
            && self.enrollment_end.is_none_or(|e| e > now)
            && self.enrollment_start.is_none_or(|s| s <= now)
    }

    /// xPRO: not past and not beyond enrollment. The xPRO catalog API lists only these.
    pub fn is_unexpired(&self, now: Instant) -> bool {
        !self.is_past(now) && self.is_not_beyond_enrollment(now)
    }

    /// xPRO `Course.is_catalog_visible`, per run: live and either starting in the future or
    /// still taking enrollments.
    pub fn is_catalog_visible(&self, now: Instant) -> bool {
        self.live
            && (self.start.is_some_and(|s| s > now) || self.enrollment_end.is_some_and(|e| e > now))
    }
}

/// Whether a run takes enrollments now, by its storefront's rule: MITx Online's
/// `is_enrollable`; for xPRO, a live, dated, unexpired run (what its catalog lists).
pub fn open_for_enrollment(site: super::Site, run: &RunWindow, now: Instant) -> bool {
    match site {
        super::Site::Mitxonline => run.is_enrollable(now),
        super::Site::Xpro => run.live && run.start.is_some() && run.is_unexpired(now),
    }
}

/// xPRO: a course (or a program, through its courses) is in the catalog when any of its
/// runs is catalog-visible.
pub fn in_catalog<'a>(runs: impl IntoIterator<Item = &'a RunWindow>, now: Instant) -> bool {
    runs.into_iter().any(|run| run.is_catalog_visible(now))
}

/// A run as the "next run" choosers see it.
#[derive(Debug, Clone, Copy)]
pub struct RunChoice<'a, K> {
    pub key: K,
    pub window: &'a RunWindow,
    pub language: &'a str,
    pub is_primary_language: bool,
}

/// MITx Online `Course.first_unexpired_run`: among enrollable runs in a primary or English
/// language, the earliest-starting one that has not ended; failing that, the
/// earliest-starting enrollable one even if it has ended.
pub fn mitxonline_first_unexpired_run<K: Copy>(
    runs: &[RunChoice<'_, K>],
    now: Instant,
) -> Option<K> {
    let eligible = |r: &&RunChoice<'_, K>| {
        r.window.is_enrollable(now) && (r.is_primary_language || matches!(r.language, "" | "en"))
    };
    let earliest = |candidates: Vec<&RunChoice<'_, K>>| {
        candidates
            .into_iter()
            .min_by_key(|r| (r.window.start, !r.is_primary_language))
            .map(|r| r.key)
    };
    let current: Vec<_> = runs
        .iter()
        .filter(eligible)
        .filter(|r| r.window.end.is_none_or(|e| e > now))
        .collect();
    earliest(current).or_else(|| earliest(runs.iter().filter(eligible).collect()))
}

/// xPRO `Course.first_unexpired_run`: the earliest-starting live, dated, unexpired run.
pub fn xpro_first_unexpired_run<K: Copy>(runs: &[(K, &RunWindow)], now: Instant) -> Option<K> {
    runs.iter()
        .filter(|(_, w)| w.live && w.start.is_some() && w.is_unexpired(now))
        .min_by_key(|(_, w)| w.start)
        .map(|(k, _)| *k)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn now() -> Instant {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
    }

    fn at(days: i64) -> Option<Instant> {
        Some(now() + Duration::days(days))
    }

    fn open_run() -> RunWindow {
        RunWindow {
            live: true,
            start: at(10),
            end: at(100),
            enrollment_start: at(-10),
            enrollment_end: at(50),
            upgrade_deadline: at(40),
        }
    }

    #[test]
    fn past_is_strictly_after_end() {
        let mut run = open_run();
        assert!(!run.is_past(now()));
        run.end = Some(now());
        assert!(!run.is_past(now()), "ending exactly now is not past");
        run.end = Some(now() - Duration::seconds(1));
        assert!(run.is_past(now()));
        run.end = None;
        assert!(!run.is_past(now()), "no end date never ends");
    }

    #[test]
    fn enrollable_every_branch() {
        let run = open_run();
        assert!(run.is_enrollable(now()));
        assert!(!RunWindow { live: false, ..run }.is_enrollable(now()));
        assert!(!RunWindow { start: None, ..run }.is_enrollable(now()));
        assert!(
            !RunWindow {
                enrollment_start: None,
                ..run
            }
            .is_enrollable(now())
        );
        assert!(
            RunWindow {
                enrollment_start: Some(now()),
                ..run
            }
            .is_enrollable(now()),
            "opens at now inclusive"
        );
        assert!(
            !RunWindow {
                enrollment_start: at(1),
                ..run
            }
            .is_enrollable(now())
        );
        assert!(
            RunWindow {
                enrollment_end: None,
                ..run
            }
            .is_enrollable(now())
        );
        assert!(
            !RunWindow {
                enrollment_end: Some(now()),
                ..run
            }
            .is_enrollable(now()),
            "closes at now exclusive"
        );
        assert!(
            !RunWindow {
                enrollment_end: at(-1),
                ..run
            }
            .is_enrollable(now())
        );
        assert!(
            RunWindow { end: at(-1), ..run }.is_enrollable(now()),
            "end date plays no part"
        );
    }

    #[test]
    fn archived_means_enrollable_and_past() {
        let run = RunWindow {
            end: at(-1),
            enrollment_end: None,
            ..open_run()
        };
        assert!(run.is_archived(now()));
        assert!(!open_run().is_archived(now()), "not past");
        assert!(
            !RunWindow { live: false, ..run }.is_archived(now()),
            "not enrollable"
        );
    }

    #[test]
    fn upgradable_every_branch() {
        let run = open_run();
        assert!(run.is_upgradable(now(), true, true));
        assert!(!run.is_upgradable(now(), false, true), "needs a product");
        assert!(
            !run.is_upgradable(now(), true, false),
            "needs the verified mode"
        );
        assert!(!RunWindow { live: false, ..run }.is_upgradable(now(), true, true));
        assert!(
            RunWindow {
                upgrade_deadline: None,
                ..run
            }
            .is_upgradable(now(), true, true)
        );
        assert!(
            !RunWindow {
                upgrade_deadline: Some(now()),
                ..run
            }
            .is_upgradable(now(), true, true),
            "deadline at now has passed"
        );
        assert!(
            !RunWindow {
                upgrade_deadline: at(-1),
                ..run
            }
            .is_upgradable(now(), true, true)
        );
    }

    #[test]
    fn xpro_unexpired_every_branch() {
        let run = open_run();
        assert!(run.is_unexpired(now()));
        assert!(
            RunWindow {
                enrollment_start: None,
                enrollment_end: None,
                end: None,
                ..run
            }
            .is_unexpired(now())
        );
        assert!(
            !RunWindow {
                end: Some(now()),
                ..run
            }
            .is_unexpired(now()),
            "end at now is expired"
        );
        assert!(!RunWindow { end: at(-1), ..run }.is_unexpired(now()));
        assert!(
            !RunWindow {
                enrollment_end: Some(now()),
                ..run
            }
            .is_unexpired(now())
        );
        assert!(
            !RunWindow {
                enrollment_start: at(1),
                ..run
            }
            .is_unexpired(now()),
            "enrollment not yet open"
        );
        assert!(
            RunWindow {
                enrollment_start: Some(now()),
                ..run
            }
            .is_unexpired(now())
        );
    }

    #[test]
    fn catalog_visibility_every_branch() {
        let run = open_run();
        assert!(run.is_catalog_visible(now()));
        assert!(!RunWindow { live: false, ..run }.is_catalog_visible(now()));
        let started = RunWindow {
            start: at(-1),
            ..run
        };
        assert!(started.is_catalog_visible(now()), "still enrolling");
        assert!(
            !RunWindow {
                enrollment_end: Some(now()),
                ..started
            }
            .is_catalog_visible(now())
        );
        assert!(
            !RunWindow {
                enrollment_end: None,
                ..started
            }
            .is_catalog_visible(now())
        );
        assert!(
            !RunWindow {
                start: Some(now()),
                enrollment_end: None,
                ..run
            }
            .is_catalog_visible(now()),
            "starting now is not future"
        );
        assert!(in_catalog([&started, &RunWindow::default()], now()));
        assert!(!in_catalog([&RunWindow::default()], now()));
    }

    #[test]
    fn mitxonline_next_run_prefers_current_then_falls_back() {
        let current = RunWindow {
            start: at(20),
            ..open_run()
        };
        let earlier_current = RunWindow {
            start: at(5),
            ..open_run()
        };
        let ended = RunWindow {
            start: at(-100),
            end: at(-1),
            enrollment_end: None,
            ..open_run()
        };
        let closed = RunWindow {
            enrollment_end: at(-1),
            ..open_run()
        };
        let choice = |key, window, language, primary| RunChoice {
            key,
            window,
            language,
            is_primary_language: primary,
        };
        let runs = [
            choice(1, &ended, "en", false),
            choice(2, &current, "en", false),
            choice(3, &earlier_current, "fr", false),
            choice(4, &closed, "en", false),
        ];
        assert_eq!(
            mitxonline_first_unexpired_run(&runs, now()),
            Some(2),
            "French non-primary run is skipped"
        );
        let runs = [
            choice(1, &ended, "en", false),
            choice(3, &earlier_current, "fr", true),
        ];
        assert_eq!(
            mitxonline_first_unexpired_run(&runs, now()),
            Some(3),
            "primary language counts"
        );
        let runs = [
            choice(1, &ended, "", false),
            choice(4, &closed, "en", false),
        ];
        assert_eq!(
            mitxonline_first_unexpired_run(&runs, now()),
            Some(1),
            "falls back to an ended enrollable run"
        );
        let runs = [choice(4, &closed, "en", false)];
        assert_eq!(mitxonline_first_unexpired_run(&runs, now()), None);
    }

    #[test]
    fn xpro_next_run_is_earliest_unexpired() {
        let later = RunWindow {
            start: at(30),
            ..open_run()
        };
        let sooner = RunWindow {
            start: at(10),
            ..open_run()
        };
        let expired = RunWindow {
            start: at(1),
            end: at(-1),
            ..open_run()
        };
        let undated = RunWindow {
            start: None,
            ..open_run()
        };
        let runs = [(1, &later), (2, &sooner), (3, &expired), (4, &undated)];
        assert_eq!(xpro_first_unexpired_run(&runs, now()), Some(2));
        assert_eq!(xpro_first_unexpired_run(&runs[2..], now()), None);
    }
}
