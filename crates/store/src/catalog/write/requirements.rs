//! Program requirement trees: each reference resolved to a stored course or program (an
//! import's unknown course becomes a placeholder), the tree replaced whole, and no cycle
//! of programs requiring each other let through.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use domain::catalog::requirements::{self, RequirementNode};
use domain::catalog::{Reference, Site};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    Set,
};

use super::{ApplyError, Mode, Writer, invalid};
use crate::entity::*;

impl<C: ConnectionTrait> Writer<'_, C> {
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

    pub(super) async fn save_tree(
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

    pub(super) async fn check_cycles(&self) -> Result<(), ApplyError> {
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
}
