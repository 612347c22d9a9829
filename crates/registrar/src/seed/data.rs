//! The fixed lists the generator draws from: xPRO subjects, MIT departments and their
//! subjects, title prefixes, topics, instructor names and roles, price points and course
//! lengths.

pub(super) struct XproSubject {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    pub(super) topic: &'static str,
    pub(super) program: &'static str,
}

pub(super) const XPRO_SUBJECTS: &[XproSubject] = &[
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

pub(super) struct Department {
    pub(super) name: &'static str,
    /// The MIT course number that prefixes the department's subjects (`18` in `18.03x`).
    pub(super) number: &'static str,
    /// Where the department's generated subject numbers start, so they resemble real ones.
    pub(super) first_number: u32,
    pub(super) topic: &'static str,
    pub(super) subjects: &'static [&'static str],
    pub(super) program: &'static str,
    pub(super) program_title: &'static str,
    pub(super) micromasters: bool,
}

pub(super) const DEPARTMENTS: &[Department] = &[
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

pub(super) const MITX_PREFIXES: &[&str] = &[
    "Introduction to",
    "Principles of",
    "Advanced",
    "Foundations of",
    "Topics in",
    "Applied",
    "Fundamentals of",
];

pub(super) const XPRO_PREFIXES: &[&str] = &[
    "Introduction to",
    "Principles of",
    "Advanced",
    "Applied",
    "Fundamentals of",
    "Strategies for",
    "Implementing",
];

pub(super) const CROSS_TOPICS: &[&str] = &["Data Science", "Energy", "Engineering", "Mathematics"];

pub(super) const FIRST_NAMES: &[&str] = &[
    "Ana", "Daniel", "David", "Esther", "Gilbert", "Hae-Won", "Jonathan", "Karen", "Leah", "Luis",
    "Marta", "Nikhil", "Olivia", "Priya", "Rafael", "Sara", "Tomás", "Wei", "Yuki", "Zeynep",
];

pub(super) const LAST_NAMES: &[&str] = &[
    "Alvarez", "Brennan", "Chen", "Dasgupta", "Eriksen", "Fischer", "Garcia", "Hoffman", "Ibrahim",
    "Jensen", "Kowalski", "Liu", "Moreau", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi", "Sato",
    "Thompson",
];

pub(super) const FACULTY_RANKS: &[&str] =
    &["Professor", "Associate Professor", "Assistant Professor"];

pub(super) const XPRO_ROLES: &[&str] = &[
    "Professor of the Practice, MIT",
    "Principal Research Scientist, MIT",
    "Senior Lecturer, MIT Sloan School of Management",
    "Research Affiliate, MIT Lincoln Laboratory",
    "Director of Executive Education, MIT",
];

/// Whole-dollar price points; xPRO sells professional courses, MITx Online verified tracks.
pub(super) const XPRO_PRICES: &[i64] = &[999, 1250, 1490, 1750, 1999, 2250, 2490, 2750, 2999];
pub(super) const MITX_PRICES: &[i64] = &[49, 75, 99, 149, 199, 250, 300, 500, 750, 1000];

pub(super) const WEEKS: [i32; 6] = [4, 6, 6, 8, 10, 12];
pub(super) const WEEKLY_HOURS: [(i32, i32); 5] = [(3, 5), (5, 7), (5, 7), (6, 8), (8, 10)];

pub(super) const DEMO_IMAGES: usize = 12;
