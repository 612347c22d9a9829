//! A synthetic catalog for `registrar demo` and the benchmarks: both storefronts, runs on
//! every side of `now`, priced products with some price history, and program trees with
//! electives and nested programs. The generator is deterministic so a demo database and a
//! benchmark input look the same on every machine.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use domain::Money;
use domain::catalog::requirements::{Operator, RequirementNode};
use domain::catalog::{
    Catalog, CourseRecord, Instructor, PageRecord, PriceVersion, ProductRecord, ProgramRecord,
    ProgramRunRecord, Reference, RequirementRecord, RunRecord, Signatory, Site,
};

type Instant = DateTime<Utc>;

/// Builds `courses` courses and `programs` programs, about a third of each on xPRO and the rest
/// on MITx Online. Dates are placed relative to `now` (truncated to the minute) so the demo
/// always has ended, running, open and announced runs; everything else depends only on the
/// counts, so two calls with the same arguments give equal catalogs.
pub fn synthetic_catalog(now: DateTime<Utc>, courses: usize, programs: usize) -> Catalog {
    let mut generator = Generator::new(now);
    let mut catalog = Catalog::default();
    for index in 0..courses {
        let course = generator.course(index);
        catalog.courses.push(course);
    }
    for index in 0..programs {
        let program = generator.program(index, &catalog);
        catalog.programs.push(program);
    }
    catalog
}

const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// xorshift64*: enough spread for sample data, without a dependency on `rand`.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`; `n` must be positive.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next_u64() % (high - low + 1) as u64) as i64
    }

    fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.next_u64() % denominator < numerator
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

struct XproSubject {
    code: &'static str,
    name: &'static str,
    topic: &'static str,
    program: &'static str,
}

const XPRO_SUBJECTS: &[XproSubject] = &[
    XproSubject {
        code: "AI",
        name: "Artificial Intelligence",
        topic: "Technology:Artificial Intelligence",
        program: "AIP",
    },
    XproSubject {
        code: "DT",
        name: "Digital Transformation",
        topic: "Business:Leadership & Organizations",
        program: "DTP",
    },
    XproSubject {
        code: "QC",
        name: "Quantum Computing",
        topic: "Technology:Quantum Computing",
        program: "QCF",
    },
    XproSubject {
        code: "CS",
        name: "Cybersecurity",
        topic: "Technology:Cybersecurity",
        program: "CSP",
    },
    XproSubject {
        code: "SE",
        name: "Systems Engineering",
        topic: "Engineering",
        program: "SEP",
    },
    XproSubject {
        code: "EN",
        name: "Sustainable Energy Systems",
        topic: "Energy",
        program: "SES",
    },
    XproSubject {
        code: "AM",
        name: "Additive Manufacturing",
        topic: "Engineering",
        program: "AMP",
    },
    XproSubject {
        code: "DS",
        name: "Data Science",
        topic: "Data Science",
        program: "DSA",
    },
    XproSubject {
        code: "TL",
        name: "Technical Leadership",
        topic: "Business:Leadership & Organizations",
        program: "TLP",
    },
];

struct Department {
    name: &'static str,
    /// The MIT course number that prefixes the department's subjects (`18` in `18.03x`).
    number: &'static str,
    /// Where the department's generated subject numbers start, so they resemble real ones.
    first_number: u32,
    topic: &'static str,
    subjects: &'static [&'static str],
    program: &'static str,
    program_title: &'static str,
    micromasters: bool,
}

