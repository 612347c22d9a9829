//! Course runs: each course's schedule of ended, running, open and announced runs around
//! `now`, their run tags, and the products that sell them with their price history.

use chrono::{Datelike, TimeDelta};
use domain::catalog::{Instructor, ProductRecord, RunRecord, Site};

use super::data::{MITX_PRICES, XPRO_PRICES};
use super::{Generator, Instant, enrollment_modes, price_version};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunKind {
    /// Ended some months ago.
    Past,
    /// Started long ago, never ends, always open.
    SelfPaced,
    /// Started days ago, enrollment still open.
    Current,
    /// Starts within two months, enrollment already open.
    Upcoming,
    /// Starts in four to eight months, enrollment not yet open.
    Announced,
    /// Like `Announced`, but not yet published.
    Unpublished,
}

/// Run schedules, assigned by course index. The first plan alone has ended, running and
/// future runs, so any non-empty catalog shows all three; eight plans against the three-way
/// site rotation let both storefronts see every plan.
const RUN_PLANS: &[&[RunKind]] = &[
    &[RunKind::Past, RunKind::Current, RunKind::Upcoming],
    &[RunKind::Past, RunKind::Upcoming],
    &[RunKind::Current],
    &[RunKind::SelfPaced],
    &[
        RunKind::Past,
        RunKind::Past,
        RunKind::Current,
        RunKind::Announced,
    ],
    &[RunKind::Upcoming, RunKind::Announced],
    &[RunKind::Past],
    &[
        RunKind::Past,
        RunKind::SelfPaced,
        RunKind::Upcoming,
        RunKind::Unpublished,
    ],
];

struct Window {
    kind: RunKind,
    start: Instant,
    end: Option<Instant>,
    enrollment_start: Instant,
    enrollment_end: Option<Instant>,
}

impl Generator {
    pub(super) fn runs(
        &mut self,
        index: usize,
        site: Site,
        course_key: &str,
        title: &str,
        weeks: i32,
        instructors: &[Instructor],
    ) -> Vec<RunRecord> {
        let prices = match site {
            Site::Xpro => XPRO_PRICES,
            Site::Mitxonline => MITX_PRICES,
        };
        let price_index = self.rng.below(prices.len());
        let mut windows = Vec::new();
        let mut earlier_past_runs = 0;
        for &kind in RUN_PLANS[index % RUN_PLANS.len()] {
            windows.push(self.window(kind, earlier_past_runs, site, weeks));
            if kind == RunKind::Past {
                earlier_past_runs += 1;
            }
        }
        // Run tags count up in start order, as the storefronts number their runs.
        windows.sort_by_key(|window| window.start);
        let mut runs: Vec<RunRecord> = Vec::with_capacity(windows.len());
        for window in windows {
            let run_tag = match site {
                Site::Xpro => format!("R{}", runs.len() + 1),
                Site::Mitxonline => term_tag(window.start, &runs),
            };
            let courseware_id = format!("{course_key}+{run_tag}");
            // Every seventh course changed its price before its open runs went on sale, so
            // the demo has price history to show.
            let repriced =
                index % 7 == 1 && matches!(window.kind, RunKind::Current | RunKind::Upcoming);
            let product = self.product(prices, price_index, &window, repriced, &courseware_id);
            let upgrade_deadline = match (site, window.end) {
                (Site::Mitxonline, Some(end)) if self.rng.chance(2, 3) => {
                    Some(end - TimeDelta::days(self.rng.between(7, 21)))
                }
                (Site::Mitxonline, end) => end,
                (Site::Xpro, _) => None,
            };
            let certificate_available_date = window
                .end
                .map(|end| end + TimeDelta::days(self.rng.between(1, 14)));
            runs.push(RunRecord {
                id: None,
                courseware_url: Some(format!(
                    "https://courses.example.edu/learn/course/{courseware_id}/home"
                )),
                courseware_id,
                run_tag,
                title: title.to_string(),
                start_date: Some(window.start),
                end_date: window.end,
                enrollment_start: Some(window.enrollment_start),
                enrollment_end: window.enrollment_end,
                upgrade_deadline,
                expiration_date: None,
                certificate_available_date,
                is_self_paced: window.kind == RunKind::SelfPaced,
                live: window.kind != RunKind::Unpublished,
                language: "en".to_string(),
                enrollment_modes: match site {
                    Site::Xpro => Vec::new(),
                    Site::Mitxonline => enrollment_modes(),
                },
                instructors: instructors.to_vec(),
                product: Some(product),
            });
        }
        runs
    }

