//! Who earns a certificate, by each reference's rules (xPRO §8, MITx Online §5): which runs
//! a grade sync visits, how a pulled grade lands next to a stored one, what a grade means
//! for the course certificate, and whether a program's requirement tree is satisfied.

use chrono::{DateTime, Duration, Utc};

use crate::catalog::Site;
use crate::catalog::requirements::{Operator, RequirementNode};

/// xPRO waits this long after a run ends before certifying it (`CERTIFICATE_CREATION_DELAY_IN_HOURS`).
pub const XPRO_DELAY_HOURS: i64 = 48;
/// MITx Online keeps certifying a run this long after its certificate date
/// (`CERTIFICATE_CREATION_WINDOW_IN_DAYS`).
pub const MITX_WINDOW_DAYS: i64 = 31;

/// A grade as the LMS reports it or as staff set it: a fraction from 0 to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    pub grade: f64,
    pub letter: Option<String>,
    pub passed: bool,
    /// Set by staff: a sync never overwrites it.
    pub set_by_admin: bool,
}

/// What a sync does with a pulled grade: keep a staff override, store a change, or nothing.
pub fn merge_grade(stored: Option<&Grade>, pulled: &Grade) -> Option<Grade> {
    match stored {
        Some(s) if s.set_by_admin => None,
        Some(s)
            if s.grade == pulled.grade
                && s.letter == pulled.letter
                && s.passed == pulled.passed =>
        {
            None
        }
        _ => Some(Grade {
            set_by_admin: false,
            ..pulled.clone()
        }),
    }
}

/// The dates of a run that decide its certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunDates {
    pub live: bool,
    pub is_external: bool,
    pub is_self_paced: bool,
    pub end: Option<DateTime<Utc>>,
    pub certificate_available: Option<DateTime<Utc>>,
}

/// Whether the scheduled grade sync visits a run now. xPRO: live, internal runs ended more
/// than 48 hours ago (xPRO then never revisits a run once it has any certificate, so late
/// grades are lost; here a run stays in the sync for the MITx Online window after that
/// delay, deliberately). MITx Online: live runs whose certificate date is unset or less
/// than 31 days past.
pub fn run_due_for_sync(site: Site, run: &RunDates, now: DateTime<Utc>) -> bool {
    if !run.live || run.is_external {
        return false;
    }
    match site {
        Site::Xpro => run.end.is_some_and(|end| {
            let open = end + Duration::hours(XPRO_DELAY_HOURS);
            open < now && now < open + Duration::days(MITX_WINDOW_DAYS)
        }),
        Site::Mitxonline => run
            .certificate_available
            .is_none_or(|date| date > now - Duration::days(MITX_WINDOW_DAYS)),
    }
}

/// What a grade means for the learner's certificate of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateAction {
    /// Create it, if there is none.
    Issue,
    /// A zero grade removes a certificate issued before.
    Remove,
    /// Leave things as they are (not passed, not yet, or not on a certificate track).
    Nothing,
}

/// The course certificate rule. xPRO: edX's `passed` flag certifies (no local threshold),
/// zero removes. MITx Online: only once the run is self-paced or past its certificate date;
/// zero removes; `passed` certifies a learner on the paid (verified) track only.
pub fn certificate_action(
    site: Site,
    run: &RunDates,
    grade: &Grade,
    paid_track: bool,
    now: DateTime<Utc>,
) -> CertificateAction {
    if site == Site::Mitxonline
        && !run.is_self_paced
        && run.certificate_available.is_none_or(|date| date > now)
    {
        return CertificateAction::Nothing;
    }
    grade_action(site, grade, paid_track)
}

/// The certificate rule without its date: what the grade alone means (MITx Online's
/// certificate webhook forces issuance past the certificate date this way).
pub fn grade_action(site: Site, grade: &Grade, paid_track: bool) -> CertificateAction {
    if grade.grade == 0.0 {
        return CertificateAction::Remove;
    }
    if grade.passed && (site == Site::Xpro || paid_track) {
        return CertificateAction::Issue;
    }
    CertificateAction::Nothing
}

