//! Courses: a subject and a title on each storefront's pattern, a page, instructors, and
//! the runs `runs` makes.

use domain::Money;
use domain::catalog::{CourseRecord, Instructor, PageRecord, Site};

use super::data::{
    CROSS_TOPICS, DEPARTMENTS, FACULTY_RANKS, FIRST_NAMES, LAST_NAMES, MITX_PREFIXES, WEEKLY_HOURS,
    WEEKS, XPRO_PREFIXES, XPRO_ROLES, XPRO_SUBJECTS,
};
use super::{Generator, current_run_price, feature_image, numbered_title, signatories, site_of};

/// What a course's subject determines, before its schedule and pricing.
struct Identity {
    theme: usize,
    readable_id: String,
    title: String,
    description: String,
    department: Option<&'static str>,
    topics: Vec<String>,
}

impl Generator {
    pub(super) fn course(&mut self, index: usize) -> CourseRecord {
        let site = site_of(index);
        let weeks = *self.rng.pick(&WEEKS);
        let (low_hours, high_hours) = *self.rng.pick(&WEEKLY_HOURS);
        let identity = match site {
            Site::Xpro => self.xpro_identity(weeks),
            Site::Mitxonline => self.mitx_identity(),
        };
        self.themes.push(identity.theme);
        let instructors = self.instructors(identity.department);
        let runs = self.runs(
            index,
            site,
            &identity.readable_id,
            &identity.title,
            weeks,
            &instructors,
        );
        let mut page = PageRecord {
            live: true,
            description: Some(identity.description),
            feature_image: Some(feature_image(index)),
            duration: Some(format!("{weeks} weeks")),
            time_commitment: Some(format!("{low_hours}-{high_hours} hrs/wk")),
            min_weeks: Some(weeks),
            max_weeks: Some(weeks),
            min_weekly_hours: Some(low_hours),
            max_weekly_hours: Some(high_hours),
            signatories: signatories(site, &instructors),
            ..PageRecord::default()
        };
        match site {
            Site::Xpro => {
                page.format = Some("Online".to_string());
                // One continuing-education unit per ten contact hours, at the midpoint effort.
                page.credits_centi = Some(weeks * (low_hours + high_hours) * 5);
            }
            Site::Mitxonline => {
                let prices: Vec<Money> = runs.iter().filter_map(current_run_price).collect();
                page.min_price = prices.iter().min().copied();
                page.max_price = prices.iter().max().copied();
                page.include_in_learn_catalog = self.rng.chance(9, 10);
            }
        }
        let xpro = site == Site::Xpro;
        CourseRecord {
            id: None,
            site,
            readable_id: identity.readable_id,
            title: identity.title,
            live: true,
            platform: xpro.then(|| "xPRO".to_string()),
            language: xpro.then(|| "English".to_string()),
            is_external: false,
            departments: identity.department.map(String::from).into_iter().collect(),
            topics: identity.topics,
            blocked_countries: Vec::new(),
            instructors,
            page: Some(page),
            runs,
        }
    }

    fn xpro_identity(&mut self, weeks: i32) -> Identity {
        let theme = self.rng.below(XPRO_SUBJECTS.len());
        let subject = &XPRO_SUBJECTS[theme];
        self.xpro_numbers[theme] += 1;
        let title = self.title(XPRO_PREFIXES, subject.name);
        Identity {
            theme,
            readable_id: format!(
                "course-v1:xPRO+{}x{}",
                subject.code, self.xpro_numbers[theme]
            ),
            description: format!(
                "<p>{title} is an online professional course from MIT xPRO for engineers, \
                 managers and technical leaders.</p><p>Over {weeks} weeks you will work through \
                 case studies and hands-on exercises in {}, guided by MIT faculty and industry \
                 practitioners.</p>",
                subject.name.to_lowercase()
            ),
            title,
            department: None,
            topics: vec![subject.topic.to_string()],
        }
    }

    fn mitx_identity(&mut self) -> Identity {
        let theme = self.rng.below(DEPARTMENTS.len());
        let department = &DEPARTMENTS[theme];
        let step = 1 + self.rng.below(4) as u32;
        self.department_numbers[theme] += step;
        let sequence = department.first_number + self.department_numbers[theme];
        // Some courses are the first half of a subject split in two, as 18.03.1x is.
        let number = if self.rng.chance(1, 4) {
            format!("{}.{sequence:02}.1x", department.number)
        } else {
            format!("{}.{sequence:02}x", department.number)
        };
        let subject = *self.rng.pick(department.subjects);
        let title = self.title(MITX_PREFIXES, subject);
        let mut topics = vec![department.topic.to_string()];
        if self.rng.chance(1, 3) {
            let extra = *self.rng.pick(CROSS_TOPICS);
            if extra != department.topic {
                topics.push(extra.to_string());
            }
        }
        Identity {
            theme,
            readable_id: format!("course-v1:MITxT+{number}"),
            description: format!(
                "<p>{title} is offered by the MIT Department of {}.</p><p>Through lecture \
                 videos, problem sets and exams you will build a working command of {}. \
                 Learners who pass can earn a verified certificate.</p>",
                department.name,
                subject.to_lowercase()
            ),
            title,
            department: Some(department.name),
            topics,
        }
    }

    /// Titles repeat once the word lists run out; a part number keeps them distinguishable.
    fn title(&mut self, prefixes: &[&str], subject: &str) -> String {
        let title = format!("{} {subject}", self.rng.pick(prefixes));
        let seen = self.titles.entry(title.clone()).or_insert(0);
        *seen += 1;
        numbered_title(&title, *seen as usize)
    }

    fn instructors(&mut self, department: Option<&str>) -> Vec<Instructor> {
        let count = 1 + self.rng.below(3);
        let mut chosen: Vec<Instructor> = Vec::with_capacity(count);
        while chosen.len() < count {
            let name = format!(
                "{} {}",
                self.rng.pick(FIRST_NAMES),
                self.rng.pick(LAST_NAMES)
            );
            if chosen.iter().any(|instructor| instructor.name == name) {
                continue;
            }
            let description = match department {
                Some(department) => {
                    format!("{} of {department}, MIT", self.rng.pick(FACULTY_RANKS))
                }
                None => self.rng.pick(XPRO_ROLES).to_string(),
            };
            chosen.push(Instructor { name, description });
        }
        chosen
    }
}
