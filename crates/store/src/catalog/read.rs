//! The read model: the whole catalog resolved into plain structs with a handful of bulk
//! queries, so an API request never touches the database.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::Money;
use domain::catalog::requirements::{Operator, RequirementNode};
use domain::catalog::{
    Catalog, CourseRecord, Instructor, PageRecord, PriceVersion, ProductRecord, ProgramRecord,
    ProgramRunRecord, Reference, RunRecord, RunWindow, Site,
};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryOrder};

use crate::entity::*;

#[derive(Debug, Clone, PartialEq)]
pub struct Mode {
    pub slug: String,
    pub display_name: String,
    pub requires_payment: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductView {
    pub id: i64,
    pub is_active: bool,
    pub description: String,
    /// Oldest first; the last is current.
    pub versions: Vec<(i64, PriceVersion)>,
}

impl ProductView {
    pub fn price(&self) -> Option<Money> {
        self.versions.last().map(|(_, v)| v.price)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub id: i64,
    pub course_id: i64,
    pub courseware_id: String,
    pub run_tag: String,
    pub title: String,
    pub window: RunWindow,
    pub expiration_date: Option<DateTime<Utc>>,
    pub certificate_available_date: Option<DateTime<Utc>>,
    pub is_self_paced: bool,
    pub courseware_url: Option<String>,
    pub language: String,
    pub modes: Vec<Mode>,
    pub instructors: Vec<Instructor>,
    pub product: Option<ProductView>,
}

impl RunView {
    pub fn has_mode(&self, slug: &str) -> bool {
        self.modes.iter().any(|m| m.slug == slug)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CourseView {
    pub id: i64,
    pub site: Site,
    pub readable_id: String,
    pub title: String,
    pub live: bool,
    pub placeholder: bool,
    pub platform: Option<String>,
    pub language: Option<String>,
    pub is_external: bool,
    pub departments: Vec<String>,
    pub topics: Vec<String>,
    /// Countries whose learners may not enroll or buy.
    pub blocked_countries: Vec<String>,
    pub instructors: Vec<Instructor>,
    pub page: Option<PageRecord>,
    /// Ordered by id.
    pub runs: Vec<RunView>,
    /// Programs whose requirement tree names this course, by id.
    pub programs: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Operator {
        operator: Operator,
        title: Option<String>,
        elective: bool,
    },
    Course(i64),
    Program(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: i64,
    pub kind: NodeKind,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProgramView {
    pub id: i64,
    pub site: Site,
    pub readable_id: String,
    pub title: String,
    pub live: bool,
    pub program_type: String,
    pub platform: Option<String>,
    pub language: Option<String>,
    pub is_external: bool,
    pub availability: Option<String>,
    pub display_mode: Option<String>,
    pub b2b_only: bool,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub enrollment_start: Option<DateTime<Utc>>,
    pub enrollment_end: Option<DateTime<Utc>>,
    pub modes: Vec<Mode>,
    pub departments: Vec<String>,
    pub instructors: Vec<Instructor>,
    pub page: Option<PageRecord>,
    pub product: Option<ProductView>,
    pub runs: Vec<ProgramRunRecord>,
    /// Children of the requirement root.
    pub requirements: Vec<Node>,
    /// Programs whose tree names this one.
    pub required_by: Vec<i64>,
}

impl ProgramView {
    /// Course ids of the tree's course leaves in tree order, each with its elective flag.
    pub fn course_leaves(&self) -> Vec<(i64, bool)> {
        let mut out = Vec::new();
        walk(&self.requirements, false, &mut |kind, elective| {
            if let NodeKind::Course(id) = kind {
                out.push((*id, elective));
            }
        });
        out
    }

    pub fn program_leaves(&self) -> Vec<(i64, bool)> {
        let mut out = Vec::new();
        walk(&self.requirements, false, &mut |kind, elective| {
            if let NodeKind::Program(id) = kind {
                out.push((*id, elective));
            }
        });
        out
    }
}

fn walk(nodes: &[Node], elective: bool, f: &mut impl FnMut(&NodeKind, bool)) {
    for node in nodes {
        let here = elective || matches!(node.kind, NodeKind::Operator { elective: true, .. });
        f(&node.kind, here);
        walk(&node.children, here, f);
    }
}

/// The whole catalog, indexed.
#[derive(Debug, Clone, Default)]
pub struct CatalogView {
    pub revision: i64,
    pub courses: Vec<CourseView>,
    pub programs: Vec<ProgramView>,
    course_by_id: HashMap<i64, usize>,
    program_by_id: HashMap<i64, usize>,
    course_by_readable: HashMap<String, usize>,
    program_by_readable: HashMap<String, usize>,
    run_by_id: HashMap<i64, (usize, usize)>,
    product_by_id: HashMap<i64, Purchasable>,
}

/// What a product sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purchasable {
    Run(i64),
    Program(i64),
}

impl CatalogView {
    /// The run or program a product sells.
    pub fn purchasable(&self, product_id: i64) -> Option<Purchasable> {
        self.product_by_id.get(&product_id).copied()
    }

    pub fn course(&self, id: i64) -> Option<&CourseView> {
        self.course_by_id.get(&id).map(|i| &self.courses[*i])
    }

    pub fn course_by_readable_id(&self, readable_id: &str) -> Option<&CourseView> {
        self.course_by_readable
            .get(readable_id)
            .map(|i| &self.courses[*i])
    }

    pub fn program(&self, id: i64) -> Option<&ProgramView> {
        self.program_by_id.get(&id).map(|i| &self.programs[*i])
    }

    pub fn program_by_readable_id(&self, readable_id: &str) -> Option<&ProgramView> {
        self.program_by_readable
            .get(readable_id)
            .map(|i| &self.programs[*i])
    }

    /// A run with its course.
    pub fn run(&self, id: i64) -> Option<(&CourseView, &RunView)> {
        self.run_by_id
            .get(&id)
            .map(|(c, r)| (&self.courses[*c], &self.courses[*c].runs[*r]))
    }

    /// A run by its courseware id (the edX course key), with its course.
    pub fn run_by_courseware_id(&self, courseware_id: &str) -> Option<(&CourseView, &RunView)> {
        self.courses
            .iter()
            .flat_map(|c| c.runs.iter().map(move |r| (c, r)))
            .find(|(_, r)| r.courseware_id == courseware_id.trim())
    }

    fn index(mut self) -> Self {
        for (i, course) in self.courses.iter().enumerate() {
            self.course_by_id.insert(course.id, i);
            self.course_by_readable
                .insert(course.readable_id.clone(), i);
            for (r, run) in course.runs.iter().enumerate() {
                self.run_by_id.insert(run.id, (i, r));
                if let Some(product) = &run.product {
                    self.product_by_id
                        .insert(product.id, Purchasable::Run(run.id));
                }
            }
        }
        for (i, program) in self.programs.iter().enumerate() {
            self.program_by_id.insert(program.id, i);
            if let Some(product) = &program.product {
                self.product_by_id
                    .insert(product.id, Purchasable::Program(program.id));
            }
            self.program_by_readable
                .insert(program.readable_id.clone(), i);
        }
        let mut course_programs: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut required_by: HashMap<i64, Vec<i64>> = HashMap::new();
        for program in &self.programs {
            for (course, _) in program.course_leaves() {
                course_programs.entry(course).or_default().push(program.id);
            }
            for (child, _) in program.program_leaves() {
                required_by.entry(child).or_default().push(program.id);
            }
        }
        for course in &mut self.courses {
            let mut ids = course_programs.remove(&course.id).unwrap_or_default();
            ids.dedup();
            course.programs = ids;
        }
        for program in &mut self.programs {
            let mut ids = required_by.remove(&program.id).unwrap_or_default();
            ids.dedup();
            program.required_by = ids;
        }
        self
    }
}

pub(crate) fn page_record(page: &page::Model) -> PageRecord {
    PageRecord {
        live: page.live,
        description: page.description.clone(),
        feature_image: page.feature_image.clone(),
        duration: page.duration.clone(),
        time_commitment: page.time_commitment.clone(),
        min_weeks: page.min_weeks,
        max_weeks: page.max_weeks,
        min_weekly_hours: page.min_weekly_hours,
        max_weekly_hours: page.max_weekly_hours,
        min_price: page.min_price_minor.map(Money::from_minor),
        max_price: page.max_price_minor.map(Money::from_minor),
        format: page.format.clone(),
        video_url: page.video_url.clone(),
        credits_centi: page.credits_centi,
        external_marketing_url: page.external_marketing_url.clone(),
        marketing_hubspot_form_id: page.marketing_hubspot_form_id.clone(),
        financial_assistance_form_url: page.financial_assistance_form_url.clone(),
        include_in_learn_catalog: page.include_in_learn_catalog,
        ingest_content_files_for_ai: page.ingest_content_files_for_ai,
        prerequisites: page.prerequisites.clone(),
        price_text: page.price_text.clone(),
        list_price: page.list_price_minor.map(Money::from_minor),
        // Written by `write` from the same type: unreadable JSON can only be a hand edit.
        signatories: page
            .signatories
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default(),
    }
}

type Links = HashMap<(String, i64), Vec<i64>>;

fn linked<T: Clone>(links: &Links, owner: (&str, i64), lookup: &HashMap<i64, T>) -> Vec<T> {
    links
        .get(&(owner.0.to_string(), owner.1))
        .into_iter()
        .flatten()
        .filter_map(|id| lookup.get(id).cloned())
        .collect()
}

fn build_tree(rows: &[program_requirement::Model], parent: i64) -> Vec<Node> {
    rows.iter()
        .filter(|row| row.parent_id == Some(parent))
        .map(|row| Node {
            id: row.id,
            kind: match row.node_type.as_str() {
                "course" => NodeKind::Course(row.course_id.unwrap_or_default()),
                "program" => NodeKind::Program(row.required_program_id.unwrap_or_default()),
                _ => NodeKind::Operator {
                    operator: Operator::from_wire(
                        row.operator.as_deref().unwrap_or("all_of"),
                        row.operator_value.as_deref(),
                    )
                    .unwrap_or(Operator::AllOf),
                    title: row.title.clone(),
                    elective: row.elective_flag,
                },
            },
            children: build_tree(rows, row.id),
        })
        .collect()
}

/// Loads the whole catalog in a fixed number of queries.
pub async fn load(db: &impl ConnectionTrait) -> Result<CatalogView, DbErr> {
    let revision = super::revision(db).await?;
    let platforms: HashMap<i64, String> = platform::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let languages: HashMap<i64, String> = language::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    let departments: HashMap<i64, String> = department::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let topics: HashMap<i64, String> = topic::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let modes: HashMap<i64, Mode> = enrollment_mode::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| {
            (
                m.id,
                Mode {
                    slug: m.mode_slug,
                    display_name: m.mode_display_name,
                    requires_payment: m.requires_payment,
                },
            )
        })
        .collect();
    let pages: HashMap<i64, PageRecord> = page::Entity::find()
        .all(db)
        .await?
        .iter()
        .map(|p| (p.id, page_record(p)))
        .collect();
    let mut links: HashMap<String, Links> = HashMap::new();
    for link in catalog_link::Entity::find()
        .order_by_asc(catalog_link::Column::Position)
        .order_by_asc(catalog_link::Column::Id)
        .all(db)
        .await?
    {
        links
            .entry(link.link_kind)
            .or_default()
            .entry((link.owner_kind, link.owner_id))
            .or_default()
            .push(link.target_id);
    }
    let mut links_of = |kind: &str| links.remove(kind).unwrap_or_default();
    let (department_links, topic_links, mode_links) =
        (links_of("department"), links_of("topic"), links_of("mode"));
    let mut instructors: HashMap<(String, i64), Vec<Instructor>> = HashMap::new();
    for row in instructor::Entity::find()
        .order_by_asc(instructor::Column::Position)
        .order_by_asc(instructor::Column::Id)
        .all(db)
        .await?
    {
        instructors
            .entry((row.owner_kind, row.owner_id))
            .or_default()
            .push(Instructor {
                name: row.name,
                description: row.description,
            });
    }
    let instructors_of = |kind: &str, id: i64| {
        instructors
            .get(&(kind.to_string(), id))
            .cloned()
            .unwrap_or_default()
    };
    let mut versions: HashMap<i64, Vec<(i64, PriceVersion)>> = HashMap::new();
    for v in product_version::Entity::find()
        .order_by_asc(product_version::Column::Id)
        .all(db)
        .await?
    {
        versions.entry(v.product_id).or_default().push((
            v.id,
            PriceVersion {
                price: Money::from_minor(v.price_minor),
                created_on: Some(v.created_on),
            },
        ));
    }
    let mut run_products = HashMap::new();
    let mut program_products = HashMap::new();
    for p in product::Entity::find().all(db).await? {
        let view = ProductView {
            id: p.id,
            is_active: p.is_active,
            description: p.description,
            versions: versions.remove(&p.id).unwrap_or_default(),
        };
        match (p.course_run_id, p.program_id) {
            (Some(run), _) => run_products.insert(run, view),
            (_, Some(program)) => program_products.insert(program, view),
            _ => None,
        };
    }
    let mut runs: HashMap<i64, Vec<RunView>> = HashMap::new();
    for run in course_run::Entity::find()
        .order_by_asc(course_run::Column::Id)
        .all(db)
        .await?
    {
        runs.entry(run.course_id).or_default().push(RunView {
            id: run.id,
            course_id: run.course_id,
            window: RunWindow {
                live: run.live,
                start: run.start_date,
                end: run.end_date,
                enrollment_start: run.enrollment_start,
                enrollment_end: run.enrollment_end,
                upgrade_deadline: run.upgrade_deadline,
            },
            modes: linked(&mode_links, ("run", run.id), &modes),
            instructors: instructors_of("run", run.id),
            product: run_products.remove(&run.id),
            courseware_id: run.courseware_id,
            run_tag: run.run_tag,
            title: run.title,
            expiration_date: run.expiration_date,
            certificate_available_date: run.certificate_available_date,
            is_self_paced: run.is_self_paced,
            courseware_url: run.courseware_url,
            language: run.language,
        });
    }
    let mut blocked: HashMap<i64, Vec<String>> = HashMap::new();
    for row in crate::sql::all(
        db,
        "SELECT course_id, country FROM course_blocked_countries ORDER BY country",
        vec![],
    )
    .await?
    {
        blocked
            .entry(row.try_get("", "course_id")?)
            .or_default()
            .push(row.try_get("", "country")?);
    }
    let courses = course::Entity::find()
        .order_by_asc(course::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| CourseView {
            id: c.id,
            site: Site::parse(&c.site).unwrap_or_default(),
            platform: c.platform_id.and_then(|id| platforms.get(&id).cloned()),
            language: c.language_id.and_then(|id| languages.get(&id).cloned()),
            departments: linked(&department_links, ("course", c.id), &departments),
            topics: linked(&topic_links, ("course", c.id), &topics),
            blocked_countries: blocked.remove(&c.id).unwrap_or_default(),
            instructors: instructors_of("course", c.id),
            page: c.page_id.and_then(|id| pages.get(&id).cloned()),
            runs: runs.remove(&c.id).unwrap_or_default(),
            programs: Vec::new(),
            readable_id: c.readable_id,
            title: c.title,
            live: c.live,
            placeholder: c.placeholder,
            is_external: c.is_external,
        })
        .collect();
    let requirement_rows = program_requirement::Entity::find()
        .order_by_asc(program_requirement::Column::Position)
        .order_by_asc(program_requirement::Column::Id)
        .all(db)
        .await?;
    let roots: HashMap<i64, i64> = requirement_rows
        .iter()
        .filter(|r| r.parent_id.is_none())
        .map(|r| (r.program_id, r.id))
        .collect();
    let mut program_runs: HashMap<i64, Vec<ProgramRunRecord>> = HashMap::new();
    for run in program_run::Entity::find()
        .order_by_asc(program_run::Column::Id)
        .all(db)
        .await?
    {
        program_runs
            .entry(run.program_id)
            .or_default()
            .push(ProgramRunRecord {
                run_tag: run.run_tag,
                start_date: run.start_date,
                end_date: run.end_date,
            });
    }
    let programs = program::Entity::find()
        .order_by_asc(program::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| ProgramView {
            id: p.id,
            site: Site::parse(&p.site).unwrap_or_default(),
            platform: p.platform_id.and_then(|id| platforms.get(&id).cloned()),
            language: p.language_id.and_then(|id| languages.get(&id).cloned()),
            modes: linked(&mode_links, ("program", p.id), &modes),
            departments: linked(&department_links, ("program", p.id), &departments),
            instructors: instructors_of("program", p.id),
            page: p.page_id.and_then(|id| pages.get(&id).cloned()),
            product: program_products.remove(&p.id),
            runs: program_runs.remove(&p.id).unwrap_or_default(),
            requirements: roots
                .get(&p.id)
                .map(|root| build_tree(&requirement_rows, *root))
                .unwrap_or_default(),
            required_by: Vec::new(),
            readable_id: p.readable_id,
            title: p.title,
            live: p.live,
            program_type: p.program_type,
            is_external: p.is_external,
            availability: p.availability,
            display_mode: p.display_mode,
            b2b_only: p.b2b_only,
            start_date: p.start_date,
            end_date: p.end_date,
            enrollment_start: p.enrollment_start,
            enrollment_end: p.enrollment_end,
        })
        .collect();
    Ok(CatalogView {
        revision,
        courses,
        programs,
        ..CatalogView::default()
    }
    .index())
}

/// A stored tree as requirement nodes, each leaf named by `course` or `program`.
pub fn requirement_tree<R>(
    nodes: &[Node],
    course: &impl Fn(i64) -> R,
    program: &impl Fn(i64) -> R,
) -> Vec<RequirementNode<R>> {
    nodes
        .iter()
        .map(|node| match &node.kind {
            NodeKind::Operator {
                operator,
                title,
                elective,
            } => RequirementNode::Operator {
                operator: *operator,
                title: title.clone(),
                elective: *elective,
                children: requirement_tree(&node.children, course, program),
            },
            NodeKind::Course(id) => RequirementNode::Course {
                course: course(*id),
            },
            NodeKind::Program(id) => RequirementNode::Program {
                program: program(*id),
            },
        })
        .collect()
}

fn product_record(product: &ProductView) -> ProductRecord {
    ProductRecord {
        id: Some(product.id),
        is_active: product.is_active,
        description: product.description.clone(),
        prices: product.versions.iter().map(|(_, v)| v.clone()).collect(),
    }
}

impl CatalogView {
    fn reference_tree(&self, nodes: &[Node]) -> Vec<RequirementNode<Reference>> {
        requirement_tree(
            nodes,
            &|id| {
                self.course(id)
                    .map(|c| Reference::ReadableId {
                        readable_id: c.readable_id.clone(),
                    })
                    .unwrap_or(Reference::Id { id })
            },
            &|id| {
                self.program(id)
                    .map(|p| Reference::ReadableId {
                        readable_id: p.readable_id.clone(),
                    })
                    .unwrap_or(Reference::Id { id })
            },
        )
    }

    /// One course as an interchange record, ids and price history included.
    pub fn course_record(&self, course: &CourseView) -> CourseRecord {
        CourseRecord {
            id: Some(course.id),
            site: course.site,
            readable_id: course.readable_id.clone(),
            title: course.title.clone(),
            live: course.live,
            platform: course.platform.clone(),
            language: course.language.clone(),
            is_external: course.is_external,
            departments: course.departments.clone(),
            topics: course.topics.clone(),
            blocked_countries: course.blocked_countries.clone(),
            instructors: course.instructors.clone(),
            page: course.page.clone(),
            runs: course
                .runs
                .iter()
                .map(|r| RunRecord {
                    id: Some(r.id),
                    courseware_id: r.courseware_id.clone(),
                    run_tag: r.run_tag.clone(),
                    title: r.title.clone(),
                    start_date: r.window.start,
                    end_date: r.window.end,
                    enrollment_start: r.window.enrollment_start,
                    enrollment_end: r.window.enrollment_end,
                    upgrade_deadline: r.window.upgrade_deadline,
                    expiration_date: r.expiration_date,
                    certificate_available_date: r.certificate_available_date,
                    is_self_paced: r.is_self_paced,
                    live: r.window.live,
                    courseware_url: r.courseware_url.clone(),
                    language: r.language.clone(),
                    enrollment_modes: r.modes.iter().map(|m| m.slug.clone()).collect(),
                    instructors: r.instructors.clone(),
                    product: r.product.as_ref().map(product_record),
                })
                .collect(),
        }
    }

    /// One program as an interchange record; requirement leaves name readable ids.
    pub fn program_record(&self, p: &ProgramView) -> ProgramRecord {
        ProgramRecord {
            id: Some(p.id),
            site: p.site,
            readable_id: p.readable_id.clone(),
            title: p.title.clone(),
            live: p.live,
            program_type: p.program_type.clone(),
            platform: p.platform.clone(),
            language: p.language.clone(),
            is_external: p.is_external,
            availability: p.availability.clone(),
            display_mode: p.display_mode.clone(),
            b2b_only: p.b2b_only,
            start_date: p.start_date,
            end_date: p.end_date,
            enrollment_start: p.enrollment_start,
            enrollment_end: p.enrollment_end,
            enrollment_modes: p.modes.iter().map(|m| m.slug.clone()).collect(),
            departments: p.departments.clone(),
            instructors: p.instructors.clone(),
            page: p.page.clone(),
            product: p.product.as_ref().map(product_record),
            runs: p.runs.clone(),
            requirements: self.reference_tree(&p.requirements),
        }
    }

    /// The interchange document of everything stored, ids and price history included.
    pub fn export(&self) -> Catalog {
        Catalog {
            courses: self.courses.iter().map(|c| self.course_record(c)).collect(),
            programs: self
                .programs
                .iter()
                .map(|p| self.program_record(p))
                .collect(),
            ..Catalog::default()
        }
    }
}