const DEPARTMENTS: &[Department] = &[
    Department {
        name: "Mathematics",
        number: "18",
        first_number: 0,
        topic: "Mathematics",
        subjects: &[
            "Calculus",
            "Differential Equations",
            "Linear Algebra",
            "Probability",
            "Real Analysis",
        ],
        program: "MATH",
        program_title: "Foundations of Mathematics",
        micromasters: false,
    },
    Department {
        name: "Physics",
        number: "8",
        first_number: 0,
        topic: "Science",
        subjects: &[
            "Classical Mechanics",
            "Electricity and Magnetism",
            "Quantum Mechanics",
            "Statistical Physics",
            "Astrophysics",
        ],
        program: "PHYS",
        program_title: "Foundations of Modern Physics",
        micromasters: false,
    },
    Department {
        name: "Economics",
        number: "14",
        first_number: 300,
        topic: "Social Sciences",
        subjects: &[
            "Microeconomics",
            "Development Economics",
            "Data Analysis for Social Scientists",
            "Political Economy",
            "Game Theory",
        ],
        program: "DEDP",
        program_title: "Data, Economics, and Design of Policy",
        micromasters: true,
    },
    Department {
        name: "Electrical Engineering and Computer Science",
        number: "6",
        first_number: 0,
        topic: "Computer Science",
        subjects: &[
            "Computer Science and Programming",
            "Machine Learning",
            "Circuits and Electronics",
            "Algorithms",
            "Computation Structures",
        ],
        program: "CSE",
        program_title: "Computer Science Foundations",
        micromasters: false,
    },
    Department {
        name: "Mechanical Engineering",
        number: "2",
        first_number: 0,
        topic: "Engineering",
        subjects: &[
            "Thermodynamics",
            "Dynamics",
            "Fluid Mechanics",
            "Manufacturing Processes",
            "Control Systems",
        ],
        program: "MFG",
        program_title: "Principles of Manufacturing",
        micromasters: true,
    },
    Department {
        name: "Chemistry",
        number: "5",
        first_number: 110,
        topic: "Science",
        subjects: &[
            "Organic Chemistry",
            "Chemical Kinetics",
            "Solid-State Chemistry",
            "Biological Chemistry",
        ],
        program: "CHEM",
        program_title: "Chemistry Fundamentals",
        micromasters: false,
    },
    Department {
        name: "Biology",
        number: "7",
        first_number: 0,
        topic: "Science",
        subjects: &[
            "Molecular Biology",
            "Genetics",
            "Biochemistry",
            "Cell Biology",
            "Quantitative Biology",
        ],
        program: "BIO",
        program_title: "Life Sciences",
        micromasters: false,
    },
    Department {
        name: "Data, Systems, and Society",
        number: "IDS",
        first_number: 130,
        topic: "Data Science",
        subjects: &[
            "Statistics",
            "Data Analysis",
            "Supply Chain Analytics",
            "Networks",
            "Probabilistic Systems Analysis",
        ],
        program: "SDS",
        program_title: "Statistics and Data Science",
        micromasters: true,
    },
];

const MITX_PREFIXES: &[&str] = &[
    "Introduction to",
    "Principles of",
    "Advanced",
    "Foundations of",
    "Topics in",
    "Applied",
    "Fundamentals of",
];

const XPRO_PREFIXES: &[&str] = &[
    "Introduction to",
    "Principles of",
    "Advanced",
    "Applied",
    "Fundamentals of",
    "Strategies for",
    "Implementing",
];

const CROSS_TOPICS: &[&str] = &["Data Science", "Energy", "Engineering", "Mathematics"];

const FIRST_NAMES: &[&str] = &[
    "Ana", "Daniel", "David", "Esther", "Gilbert", "Hae-Won", "Jonathan", "Karen", "Leah", "Luis",
    "Marta", "Nikhil", "Olivia", "Priya", "Rafael", "Sara", "Tomás", "Wei", "Yuki", "Zeynep",
];

const LAST_NAMES: &[&str] = &[
    "Alvarez", "Brennan", "Chen", "Dasgupta", "Eriksen", "Fischer", "Garcia", "Hoffman", "Ibrahim",
    "Jensen", "Kowalski", "Liu", "Moreau", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi", "Sato",
    "Thompson",
];

const FACULTY_RANKS: &[&str] = &["Professor", "Associate Professor", "Assistant Professor"];

const XPRO_ROLES: &[&str] = &[
    "Professor of the Practice, MIT",
    "Principal Research Scientist, MIT",
    "Senior Lecturer, MIT Sloan School of Management",
    "Research Affiliate, MIT Lincoln Laboratory",
    "Director of Executive Education, MIT",
];

/// Whole-dollar price points; xPRO sells professional courses, MITx Online verified tracks.
const XPRO_PRICES: &[i64] = &[999, 1250, 1490, 1750, 1999, 2250, 2490, 2750, 2999];
const MITX_PRICES: &[i64] = &[49, 75, 99, 149, 199, 250, 300, 500, 750, 1000];

const WEEKS: [i32; 6] = [4, 6, 6, 8, 10, 12];
const WEEKLY_HOURS: [(i32, i32); 5] = [(3, 5), (5, 7), (5, 7), (6, 8), (8, 10)];