/// Whether a requirement tree's root (its children, all required) is satisfied, given which
/// courses and nested programs the learner has earned.
pub fn tree_earned(
    children: &[RequirementNode<i64>],
    course_earned: &impl Fn(i64) -> bool,
    program_earned: &impl Fn(i64) -> bool,
) -> bool {
    children
        .iter()
        .all(|child| node_earned(child, course_earned, program_earned))
}

fn node_earned(
    node: &RequirementNode<i64>,
    course_earned: &impl Fn(i64) -> bool,
    program_earned: &impl Fn(i64) -> bool,
) -> bool {
    match node {
        RequirementNode::Course { course } => course_earned(*course),
        RequirementNode::Program { program } => program_earned(*program),
        RequirementNode::Operator {
            operator, children, ..
        } => {
            let earned = children
                .iter()
                .filter(|c| node_earned(c, course_earned, program_earned))
                .count();
            match operator {
                Operator::AllOf => earned == children.len(),
                Operator::MinNumberOf { count } => earned >= *count as usize,
            }
        }
    }
}

/// xPRO's program rule: a certificate in every course of the program. (xPRO counts
/// certificate rows against the number of courses, so two runs of one course could stand in
/// for another course; distinct courses are counted here, deliberately.)
pub fn xpro_program_earned(courses: &[i64], certified: &impl Fn(i64) -> bool) -> bool {
    !courses.is_empty() && courses.iter().all(|c| certified(*c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
    }

    fn grade(value: f64, passed: bool) -> Grade {
        Grade {
            grade: value,
            letter: None,
            passed,
            set_by_admin: false,
        }
    }

    fn run(end: u32, certificate: Option<u32>, self_paced: bool) -> RunDates {
        RunDates {
            live: true,
            is_external: false,
            is_self_paced: self_paced,
            end: Some(at(end)),
            certificate_available: certificate.map(at),
        }
    }

    #[test]
    fn a_staff_grade_is_never_overwritten_and_an_unchanged_one_is_not_rewritten() {
        let pulled = grade(0.8, true);
        assert_eq!(merge_grade(None, &pulled), Some(pulled.clone()));
        assert_eq!(merge_grade(Some(&pulled), &pulled), None);
        let staff = Grade {
            set_by_admin: true,
            ..grade(0.5, true)
        };
        assert_eq!(merge_grade(Some(&staff), &pulled), None);
        let changed = merge_grade(Some(&grade(0.6, false)), &pulled).unwrap();
        assert_eq!(changed.grade, 0.8);
        assert!(!changed.set_by_admin);
    }

    #[test]
    fn which_runs_each_reference_syncs() {
        let ended = run(1, None, false);
        assert!(
            !run_due_for_sync(Site::Xpro, &ended, at(2)),
            "inside the 48 hours"
        );
        assert!(run_due_for_sync(Site::Xpro, &ended, at(4)));
        let long_ago = RunDates {
            end: Some(at(1) - Duration::days(60)),
            ..ended
        };
        assert!(
            !run_due_for_sync(Site::Xpro, &long_ago, at(4)),
            "past the window"
        );
        assert!(!run_due_for_sync(
            Site::Xpro,
            &RunDates {
                is_external: true,
                ..ended
            },
            at(4)
        ));
        assert!(!run_due_for_sync(
            Site::Xpro,
            &RunDates { end: None, ..ended },
            at(4)
        ));
        assert!(!run_due_for_sync(
            Site::Mitxonline,
            &RunDates {
                live: false,
                ..ended
            },
            at(4)
        ));
        assert!(
            run_due_for_sync(Site::Mitxonline, &ended, at(4)),
            "no certificate date"
        );
        let dated = run(1, Some(2), false);
        assert!(run_due_for_sync(Site::Mitxonline, &dated, at(20)));
        assert!(!run_due_for_sync(
            Site::Mitxonline,
            &dated,
            at(2) + Duration::days(32)
        ));
    }

    #[test]
    fn the_course_certificate_rules_of_both_references() {
        use CertificateAction::*;
        let instructor_paced = run(1, Some(10), false);
        let (self_paced, undated) = (run(1, None, true), run(1, None, false));
        let (x, m) = (Site::Xpro, Site::Mitxonline);
        // (storefront, run, grade, passed, paid track, day, expected, why)
        let table = [
            (
                x,
                &instructor_paced,
                0.7,
                true,
                false,
                5,
                Issue,
                "xPRO: passed certifies, whatever the track",
            ),
            (
                x,
                &instructor_paced,
                0.0,
                false,
                true,
                5,
                Remove,
                "xPRO: zero removes",
            ),
            (
                x,
                &instructor_paced,
                0.4,
                false,
                true,
                5,
                Nothing,
                "xPRO: failed does nothing",
            ),
            (
                m,
                &instructor_paced,
                0.9,
                true,
                true,
                5,
                Nothing,
                "MITx Online: not before the certificate date",
            ),
            (
                m,
                &instructor_paced,
                0.0,
                false,
                true,
                5,
                Nothing,
                "MITx Online: not even a removal before it",
            ),
            (
                m,
                &instructor_paced,
                0.9,
                true,
                true,
                11,
                Issue,
                "MITx Online: verified and passed after the date",
            ),
            (
                m,
                &instructor_paced,
                0.9,
                true,
                false,
                11,
                Nothing,
                "MITx Online: audit never certifies",
            ),
            (
                m,
                &instructor_paced,
                0.0,
                false,
                true,
                11,
                Remove,
                "MITx Online: zero removes",
            ),
            (
                m,
                &instructor_paced,
                0.3,
                false,
                true,
                11,
                Nothing,
                "MITx Online: failed does nothing",
            ),
            (
                m,
                &self_paced,
                0.9,
                true,
                true,
                5,
                Issue,
                "MITx Online: self-paced certifies at once",
            ),
            (
                m,
                &undated,
                0.9,
                true,
                true,
                5,
                Nothing,
                "MITx Online: no certificate date, it waits",
            ),
        ];
        for (site, dates, value, passed, paid, day, expected, why) in table {
            assert_eq!(
                certificate_action(site, dates, &grade(value, passed), paid, at(day)),
                expected,
                "{why}"
            );
        }
        // Forced (the webhook), the date is not waited for; the track still is.
        assert_eq!(grade_action(m, &grade(0.9, true), true), Issue);
        assert_eq!(grade_action(m, &grade(0.9, true), false), Nothing);
    }

    fn course(id: i64) -> RequirementNode<i64> {
        RequirementNode::Course { course: id }
    }

    fn op(operator: Operator, children: Vec<RequirementNode<i64>>) -> RequirementNode<i64> {
        RequirementNode::Operator {
            operator,
            title: None,
            elective: false,
            children,
        }
    }

    #[test]
    fn requirement_trees_with_electives_and_nested_programs() {
        let tree = vec![
            op(Operator::AllOf, vec![course(1), course(2)]),
            op(
                Operator::MinNumberOf { count: 2 },
                vec![
                    course(3),
                    course(4),
                    RequirementNode::Program { program: 9 },
                ],
            ),
        ];
        let with = |courses: &'static [i64], program: bool| {
            tree_earned(&tree, &|c| courses.contains(&c), &|_| program)
        };
        assert!(with(&[1, 2, 3, 4], false));
        assert!(
            with(&[1, 2, 3], true),
            "a nested program counts as an elective"
        );
        assert!(!with(&[1, 2, 3], false), "one elective short");
        assert!(!with(&[2, 3, 4], true), "a required course missing");
        let nested = vec![op(
            Operator::AllOf,
            vec![op(
                Operator::MinNumberOf { count: 1 },
                vec![course(5), course(6)],
            )],
        )];
        assert!(tree_earned(&nested, &|c| c == 6, &|_| false));
        assert!(!tree_earned(&nested, &|_| false, &|_| false));
        assert!(
            tree_earned(&[], &|_| false, &|_| false),
            "an empty root is satisfied"
        );
    }

    #[test]
    fn xpro_programs_need_every_course_certified_once() {
        assert!(xpro_program_earned(&[1, 2], &|c| c == 1 || c == 2));
        assert!(
            !xpro_program_earned(&[1, 2], &|c| c == 1),
            "two certificates in course 1 do not stand in for course 2"
        );
        assert!(!xpro_program_earned(&[], &|_| true));
    }
}
