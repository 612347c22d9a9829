//! Programs and their runs, upserted by readable id and run tag.

use chrono::Utc;
use domain::catalog::ProgramRecord;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    Set,
};

use super::details::{save_page, set_instructors};
use super::products::Sells;
use super::vocabulary::set_links;
use super::{ApplyError, Writer, invalid};
use crate::entity::*;

impl<C: ConnectionTrait> Writer<'_, C> {
    pub(super) async fn save_program(
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
}