const DEMO_IMAGES: usize = 12;

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

/// Every third record is xPRO, interleaved so that even a tiny catalog has both storefronts.
fn site_of(index: usize) -> Site {
    if index.is_multiple_of(3) {
        Site::Xpro
    } else {
        Site::Mitxonline
    }
}

struct Window {
    kind: RunKind,
    start: Instant,
    end: Option<Instant>,
    enrollment_start: Instant,
    enrollment_end: Option<Instant>,
}

/// What a course's subject determines, before its schedule and pricing.
struct Identity {
    theme: usize,
    readable_id: String,
    title: String,
    description: String,
    department: Option<&'static str>,
    topics: Vec<String>,
}

/// What distinguishes one program from another; the rest of its record follows from this.
struct ProgramPlan {
    readable_id: String,
    title: String,
    program_type: &'static str,
    departments: Vec<String>,
    requirements: Vec<RequirementRecord>,
    /// Every course the tree names, in tree order.
    courses: Vec<usize>,
    /// The courses a learner pays for to finish: the required ones and just enough electives.
    priced: Vec<usize>,
}

struct Generator {
    rng: Rng,
    base: Instant,
    xpro_numbers: Vec<u32>,
    department_numbers: Vec<u32>,
    titles: BTreeMap<String, u32>,
    /// The subject (xPRO) or department (MITx Online) index of each course generated so far,
    /// so programs can gather related courses.
    themes: Vec<usize>,
}

impl Generator {
    fn new(now: Instant) -> Self {
        let base = now
            .with_nanosecond(0)
            .and_then(|t| t.with_second(0))
            .expect("second zero exists in every minute");
        Self {
            rng: Rng(SEED),
            base,
            xpro_numbers: vec![0; XPRO_SUBJECTS.len()],
            department_numbers: vec![0; DEPARTMENTS.len()],
            titles: BTreeMap::new(),
            themes: Vec::new(),
        }
    }

