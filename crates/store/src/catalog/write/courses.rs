//! Courses and their runs, upserted by readable id and courseware id.

use chrono::Utc;
use domain::catalog::CourseRecord;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait,
    IntoActiveModel, QueryFilter, Set,
};

use super::details::{save_page, set_blocked_countries, set_instructors};
use super::products::Sells;
use super::vocabulary::set_links;
use super::{ApplyError, Writer, invalid};
use crate::entity::*;

impl<C: ConnectionTrait> Writer<'_, C> {
    pub(super) async fn save_course(
        &mut self,
        record: &CourseRecord,
        path: &str,
    ) -> Result<i64, ApplyError> {
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
}
