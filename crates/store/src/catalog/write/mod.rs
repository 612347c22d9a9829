//! Storing interchange records. One function, `apply`, serves imports, the demo seed and
//! staff edits: records are upserted by their natural keys (readable id, courseware id), a
//! changed price appends a product version (versions are never rewritten), and everything
//! happens in the caller's transaction, so a rejected document leaves nothing behind.
//!
//! `apply` and the writer's state are here; the records are stored by `courses` (with
//! their runs), `programs` (with their runs), `products` (with their price versions) and
//! `requirements` (the program trees), what hangs off them by `details` (pages,
//! instructors, blocked countries) and `vocabulary` (named rows and the links to them).

mod courses;
mod details;
mod products;
mod programs;
mod requirements;
mod vocabulary;

use std::collections::{HashMap, HashSet};

use domain::catalog::Catalog;
use domain::catalog::validate::{FieldErrors, validate_course, validate_program};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, EntityTrait};

use vocabulary::Vocabulary;

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
