//! Storing interchange records. One function, `apply`, serves imports, the demo seed and
//! staff edits: records are upserted by their natural keys (readable id, courseware id), a
//! changed price appends a product version (versions are never rewritten), and everything
//! happens in the caller's transaction, so a rejected document leaves nothing behind.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use domain::Money;
use domain::catalog::requirements::{self, RequirementNode};
use domain::catalog::validate::{FieldErrors, validate_course, validate_program};
use domain::catalog::{
    Catalog, CourseRecord, Instructor, PageRecord, ProductRecord, ProgramRecord, Reference, Site,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};

use crate::entity::*;

/// How strictly references are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Migration from the originals: a requirement naming a course id that is not in the
    /// catalog yet creates an unpublished placeholder the course's own import later fills.
    Import,
    /// Staff edits: an unknown reference is an error.
    Strict,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub courses_created: usize,
    pub courses_updated: usize,
    pub runs_created: usize,
    pub runs_updated: usize,
    pub programs_created: usize,
    pub programs_updated: usize,
    pub price_versions_added: usize,
    pub placeholders_created: Vec<i64>,
    /// Ids asked for but taken by another record, so a new one was given.
    pub ids_reassigned: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("invalid catalog: {0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApplyError {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    ApplyError::Invalid(errors)
}

/// Vocabulary rows (platforms, languages, departments, topics, modes) by name, created on
/// first use.
#[derive(Default)]
struct Vocabulary {
    ids: HashMap<(&'static str, String), i64>,
}

fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_string()
}

/// The id of the row whose `$column` is `$name`, inserting `$model` when there is none.
macro_rules! find_or_insert {
    ($db:expr, $entity:ident, $column:ident, $name:expr, $model:expr) => {
        match $entity::Entity::find()
            .filter($entity::Column::$column.eq($name))
            .one($db)
            .await?
        {
            Some(row) => row.id,
            None => $model.insert($db).await?.id,
        }
    };
}

impl Vocabulary {
    async fn optional_id(
        &mut self,
        db: &impl ConnectionTrait,
        kind: &'static str,
        name: &Option<String>,
    ) -> Result<Option<i64>, DbErr> {
        match name {
            Some(name) => Ok(Some(self.id(db, kind, name).await?)),
            None => Ok(None),
        }
    }

    async fn id(
        &mut self,
        db: &impl ConnectionTrait,
        kind: &'static str,
        name: &str,
    ) -> Result<i64, DbErr> {
        if let Some(id) = self.ids.get(&(kind, name.to_string())) {
            return Ok(*id);
        }
        let owned = || Set(name.to_string());
        let id = match kind {
            "platform" => find_or_insert!(
                db,
                platform,
                Name,
                name,
                platform::ActiveModel {
                    id: NotSet,
                    name: owned(),
                    enable_sync: Set(false),
                }
            ),
            "language" => find_or_insert!(
                db,
                language,
                Name,
                name,
                language::ActiveModel {
                    id: NotSet,
                    name: owned(),
                    priority: Set(100),
                    is_active: Set(true),
                }
            ),
            "department" => find_or_insert!(
                db,
                department,
                Name,
                name,
                department::ActiveModel {
                    id: NotSet,
                    name: owned(),
                    slug: Set(slugify(name)),
                }
            ),
            "topic" => find_or_insert!(
                db,
                topic,
                Name,
                name,
                topic::ActiveModel {
                    id: NotSet,
                    name: owned(),
                    parent_id: Set(None),
                }
            ),
            _ => find_or_insert!(
                db,
                enrollment_mode,
                ModeSlug,
                name,
                enrollment_mode::ActiveModel {
                    id: NotSet,
                    mode_slug: owned(),
                    mode_display_name: owned(),
                    requires_payment: Set(name == "verified"),
                }
            ),
        };
        self.ids.insert((kind, name.to_string()), id);
        Ok(id)
    }
}