    fn course(&mut self, index: usize) -> CourseRecord {
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

    fn runs(
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

    fn program(&mut self, index: usize, catalog: &Catalog) -> ProgramRecord {
        let site = site_of(index);
        let ordinal = catalog.programs.iter().filter(|p| p.site == site).count();
        let plan = match site {
            Site::Xpro => self.xpro_plan(ordinal, &catalog.courses),
            Site::Mitxonline => self.mitx_plan(ordinal, catalog),
        };
        let courses: Vec<&CourseRecord> =
            plan.courses.iter().map(|&i| &catalog.courses[i]).collect();
        let list_price = Money::from_minor(
            plan.priced
                .iter()
                .filter_map(|&i| current_price(&catalog.courses[i]))
                .map(|price| price.minor)
                .sum(),
        );
        let mut page = PageRecord {
            live: true,
            description: Some(program_description(&plan.title, &courses)),
            feature_image: Some(feature_image(index)),
            duration: Some(format!("{} courses", courses.len())),
            time_commitment: courses
                .first()
                .and_then(|course| course.page.as_ref()?.time_commitment.clone()),
            ..PageRecord::default()
        };
        page.signatories = signatories(site, &program_instructors(&courses));
        let mut record = ProgramRecord {
            id: None,
            site,
            readable_id: plan.readable_id,
            title: plan.title,
            live: true,
            program_type: plan.program_type.to_string(),
            platform: None,
            language: None,
            is_external: false,
            availability: None,
            display_mode: None,
            b2b_only: false,
            start_date: None,
            end_date: None,
            enrollment_start: None,
            enrollment_end: None,
            enrollment_modes: Vec::new(),
            departments: plan.departments,
            instructors: program_instructors(&courses),
            page: None,
            product: None,
            runs: Vec::new(),
            requirements: plan.requirements,
        };
        match site {
            Site::Xpro => {
                page.format = Some("Online".to_string());
                page.credits_centi = Some(
                    courses
                        .iter()
                        .filter_map(|course| course.page.as_ref()?.credits_centi)
                        .sum(),
                );
                record.platform = Some("xPRO".to_string());
                record.language = Some("English".to_string());
                // xPRO sells a program as one of its runs (`…+R1`).
                let (start_date, end_date) = upcoming_span(&courses, self.base);
                record.runs = vec![ProgramRunRecord {
                    run_tag: "R1".to_string(),
                    start_date,
                    end_date,
                }];
                // The bundle sells at about 15% off its courses, in whole $50 steps.
                let bundle = list_price.minor * 85 / 100 / 5_000 * 5_000;
                record.product = Some(ProductRecord {
                    id: None,
                    is_active: true,
                    description: record.readable_id.clone(),
                    prices: vec![price_version(
                        bundle.max(99_900) / 100,
                        self.base - TimeDelta::days(90),
                    )],
                });
            }
            Site::Mitxonline => {
                page.price_text = Some(dollars(list_price));
                page.list_price = Some(list_price);
                page.include_in_learn_catalog = self.rng.chance(5, 6);
                record.enrollment_modes = enrollment_modes();
                let dated = self.rng.chance(1, 3);
                record.availability = Some(if dated { "dated" } else { "anytime" }.to_string());
                if dated {
                    (record.start_date, record.end_date) = upcoming_span(&courses, self.base);
                }
            }
        }
        record.page = Some(page);
        record
    }

    fn xpro_plan(&mut self, ordinal: usize, courses: &[CourseRecord]) -> ProgramPlan {
        let theme = ordinal % XPRO_SUBJECTS.len();
        let part = ordinal / XPRO_SUBJECTS.len() + 1;
        let subject = &XPRO_SUBJECTS[theme];
        let wanted = 2 + self.rng.below(3);
        let chosen: Vec<usize> = self
            .course_pool(Site::Xpro, theme, courses)
            .into_iter()
            .take(wanted)
            .collect();
        ProgramPlan {
            readable_id: format!("program-v1:xPRO+{}", numbered_code(subject.program, part)),
            title: numbered_title(
                &format!("Professional Certificate Program in {}", subject.name),
                part,
            ),
            program_type: "Series",
            departments: Vec::new(),
            requirements: ProgramRecord::all_of_courses(
                chosen.iter().map(|&i| courses[i].readable_id.clone()),
            ),
            priced: chosen.clone(),
            courses: chosen,
        }
    }

    fn mitx_plan(&mut self, ordinal: usize, catalog: &Catalog) -> ProgramPlan {
        let theme = ordinal % DEPARTMENTS.len();
        let part = ordinal / DEPARTMENTS.len() + 1;
        let department = &DEPARTMENTS[theme];
        let pool = self.course_pool(Site::Mitxonline, theme, &catalog.courses);
        let required_count = (2 + self.rng.below(2)).min(pool.len());
        let (required, rest) = pool.split_at(required_count);
        // The first program always has electives so that every demo shows the group.
        let elective_count = if ordinal == 0 || self.rng.chance(2, 3) {
            (2 + self.rng.below(3)).min(rest.len())
        } else {
            0
        };
        let electives = &rest[..elective_count];
        let mut required_children: Vec<RequirementRecord> = required
            .iter()
            .map(|&i| course_leaf(&catalog.courses[i]))
            .collect();
        let mut elective_children: Vec<RequirementRecord> = electives
            .iter()
            .map(|&i| course_leaf(&catalog.courses[i]))
            .collect();
        // The second program always nests another so that catalogs of three or more programs
        // show nesting. Only programs generated earlier are named, which keeps the
        // "requires" graph acyclic.
        if ordinal == 1 || (ordinal > 1 && self.rng.chance(1, 4)) {
            let earlier: Vec<&ProgramRecord> = catalog
                .programs
                .iter()
                .filter(|program| program.site == Site::Mitxonline)
                .collect();
            let nested = RequirementNode::Program {
                program: Reference::ReadableId {
                    readable_id: self.rng.pick(&earlier).readable_id.clone(),
                },
            };
            if !elective_children.is_empty() && self.rng.chance(1, 2) {
                elective_children.push(nested);
            } else {
                required_children.push(nested);
            }
        }
        let mut requirements = vec![RequirementNode::Operator {
            operator: Operator::AllOf,
            title: Some("Required Courses".to_string()),
            elective: false,
            children: required_children,
        }];
        let mut priced = required.to_vec();
        if !elective_children.is_empty() {
            let offered = elective_children.len();
            let count = if offered >= 2 {
                1 + self.rng.below(offered - 1)
            } else {
                offered
            };
            priced.extend(electives.iter().take(count));
            requirements.push(RequirementNode::Operator {
                operator: Operator::MinNumberOf {
                    count: count as u32,
                },
                title: Some("Elective Courses".to_string()),
                elective: true,
                children: elective_children,
            });
        }
        ProgramPlan {
            readable_id: format!(
                "program-v1:MITx+{}",
                numbered_code(department.program, part)
            ),
            title: numbered_title(department.program_title, part),
            program_type: if department.micromasters && part == 1 {
                "MicroMasters®"
            } else {
                "Series"
            },
            departments: vec![department.name.to_string()],
            requirements,
            courses: required.iter().chain(electives).copied().collect(),
            priced,
        }
    }

    /// The courses of `site` in the order a program should draw them: those on the
    /// program's theme first, then the rest, each group shuffled. Drawing from the front
    /// never repeats a course within one program.
    fn course_pool(&mut self, site: Site, theme: usize, courses: &[CourseRecord]) -> Vec<usize> {
        let (mut pool, mut others): (Vec<usize>, Vec<usize>) = (0..courses.len())
            .filter(|&i| courses[i].site == site)
            .partition(|&i| self.themes[i] == theme);
        self.rng.shuffle(&mut pool);
        self.rng.shuffle(&mut others);
        pool.extend(others);
        pool
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

fn numbered_title(title: &str, part: usize) -> String {
    if part == 1 {
        title.to_string()
    } else {
        format!("{title}: Part {part}")
    }
}

fn numbered_code(code: &str, part: usize) -> String {
    if part == 1 {
        code.to_string()
    } else {
        format!("{code}{part}")
    }
}

fn feature_image(index: usize) -> String {
    format!("/static/images/demo/{}.jpg", index % DEMO_IMAGES + 1)
}

fn enrollment_modes() -> Vec<String> {
    vec!["audit".to_string(), "verified".to_string()]
}

fn price_version(dollars: i64, created_on: Instant) -> PriceVersion {
    PriceVersion {
        price: Money::from_minor(dollars * 100),
        created_on: Some(created_on),
    }
}

fn current_run_price(run: &RunRecord) -> Option<Money> {
    run.product
        .as_ref()?
        .prices
        .last()
        .map(|version| version.price)
}

/// What a learner pays for the course today: the current price of its latest run.
fn current_price(course: &CourseRecord) -> Option<Money> {
    course.runs.iter().rev().find_map(current_run_price)
}

fn course_leaf(course: &CourseRecord) -> RequirementRecord {
    RequirementNode::Course {
        course: Reference::ReadableId {
            readable_id: course.readable_id.clone(),
        },
    }
}

/// Who signs the certificates: the lead instructor and the storefront's director.
fn signatories(site: Site, instructors: &[Instructor]) -> Vec<Signatory> {
    let lead = instructors.first().map(|i| Signatory {
        name: i.name.clone(),
        title: Some("Faculty Lead".to_string()),
        organization: Some("Massachusetts Institute of Technology".to_string()),
    });
    let director = Signatory {
        name: "Jordan Rivera".to_string(),
        title: Some("Executive Director".to_string()),
        organization: Some(site.display_name().to_string()),
    };
    lead.into_iter().chain([director]).collect()
}

/// A program's faculty list names each course's lead instructor once.
fn program_instructors(courses: &[&CourseRecord]) -> Vec<Instructor> {
    let mut instructors: Vec<Instructor> = Vec::new();
    for lead in courses
        .iter()
        .filter_map(|course| course.instructors.first())
    {
        if !instructors.iter().any(|i| i.name == lead.name) {
            instructors.push(lead.clone());
        }
    }
    instructors
}

fn program_description(title: &str, courses: &[&CourseRecord]) -> String {
    let mut description = format!(
        "<p>{title} brings together courses taught by MIT faculty, taken one at a time or \
         alongside a cohort, and ends with a program certificate.</p>"
    );
    if !courses.is_empty() {
        let titles: Vec<&str> = courses.iter().map(|course| course.title.as_str()).collect();
        description.push_str(&format!("<p>Courses include {}.</p>", titles.join(", ")));
    }
    description
}

/// A dated program runs from the earliest upcoming run of its courses to the last end of
/// those runs.
fn upcoming_span(courses: &[&CourseRecord], now: Instant) -> (Option<Instant>, Option<Instant>) {
    let upcoming: Vec<&RunRecord> = courses
        .iter()
        .copied()
        .flat_map(|course| &course.runs)
        .filter(|run| run.live && run.start_date.is_some_and(|start| start > now))
        .collect();
    (
        upcoming.iter().filter_map(|run| run.start_date).min(),
        upcoming.iter().filter_map(|run| run.end_date).max(),
    )
}

/// "$1,250", the way program pages print a price.
fn dollars(money: Money) -> String {
    let digits = (money.minor / 100).to_string();
    let mut text = String::from("$");
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{TimeZone, Timelike};
    use domain::catalog::requirements::{course_leaves, find_cycle, program_leaves, validate};
    use domain::catalog::{FORMAT, RunWindow};
    use domain::{CoursewareId, ReadableId};

    use super::*;

    /// Deliberately not on a minute boundary, to check the truncation.
    fn now() -> Instant {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 34, 56).unwrap() + TimeDelta::milliseconds(789)
    }

    fn demo() -> Catalog {
        synthetic_catalog(now(), 48, 12)
    }

    fn window(run: &RunRecord) -> RunWindow {
        RunWindow {
            live: run.live,
            start: run.start_date,
            end: run.end_date,
            enrollment_start: run.enrollment_start,
            enrollment_end: run.enrollment_end,
            upgrade_deadline: run.upgrade_deadline,
        }
    }

    fn readable(reference: &Reference) -> &str {
        match reference {
            Reference::ReadableId { readable_id } => readable_id,
            Reference::Id { id } => panic!("leaves should name records by readable id, got {id}"),
        }
    }

    fn all_runs(catalog: &Catalog) -> impl Iterator<Item = (&CourseRecord, &RunRecord)> {
        catalog
            .courses
            .iter()
            .flat_map(|course| course.runs.iter().map(move |run| (course, run)))
    }

    #[test]
    fn produces_the_requested_counts_on_both_storefronts() {
        for (courses, programs) in [(0, 0), (1, 1), (2, 3), (5, 0), (48, 12), (500, 50)] {
            let catalog = synthetic_catalog(now(), courses, programs);
            assert_eq!(catalog.format, FORMAT);
            assert_eq!(catalog.courses.len(), courses);
            assert_eq!(catalog.programs.len(), programs);
            for course in &catalog.courses {
                assert!(
                    (1..=4).contains(&course.runs.len()),
                    "{}",
                    course.readable_id
                );
                assert!((1..=3).contains(&course.instructors.len()));
            }
        }
        let catalog = demo();
        let xpro = |site: Site| site == Site::Xpro;
        assert_eq!(catalog.courses.iter().filter(|c| xpro(c.site)).count(), 16);
        assert_eq!(catalog.programs.iter().filter(|p| xpro(p.site)).count(), 4);
        assert!(
            catalog
                .programs
                .iter()
                .any(|p| p.program_type == "MicroMasters®")
        );
    }

    #[test]
    fn ids_are_unique_well_formed_and_unassigned() {
        for catalog in [demo(), synthetic_catalog(now(), 500, 50)] {
            let mut readable_ids = BTreeSet::new();
            let mut courseware_ids = BTreeSet::new();
            for course in &catalog.courses {
                ReadableId::parse(course.readable_id.as_str()).unwrap();
                assert!(
                    readable_ids.insert(course.readable_id.as_str()),
                    "duplicate {}",
                    course.readable_id
                );
                let org = match course.site {
                    Site::Xpro => "xPRO",
                    Site::Mitxonline => "MITxT",
                };
                assert!(course.readable_id.starts_with(&format!("course-v1:{org}+")));
                assert_eq!(course.id, None);
                for run in &course.runs {
                    let key = CoursewareId::parse(run.courseware_id.as_str()).unwrap();
                    assert_eq!(
                        format!("course-v1:{}+{}", key.org(), key.number()),
                        course.readable_id
                    );
                    assert_eq!(key.run(), run.run_tag);
                    assert!(
                        courseware_ids.insert(run.courseware_id.as_str()),
                        "duplicate {}",
                        run.courseware_id
                    );
                    assert_eq!(run.id, None);
                    assert!(run.product.as_ref().is_some_and(|p| p.id.is_none()));
                }
            }
            for program in &catalog.programs {
                ReadableId::parse(program.readable_id.as_str()).unwrap();
                assert!(
                    readable_ids.insert(program.readable_id.as_str()),
                    "duplicate {}",
                    program.readable_id
                );
                let org = match program.site {
                    Site::Xpro => "xPRO",
                    Site::Mitxonline => "MITx",
                };
                assert!(
                    program
                        .readable_id
                        .starts_with(&format!("program-v1:{org}+"))
                );
                assert_eq!(program.id, None);
                assert!(program.product.as_ref().is_none_or(|p| p.id.is_none()));
            }
        }
    }

    #[test]
    fn requirement_trees_are_valid_acyclic_and_resolve_within_the_catalog() {
        for catalog in [
            demo(),
            synthetic_catalog(now(), 500, 50),
            synthetic_catalog(now(), 2, 3),
        ] {
            let course_sites: BTreeMap<&str, Site> = catalog
                .courses
                .iter()
                .map(|c| (c.readable_id.as_str(), c.site))
                .collect();
            let positions: BTreeMap<&str, usize> = catalog
                .programs
                .iter()
                .enumerate()
                .map(|(i, p)| (p.readable_id.as_str(), i))
                .collect();
            let mut edges: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for (position, program) in catalog.programs.iter().enumerate() {
                let name = &program.readable_id;
                assert_eq!(validate(&program.requirements), Ok(()), "{name}");
                let mut seen = BTreeSet::new();
                for leaf in course_leaves(&program.requirements) {
                    let id = readable(leaf.reference);
                    assert_eq!(
                        course_sites.get(id),
                        Some(&program.site),
                        "{name} requires {id}, which is missing or on the other storefront"
                    );
                    assert!(seen.insert(id), "{name} names {id} twice");
                }
                for leaf in program_leaves(&program.requirements) {
                    let id = readable(leaf.reference);
                    let target = *positions
                        .get(id)
                        .unwrap_or_else(|| panic!("{name} requires unknown program {id}"));
                    assert!(target < position, "{name} requires a later program {id}");
                    edges.entry(position).or_default().push(target);
                }
            }
            assert_eq!(find_cycle(&edges), None);
        }
    }

    #[test]
    fn programs_show_nesting_electives_and_xpro_bundles() {
        for catalog in [demo(), synthetic_catalog(now(), 2, 3)] {
            assert!(
                catalog
                    .programs
                    .iter()
                    .any(|p| !program_leaves(&p.requirements).is_empty()),
                "no nested program among {} programs",
                catalog.programs.len()
            );
        }
        let catalog = demo();
        let elective_groups: Vec<(u32, usize)> = catalog
            .programs
            .iter()
            .flat_map(|program| &program.requirements)
            .filter_map(|node| match node {
                RequirementNode::Operator {
                    operator: Operator::MinNumberOf { count },
                    title,
                    elective: true,
                    children,
                } if title.as_deref() == Some("Elective Courses") => Some((*count, children.len())),
                _ => None,
            })
            .collect();
        assert!(!elective_groups.is_empty());
        assert!(
            elective_groups
                .iter()
                .all(|&(count, children)| count >= 1 && (count as usize) <= children)
        );
        for program in &catalog.programs {
            let page = program.page.as_ref().expect("every program has a page");
            assert!(page.live);
            assert!(
                page.description
                    .as_deref()
                    .is_some_and(|d| d.starts_with("<p>"))
            );
            match program.site {
                Site::Xpro => {
                    let courses = course_leaves(&program.requirements).len();
                    assert!((2..=4).contains(&courses), "{}", program.readable_id);
                    let price = program.product.as_ref().and_then(|p| p.prices.last());
                    assert!(price.is_some_and(|v| v.price.minor >= 99_900));
                    assert_eq!(program.platform.as_deref(), Some("xPRO"));
                }
                Site::Mitxonline => {
                    assert_eq!(program.enrollment_modes, ["audit", "verified"]);
                    assert!(
                        page.price_text
                            .as_deref()
                            .is_some_and(|t| t.starts_with('$'))
                    );
                    assert!(page.list_price.is_some());
                    assert!(matches!(
                        program.availability.as_deref(),
                        Some("anytime" | "dated")
                    ));
                    assert_eq!(program.departments.len(), 1);
                }
            }
        }
    }

    #[test]
    fn runs_fall_before_during_and_after_now() {
        let catalog = demo();
        let now = now();
        let windows: Vec<(Site, RunWindow)> = all_runs(&catalog)
            .map(|(course, run)| (course.site, window(run)))
            .collect();
        let any = |check: fn(&RunWindow, Instant) -> bool| {
            windows.iter().any(|(_, window)| check(window, now))
        };
        assert!(any(|w, now| w.is_past(now)), "no ended run");
        assert!(
            any(|w, now| w.start.is_some_and(|s| s <= now)
                && w.end.is_some_and(|e| e > now)
                && w.is_enrollable(now)),
            "no run in progress with enrollment open"
        );
        assert!(
            any(|w, now| w.start.is_some_and(|s| s > now) && w.is_enrollable(now)),
            "no future run open for enrollment"
        );
        assert!(
            any(|w, now| w.live && w.start.is_some_and(|s| s > now) && !w.is_enrollable(now)),
            "no announced run awaiting enrollment"
        );
        assert!(any(|w, _| !w.live), "no unpublished run");
        assert!(
            all_runs(&catalog).any(|(_, run)| run.is_self_paced && run.end_date.is_none()),
            "no self-paced run"
        );
        assert!(
            windows
                .iter()
                .any(|(site, w)| *site == Site::Xpro && w.is_unexpired(now)),
            "the xPRO catalog would be empty"
        );
    }

    #[test]
    fn dates_are_whole_minutes_coherent_and_prices_in_range() {
        let now = now();
        let catalog = synthetic_catalog(now, 500, 50);
        for (course, run) in all_runs(&catalog) {
            let dates = [
                run.start_date,
                run.end_date,
                run.enrollment_start,
                run.enrollment_end,
                run.upgrade_deadline,
                run.certificate_available_date,
                run.expiration_date,
            ];
            for date in dates.into_iter().flatten() {
                assert_eq!((date.second(), date.nanosecond()), (0, 0), "{date}");
            }
            let start = run.start_date.expect("every run is dated");
            assert!(run.enrollment_start.is_some_and(|s| s <= start));
            assert!(run.end_date.is_none_or(|end| end > start));
            if let (Some(deadline), Some(end)) = (run.upgrade_deadline, run.end_date) {
                assert!(deadline <= end);
            }
            assert_eq!(run.instructors, course.instructors);
            let (low, high) = match course.site {
                Site::Xpro => (99_900, 299_900),
                Site::Mitxonline => (4_900, 100_000),
            };
            let product = run.product.as_ref().expect("every run is sold");
            assert!(!product.prices.is_empty());
            for version in &product.prices {
                assert!(
                    (low..=high).contains(&version.price.minor),
                    "{}",
                    run.courseware_id
                );
                let created_on = version.created_on.expect("price versions are dated");
                assert_eq!((created_on.second(), created_on.nanosecond()), (0, 0));
                assert!(created_on < now);
            }
            assert!(
                product
                    .prices
                    .windows(2)
                    .all(|pair| pair[0].created_on < pair[1].created_on)
            );
        }
        for course in &catalog.courses {
            let page = course.page.as_ref().expect("every course has a page");
            assert!(page.live);
            if course.site == Site::Mitxonline {
                assert!(page.min_price.is_some() && page.min_price <= page.max_price);
            } else {
                assert!(page.credits_centi.is_some_and(|c| c > 0));
            }
        }
        assert!(
            all_runs(&demo())
                .any(|(_, run)| run.product.as_ref().is_some_and(|p| p.prices.len() == 2)),
            "no price history in the demo"
        );
    }

    #[test]
    fn generation_is_deterministic() {
        assert_eq!(demo(), demo());
        assert_eq!(
            synthetic_catalog(now(), 500, 50),
            synthetic_catalog(now(), 500, 50)
        );
        let readable_ids = |catalog: &Catalog| -> Vec<String> {
            let courses = catalog.courses.iter().map(|c| c.readable_id.clone());
            courses
                .chain(catalog.programs.iter().map(|p| p.readable_id.clone()))
                .collect()
        };
        let later = synthetic_catalog(now() + TimeDelta::days(45), 48, 12);
        assert_eq!(readable_ids(&later), readable_ids(&demo()));
    }

    #[test]
    fn dollars_groups_thousands() {
        assert_eq!(dollars(Money::from_minor(75_000)), "$750");
        assert_eq!(dollars(Money::from_minor(125_000)), "$1,250");
        assert_eq!(dollars(Money::from_minor(123_456_700)), "$1,234,567");
        assert_eq!(dollars(Money::ZERO), "$0");
    }
}