    fn window(&mut self, kind: RunKind, earlier_past_runs: i64, site: Site, weeks: i32) -> Window {
        let days = TimeDelta::days;
        let length = days(i64::from(weeks) * 7);
        let (start, end) = match kind {
            RunKind::Past => {
                let gap = self.rng.between(20, 90) + earlier_past_runs * self.rng.between(200, 260);
                let end = self.base - days(gap);
                (end - length, Some(end))
            }
            RunKind::SelfPaced => (self.base - days(self.rng.between(60, 400)), None),
            RunKind::Current => {
                let start = self.base - days(self.rng.between(3, 12));
                (start, Some(start + length))
            }
            RunKind::Upcoming => {
                let start = self.base + days(self.rng.between(10, 60));
                (start, Some(start + length))
            }
            RunKind::Announced | RunKind::Unpublished => {
                let start = self.base + days(self.rng.between(120, 240));
                (start, Some(start + length))
            }
        };
        let enrollment_start = match kind {
            RunKind::Upcoming => self.base - days(self.rng.between(5, 30)),
            RunKind::SelfPaced => start - days(14),
            _ => start - days(self.rng.between(30, 60)),
        };
        // xPRO closes enrollment two weeks into a run; MITx Online usually at its end, and
        // sometimes never.
        let enrollment_end = match (site, end) {
            (_, None) => None,
            (Site::Xpro, Some(_)) => Some(start + days(14)),
            (Site::Mitxonline, Some(end)) => self.rng.chance(3, 4).then_some(end),
        };
        Window {
            kind,
            start,
            end,
            enrollment_start,
            enrollment_end,
        }
    }

    fn product(
        &mut self,
        prices: &[i64],
        price_index: usize,
        window: &Window,
        repriced: bool,
        description: &str,
    ) -> ProductRecord {
        let later = matches!(
            window.kind,
            RunKind::Upcoming | RunKind::Announced | RunKind::Unpublished
        );
        // Later runs sometimes cost a step more, so course pages show a price range.
        let index = if later && self.rng.chance(1, 4) {
            (price_index + 1).min(prices.len() - 1)
        } else {
            price_index
        };
        // Prices go on sale before enrollment opens, but a catalog cannot hold a price set
        // after today.
        let priced_on = (window.start - TimeDelta::days(60)).min(self.base - TimeDelta::days(1));
        let mut versions = Vec::with_capacity(2);
        if repriced {
            let previous = if index > 0 { index - 1 } else { index + 1 };
            versions.push(price_version(
                prices[previous],
                priced_on - TimeDelta::days(180),
            ));
        }
        versions.push(price_version(prices[index], priced_on));
        ProductRecord {
            id: None,
            is_active: true,
            description: description.to_string(),
            prices: versions,
        }
    }
}

/// MITx Online names a run after the term it starts in; a second run starting in the same
/// term gets a letter.
fn term_tag(start: Instant, earlier: &[RunRecord]) -> String {
    let term = match start.month() {
        1..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let tag = format!("{term}T{}", start.year());
    let mut candidate = tag.clone();
    let mut letter = b'b';
    while earlier.iter().any(|run| run.run_tag == candidate) {
        candidate = format!("{tag}{}", letter as char);
        letter += 1;
    }
    candidate
}