/// Replaces the links of one kind from an owner (a course's departments, a run's modes).
async fn set_links(
    db: &impl ConnectionTrait,
    vocabulary: &mut Vocabulary,
    owner: (&str, i64),
    kind: &'static str,
    names: &[String],
) -> Result<(), DbErr> {
    catalog_link::Entity::delete_many()
        .filter(catalog_link::Column::OwnerKind.eq(owner.0))
        .filter(catalog_link::Column::OwnerId.eq(owner.1))
        .filter(catalog_link::Column::LinkKind.eq(kind))
        .exec(db)
        .await?;
    let mut seen = HashSet::new();
    for (position, name) in names.iter().enumerate() {
        let target = vocabulary.id(db, kind, name).await?;
        if seen.insert(target) {
            catalog_link::ActiveModel {
                id: NotSet,
                owner_kind: Set(owner.0.to_string()),
                owner_id: Set(owner.1),
                link_kind: Set(kind.to_string()),
                target_id: Set(target),
                position: Set(position as i32),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Replaces the countries a course is not offered in.
async fn set_blocked_countries(
    db: &impl ConnectionTrait,
    course_id: i64,
    countries: &[String],
) -> Result<(), DbErr> {
    crate::sql::run(
        db,
        "DELETE FROM course_blocked_countries WHERE course_id = $1",
        vec![course_id.into()],
    )
    .await?;
    let unique: BTreeMap<&str, ()> = countries.iter().map(|c| (c.as_str(), ())).collect();
    for country in unique.keys() {
        crate::sql::run(
            db,
            "INSERT INTO course_blocked_countries (course_id, country) VALUES ($1, $2)",
            vec![course_id.into(), (*country).into()],
        )
        .await?;
    }
    Ok(())
}

async fn set_instructors(
    db: &impl ConnectionTrait,
    owner: (&str, i64),
    list: &[Instructor],
) -> Result<(), DbErr> {
    instructor::Entity::delete_many()
        .filter(instructor::Column::OwnerKind.eq(owner.0))
        .filter(instructor::Column::OwnerId.eq(owner.1))
        .exec(db)
        .await?;
    for (position, person) in list.iter().enumerate() {
        instructor::ActiveModel {
            id: NotSet,
            owner_kind: Set(owner.0.to_string()),
            owner_id: Set(owner.1),
            position: Set(position as i32),
            name: Set(person.name.clone()),
            description: Set(person.description.clone()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Writes a page row (updating the existing one) and returns its id, or none.
async fn save_page(
    db: &impl ConnectionTrait,
    existing: Option<i64>,
    page: &Option<PageRecord>,
) -> Result<Option<i64>, DbErr> {
    let Some(page) = page else {
        if let Some(id) = existing {
            page::Entity::delete_by_id(id).exec(db).await?;
        }
        return Ok(None);
    };
    let minor = |m: Option<Money>| m.map(|m| m.minor);
    let model = page::ActiveModel {
        id: existing.map(Set).unwrap_or(NotSet),
        live: Set(page.live),
        description: Set(page.description.clone()),
        feature_image: Set(page.feature_image.clone()),
        duration: Set(page.duration.clone()),
        time_commitment: Set(page.time_commitment.clone()),
        min_weeks: Set(page.min_weeks),
        max_weeks: Set(page.max_weeks),
        min_weekly_hours: Set(page.min_weekly_hours),
        max_weekly_hours: Set(page.max_weekly_hours),
        min_price_minor: Set(minor(page.min_price)),
        max_price_minor: Set(minor(page.max_price)),
        format: Set(page.format.clone()),
        video_url: Set(page.video_url.clone()),
        credits_centi: Set(page.credits_centi),
        external_marketing_url: Set(page.external_marketing_url.clone()),
        marketing_hubspot_form_id: Set(page.marketing_hubspot_form_id.clone()),
        financial_assistance_form_url: Set(page.financial_assistance_form_url.clone()),
        include_in_learn_catalog: Set(page.include_in_learn_catalog),
        ingest_content_files_for_ai: Set(page.ingest_content_files_for_ai),
        prerequisites: Set(page.prerequisites.clone()),
        price_text: Set(page.price_text.clone()),
        list_price_minor: Set(minor(page.list_price)),
        signatories: Set((!page.signatories.is_empty())
            .then(|| serde_json::to_string(&page.signatories).expect("signatories serialize"))),
    };
    let saved = if existing.is_some() {
        model.update(db).await?
    } else {
        model.insert(db).await?
    };
    Ok(Some(saved.id))
}

/// Which product a record sells.
#[derive(Clone, Copy)]
enum Sells {
    Run(i64),
    Program(i64),
}

struct Writer<'a, C: ConnectionTrait> {
    db: &'a C,
    mode: Mode,
    vocabulary: Vocabulary,
    report: Report,
    /// Tables given explicit ids, whose PostgreSQL sequences must move past them.
    explicit_ids: HashSet<&'static str>,
}

impl<C: ConnectionTrait> Writer<'_, C> {
    /// The id to insert with: the asked one when free, otherwise a fresh one (reported).
    async fn wanted_id<E: EntityTrait>(
        &mut self,
        table: &'static str,
        what: &str,
        id: Option<i64>,
    ) -> Result<Option<i64>, DbErr>
    where
        <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
    {
        let Some(id) = id else { return Ok(None) };
        if E::find_by_id(id).one(self.db).await?.is_some() {
            self.report
                .ids_reassigned
                .push(format!("{what} (id {id} is taken)"));
            return Ok(None);
        }
        self.explicit_ids.insert(table);
        Ok(Some(id))
    }

    async fn save_product(
        &mut self,
        sells: Sells,
        record: &Option<ProductRecord>,
        what: &str,
    ) -> Result<(), DbErr> {
        let Some(record) = record else { return Ok(()) };
        let existing = match sells {
            Sells::Run(id) => {
                product::Entity::find()
                    .filter(product::Column::CourseRunId.eq(id))
                    .one(self.db)
                    .await?
            }
            Sells::Program(id) => {
                product::Entity::find()
                    .filter(product::Column::ProgramId.eq(id))
                    .one(self.db)
                    .await?
            }
        };
        let product_id = match existing {
            Some(row) => {
                let mut active = row.into_active_model();
                active.is_active = Set(record.is_active);
                active.description = Set(record.description.clone());
                active.update(self.db).await?.id
            }
            None => {
                let id = self
                    .wanted_id::<product::Entity>(
                        "products",
                        &format!("product of {what}"),
                        record.id,
                    )
                    .await?;
                product::ActiveModel {
                    id: id.map(Set).unwrap_or(NotSet),
                    course_run_id: Set(match sells {
                        Sells::Run(id) => Some(id),
                        _ => None,
                    }),
                    program_id: Set(match sells {
                        Sells::Program(id) => Some(id),
                        _ => None,
                    }),
                    is_active: Set(record.is_active),
                    description: Set(record.description.clone()),
                    created_on: Set(Utc::now()),
                }
                .insert(self.db)
                .await?
                .id
            }
        };
        let current = product_version::Entity::find()
            .filter(product_version::Column::ProductId.eq(product_id))
            .order_by_desc(product_version::Column::Id)
            .one(self.db)
            .await?;
        // A product without versions takes the whole history; otherwise only a new current
        // price is appended, since versions are immutable.
        let to_add: Vec<_> = match current {
            None => record.prices.iter().collect(),
            Some(current) => record
                .prices
                .last()
                .filter(|last| last.price.minor != current.price_minor)
                .into_iter()
                .collect(),
        };
        for version in to_add {
            product_version::ActiveModel {
                id: NotSet,
                product_id: Set(product_id),
                price_minor: Set(version.price.minor),
                currency: Set(domain::money::DEFAULT_CURRENCY.to_string()),
                description: Set(record.description.clone()),
                created_on: Set(version.created_on.unwrap_or_else(Utc::now)),
            }
            .insert(self.db)
            .await?;
            self.report.price_versions_added += 1;
        }
        Ok(())
    }

    async fn save_course(&mut self, record: &CourseRecord, path: &str) -> Result<i64, ApplyError> {
        let db = self.db;
        let now = Utc::now();
        let mut existing = course::Entity::find()
            .filter(course::Column::ReadableId.eq(record.readable_id.as_str()))
            .one(db)
            .await?;
        if existing.is_none()
            && let Some(id) = record.id
        {
            existing = course::Entity::find_by_id(id)
                .one(db)
                .await?
                .filter(|c| c.placeholder);
        }
        let platform = self
            .vocabulary
            .optional_id(db, "platform", &record.platform)
            .await?;
        let language = self
            .vocabulary
            .optional_id(db, "language", &record.language)
            .await?;
        let course_id = match existing {
            Some(row) => {
                if row.site != record.site.as_str() && !row.placeholder {
                    return Err(invalid(
                        format!("{path}site"),
                        format!(
                            "{} is offered by {}; a course cannot move between sites",
                            record.readable_id, row.site
                        ),
                    ));
                }
                let page_id = save_page(db, row.page_id, &record.page).await?;
                let mut active = row.into_active_model();
                active.site = Set(record.site.as_str().to_string());
                active.readable_id = Set(record.readable_id.clone());
                active.title = Set(record.title.clone());
                active.live = Set(record.live);
                active.platform_id = Set(platform);
                active.language_id = Set(language);
                active.is_external = Set(record.is_external);
                active.placeholder = Set(false);
                active.page_id = Set(page_id);
                active.updated_on = Set(now);
                self.report.courses_updated += 1;
                active.update(db).await?.id
            }
            None => {
                let id = self
                    .wanted_id::<course::Entity>("courses", &record.readable_id, record.id)
                    .await?;
                let page_id = save_page(db, None, &record.page).await?;
                self.report.courses_created += 1;
                course::ActiveModel {
                    id: id.map(Set).unwrap_or(NotSet),
                    site: Set(record.site.as_str().to_string()),
                    readable_id: Set(record.readable_id.clone()),
                    title: Set(record.title.clone()),
                    live: Set(record.live),
                    platform_id: Set(platform),
                    language_id: Set(language),
                    is_external: Set(record.is_external),
                    placeholder: Set(false),
                    page_id: Set(page_id),
                    created_on: Set(now),
                    updated_on: Set(now),
                }
                .insert(db)
                .await?
                .id
            }
        };
        set_links(
            db,
            &mut self.vocabulary,
            ("course", course_id),
            "department",
            &record.departments,
        )
        .await?;
        set_links(
            db,
            &mut self.vocabulary,
            ("course", course_id),
            "topic",
            &record.topics,
        )
        .await?;
        set_instructors(db, ("course", course_id), &record.instructors).await?;
        set_blocked_countries(db, course_id, &record.blocked_countries).await?;
        for (index, run) in record.runs.iter().enumerate() {
            let run_path = format!("{path}runs[{index}].");
            let existing = course_run::Entity::find()
                .filter(course_run::Column::CoursewareId.eq(run.courseware_id.as_str()))
                .one(db)
                .await?;
            let clash = course_run::Entity::find()
                .filter(course_run::Column::CourseId.eq(course_id))
                .filter(course_run::Column::RunTag.eq(run.run_tag.as_str()))
                .filter(course_run::Column::CoursewareId.ne(run.courseware_id.as_str()))
                .one(db)
                .await?;
            if let Some(other) = clash {
                return Err(invalid(
                    format!("{run_path}run_tag"),
                    format!(
                        "{} is already the tag of {}",
                        run.run_tag, other.courseware_id
                    ),
                ));
            }
            let model = course_run::ActiveModel {
                id: NotSet,
                course_id: Set(course_id),
                courseware_id: Set(run.courseware_id.clone()),
                run_tag: Set(run.run_tag.clone()),
                title: Set(run.title.clone()),
                start_date: Set(run.start_date),
                end_date: Set(run.end_date),
                enrollment_start: Set(run.enrollment_start),
                enrollment_end: Set(run.enrollment_end),
                upgrade_deadline: Set(run.upgrade_deadline),
                expiration_date: Set(run.expiration_date),
                certificate_available_date: Set(run.certificate_available_date),
                is_self_paced: Set(run.is_self_paced),
                live: Set(run.live),
                courseware_url: Set(run.courseware_url.clone()),
                language: Set(run.language.clone()),
                created_on: Set(now),
                updated_on: Set(now),
            };
            let run_id = match existing {
                Some(row) => {
                    if row.course_id != course_id {
                        return Err(invalid(
                            format!("{run_path}courseware_id"),
                            format!("{} belongs to another course", run.courseware_id),
                        ));
                    }
                    self.report.runs_updated += 1;
                    course_run::ActiveModel {
                        id: Set(row.id),
                        created_on: Set(row.created_on),
                        ..model
                    }
                    .update(db)
                    .await?
                    .id
                }
                None => {
                    let id = self
                        .wanted_id::<course_run::Entity>("course_runs", &run.courseware_id, run.id)
                        .await?;
                    self.report.runs_created += 1;
                    course_run::ActiveModel {
                        id: id.map(Set).unwrap_or(NotSet),
                        ..model
                    }
                    .insert(db)
                    .await?
                    .id
                }
            };
            set_links(
                db,
                &mut self.vocabulary,
                ("run", run_id),
                "mode",
                &run.enrollment_modes,
            )
            .await?;
            set_instructors(db, ("run", run_id), &run.instructors).await?;
            self.save_product(Sells::Run(run_id), &run.product, &run.courseware_id)
                .await?;
        }
        Ok(course_id)
    }

    async fn save_program(
        &mut self,
        record: &ProgramRecord,
        path: &str,
    ) -> Result<i64, ApplyError> {
        let db = self.db;
        let now = Utc::now();
        let existing = program::Entity::find()
            .filter(program::Column::ReadableId.eq(record.readable_id.as_str()))
            .one(db)
            .await?;
        let platform = self
            .vocabulary
            .optional_id(db, "platform", &record.platform)
            .await?;
        let language = self
            .vocabulary
            .optional_id(db, "language", &record.language)
            .await?;
        let (id, page_id, created_on) = match &existing {
            Some(row) => {
                if row.site != record.site.as_str() {
                    return Err(invalid(
                        format!("{path}site"),
                        format!(
                            "{} is offered by {}; a program cannot move between sites",
                            record.readable_id, row.site
                        ),
                    ));
                }
                self.report.programs_updated += 1;
                (
                    Set(row.id),
                    save_page(db, row.page_id, &record.page).await?,
                    row.created_on,
                )
            }
            None => {
                self.report.programs_created += 1;
                let id = self
                    .wanted_id::<program::Entity>("programs", &record.readable_id, record.id)
                    .await?;
                (
                    id.map(Set).unwrap_or(NotSet),
                    save_page(db, None, &record.page).await?,
                    now,
                )
            }
        };
        let model = program::ActiveModel {
            id,
            site: Set(record.site.as_str().to_string()),
            readable_id: Set(record.readable_id.clone()),
            title: Set(record.title.clone()),
            live: Set(record.live),
            program_type: Set(record.program_type.clone()),
            platform_id: Set(platform),
            language_id: Set(language),
            is_external: Set(record.is_external),
            availability: Set(record.availability.clone()),
            display_mode: Set(record.display_mode.clone()),
            b2b_only: Set(record.b2b_only),
            start_date: Set(record.start_date),
            end_date: Set(record.end_date),
            enrollment_start: Set(record.enrollment_start),
            enrollment_end: Set(record.enrollment_end),
            page_id: Set(page_id),
            created_on: Set(created_on),
            updated_on: Set(now),
        };
        let program_id = if existing.is_some() {
            model.update(db).await?.id
        } else {
            model.insert(db).await?.id
        };
        set_links(
            db,
            &mut self.vocabulary,
            ("program", program_id),
            "department",
            &record.departments,
        )
        .await?;
        set_links(
            db,
            &mut self.vocabulary,
            ("program", program_id),
            "mode",
            &record.enrollment_modes,
        )
        .await?;
        set_instructors(db, ("program", program_id), &record.instructors).await?;
        for run in &record.runs {
            let existing = program_run::Entity::find()
                .filter(program_run::Column::ProgramId.eq(program_id))
                .filter(program_run::Column::RunTag.eq(run.run_tag.as_str()))
                .one(db)
                .await?;
            let model = program_run::ActiveModel {
                id: existing.as_ref().map(|r| Set(r.id)).unwrap_or(NotSet),
                program_id: Set(program_id),
                run_tag: Set(run.run_tag.clone()),
                start_date: Set(run.start_date),
                end_date: Set(run.end_date),
            };
            if existing.is_some() {
                model.update(db).await?;
            } else {
                model.insert(db).await?;
            }
        }
        self.save_product(
            Sells::Program(program_id),
            &record.product,
            &record.readable_id,
        )
        .await?;
        Ok(program_id)
    }

    /// Resolves a requirement reference to a stored id.
    async fn resolve(
        &mut self,
        reference: &Reference,
        is_program: bool,
        file_ids: &HashMap<(bool, i64), String>,
        path: &str,
    ) -> Result<i64, ApplyError> {
        let db = self.db;
        let readable = match reference {
            Reference::ReadableId { readable_id } => Some(readable_id.clone()),
            Reference::Id { id } => file_ids.get(&(is_program, *id)).cloned(),
        };
        let found = match (&readable, is_program) {
            (Some(r), false) => course::Entity::find()
                .filter(course::Column::ReadableId.eq(r.as_str()))
                .one(db)
                .await?
                .map(|c| c.id),
            (Some(r), true) => program::Entity::find()
                .filter(program::Column::ReadableId.eq(r.as_str()))
                .one(db)
                .await?
                .map(|p| p.id),
            (None, false) => match reference {
                Reference::Id { id } => {
                    course::Entity::find_by_id(*id).one(db).await?.map(|c| c.id)
                }
                Reference::ReadableId { .. } => None,
            },
            (None, true) => match reference {
                Reference::Id { id } => program::Entity::find_by_id(*id)
                    .one(db)
                    .await?
                    .map(|p| p.id),
                Reference::ReadableId { .. } => None,
            },
        };
        if let Some(id) = found {
            return Ok(id);
        }
        let named = match reference {
            Reference::ReadableId { readable_id } => readable_id.clone(),
            Reference::Id { id } => format!("id {id}"),
        };
        match (self.mode, reference, is_program) {
            (Mode::Import, Reference::Id { id }, false) => {
                let now = Utc::now();
                course::ActiveModel {
                    id: Set(*id),
                    site: Set(Site::Mitxonline.as_str().to_string()),
                    readable_id: Set(format!("placeholder-course-{id}")),
                    title: Set(format!("Course {id} (not imported yet)")),
                    live: Set(false),
                    platform_id: Set(None),
                    language_id: Set(None),
                    is_external: Set(false),
                    placeholder: Set(true),
                    page_id: Set(None),
                    created_on: Set(now),
                    updated_on: Set(now),
                }
                .insert(db)
                .await?;
                self.explicit_ids.insert("courses");
                self.report.placeholders_created.push(*id);
                Ok(*id)
            }
            _ => Err(invalid(
                path,
                format!(
                    "unknown {} {named}",
                    if is_program { "program" } else { "course" }
                ),
            )),
        }
    }

    async fn save_tree(
        &mut self,
        program_id: i64,
        tree: &[RequirementNode<Reference>],
        file_ids: &HashMap<(bool, i64), String>,
        path: &str,
    ) -> Result<(), ApplyError> {
        let db = self.db;
        // Children first: the foreign key from child to parent cascades, but deleting
        // leaves before their operators keeps every backend's checks quiet.
        program_requirement::Entity::delete_many()
            .filter(program_requirement::Column::ProgramId.eq(program_id))
            .filter(program_requirement::Column::ParentId.is_not_null())
            .exec(db)
            .await?;
        program_requirement::Entity::delete_many()
            .filter(program_requirement::Column::ProgramId.eq(program_id))
            .exec(db)
            .await?;
        let root = program_requirement::ActiveModel {
            id: NotSet,
            program_id: Set(program_id),
            parent_id: Set(None),
            position: Set(0),
            node_type: Set("program_root".to_string()),
            operator: Set(None),
            operator_value: Set(None),
            course_id: Set(None),
            required_program_id: Set(None),
            title: Set(None),
            elective_flag: Set(false),
        }
        .insert(db)
        .await?;
        let mut stack: Vec<(i64, &RequirementNode<Reference>, i32, String)> = tree
            .iter()
            .enumerate()
            .rev()
            .map(|(i, n)| (root.id, n, i as i32, format!("{path}requirements[{i}]")))
            .collect();
        while let Some((parent, node, position, node_path)) = stack.pop() {
            let mut row = program_requirement::ActiveModel {
                id: NotSet,
                program_id: Set(program_id),
                parent_id: Set(Some(parent)),
                position: Set(position),
                node_type: Set(String::new()),
                operator: Set(None),
                operator_value: Set(None),
                course_id: Set(None),
                required_program_id: Set(None),
                title: Set(None),
                elective_flag: Set(false),
            };
            match node {
                RequirementNode::Operator {
                    operator,
                    title,
                    elective,
                    ..
                } => {
                    let (op, value) = operator.wire();
                    row.node_type = Set("operator".to_string());
                    row.operator = Set(Some(op.to_string()));
                    row.operator_value = Set(value);
                    row.title = Set(title.clone());
                    row.elective_flag = Set(*elective);
                }
                RequirementNode::Course { course } => {
                    row.node_type = Set("course".to_string());
                    row.course_id = Set(Some(
                        self.resolve(course, false, file_ids, &node_path).await?,
                    ));
                }
                RequirementNode::Program { program } => {
                    let id = self.resolve(program, true, file_ids, &node_path).await?;
                    if id == program_id {
                        return Err(invalid(node_path, "a program cannot require itself"));
                    }
                    row.node_type = Set("program".to_string());
                    row.required_program_id = Set(Some(id));
                }
            }
            let saved = row.insert(db).await?;
            if let RequirementNode::Operator { children, .. } = node {
                for (i, child) in children.iter().enumerate().rev() {
                    stack.push((
                        saved.id,
                        child,
                        i as i32,
                        format!("{node_path}.children[{i}]"),
                    ));
                }
            }
        }
        Ok(())
    }

    async fn check_cycles(&self) -> Result<(), ApplyError> {
        let mut edges: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for row in program_requirement::Entity::find()
            .filter(program_requirement::Column::RequiredProgramId.is_not_null())
            .all(self.db)
            .await?
        {
            edges
                .entry(row.program_id)
                .or_default()
                .extend(row.required_program_id);
        }
        if let Some(cycle) = requirements::find_cycle(&edges) {
            let by_id: HashMap<i64, String> = program::Entity::find()
                .filter(program::Column::Id.is_in(cycle.clone()))
                .all(self.db)
                .await?
                .into_iter()
                .map(|p| (p.id, p.readable_id))
                .collect();
            let names: Vec<String> = cycle
                .iter()
                .map(|id| by_id.get(id).cloned().unwrap_or_default())
                .collect();
            return Err(invalid(
                "requirements",
                format!(
                    "programs would require each other in a cycle: {}",
                    names.join(" → ")
                ),
            ));
        }
        Ok(())
    }

    async fn move_sequences(&self) -> Result<(), DbErr> {
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        for table in &self.explicit_ids {
            self.db
                .execute_unprepared(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
                ))
                .await?;
        }
        Ok(())
    }
}

/// Validates and stores a catalog document inside `db` (a transaction the caller commits).
pub async fn apply(
    db: &impl ConnectionTrait,
    catalog: &Catalog,
    mode: Mode,
) -> Result<Report, ApplyError> {
    let mut errors = FieldErrors::default();
    let mut readable = HashSet::new();
    let mut courses_seen = HashSet::new();
    for (i, course) in catalog.courses.iter().enumerate() {
        errors.merge(&format!("courses[{i}]."), validate_course(course));
        if !courses_seen.insert(course.readable_id.as_str()) {
            errors.add(
                format!("courses[{i}].readable_id"),
                "appears twice in this document",
            );
        }
    }
    for (i, program) in catalog.programs.iter().enumerate() {
        errors.merge(&format!("programs[{i}]."), validate_program(program));
        if !readable.insert(program.readable_id.as_str()) {
            errors.add(
                format!("programs[{i}].readable_id"),
                "appears twice in this document",
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApplyError::Invalid(errors));
    }
    // Source ids name records inside a document from the MITx Online API.
    let mut file_ids = HashMap::new();
    for course in &catalog.courses {
        if let Some(id) = course.id {
            file_ids.insert((false, id), course.readable_id.clone());
        }
    }
    for program in &catalog.programs {
        if let Some(id) = program.id {
            file_ids.insert((true, id), program.readable_id.clone());
        }
    }
    let mut writer = Writer {
        db,
        mode,
        vocabulary: Vocabulary::default(),
        report: Report::default(),
        explicit_ids: HashSet::new(),
    };
    for (i, course) in catalog.courses.iter().enumerate() {
        writer
            .save_course(course, &format!("courses[{i}]."))
            .await?;
    }
    let mut saved = Vec::new();
    for (i, program) in catalog.programs.iter().enumerate() {
        saved.push(
            writer
                .save_program(program, &format!("programs[{i}]."))
                .await?,
        );
    }
    for (i, (program, id)) in catalog.programs.iter().zip(saved).enumerate() {
        writer
            .save_tree(
                id,
                &program.requirements,
                &file_ids,
                &format!("programs[{i}]."),
            )
            .await?;
    }
    writer.check_cycles().await?;
    writer.move_sequences().await?;
    super::bump_revision(db).await?;
    Ok(writer.report)
}
