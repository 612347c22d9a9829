//! Program requirement trees (MITx Online `ProgramRequirement`): under a program's root,
//! operator nodes (`all_of`, `min_number_of`) group course leaves and nested-program leaves;
//! an operator flagged elective makes everything below it elective.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    AllOf,
    MinNumberOf { count: u32 },
}

impl Operator {
    /// The `operator` / `operator_value` pair of the MITx Online API.
    pub fn wire(self) -> (&'static str, Option<String>) {
        match self {
            Operator::AllOf => ("all_of", None),
            Operator::MinNumberOf { count } => ("min_number_of", Some(count.to_string())),
        }
    }

    pub fn from_wire(operator: &str, value: Option<&str>) -> Result<Self, TreeError> {
        match operator {
            "all_of" => Ok(Operator::AllOf),
            "min_number_of" => value
                .and_then(|v| v.trim().parse::<u32>().ok())
                .map(|count| Operator::MinNumberOf { count })
                .ok_or_else(|| TreeError::BadOperatorValue(value.unwrap_or("").to_string())),
            other => Err(TreeError::UnknownOperator(other.to_string())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "node_type",
    rename_all = "snake_case",
    bound(deserialize = "R: Deserialize<'de>")
)]
pub enum RequirementNode<R> {
    Operator {
        operator: Operator,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        elective: bool,
        #[serde(default)]
        children: Vec<RequirementNode<R>>,
    },
    Course {
        course: R,
    },
    Program {
        program: R,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("unknown operator \"{0}\" (expected all_of or min_number_of)")]
    UnknownOperator(String),
    #[error("min_number_of needs a whole number operator_value, got \"{0}\"")]
    BadOperatorValue(String),
    #[error("\"{title}\" requires {count} of its children but has only {children}")]
    UnsatisfiableMinimum {
        title: String,
        count: u32,
        children: usize,
    },
    #[error("unknown node type \"{0}\"")]
    UnknownNodeType(String),
}

/// A leaf of a tree with whether it sits under an elective operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaf<'a, R> {
    pub reference: &'a R,
    pub elective: bool,
}

impl<R> RequirementNode<R> {
    /// Converts the references of a tree, failing on the first that does not resolve.
    pub fn try_map<S, E>(
        self,
        f: &mut impl FnMut(R, bool) -> Result<S, E>,
    ) -> Result<RequirementNode<S>, E> {
        Ok(match self {
            RequirementNode::Operator {
                operator,
                title,
                elective,
                children,
            } => RequirementNode::Operator {
                operator,
                title,
                elective,
                children: children
                    .into_iter()
                    .map(|child| child.try_map(f))
                    .collect::<Result<_, _>>()?,
            },
            RequirementNode::Course { course } => RequirementNode::Course {
                course: f(course, false)?,
            },
            RequirementNode::Program { program } => RequirementNode::Program {
                program: f(program, true)?,
            },
        })
    }
}

fn walk<'a, R>(
    nodes: &'a [RequirementNode<R>],
    elective: bool,
    courses: &mut Vec<Leaf<'a, R>>,
    programs: &mut Vec<Leaf<'a, R>>,
) {
    for node in nodes {
        match node {
            RequirementNode::Operator {
                elective: flag,
                children,
                ..
            } => walk(children, elective || *flag, courses, programs),
            RequirementNode::Course { course } => courses.push(Leaf {
                reference: course,
                elective,
            }),
            RequirementNode::Program { program } => programs.push(Leaf {
                reference: program,
                elective,
            }),
        }
    }
}

/// The course leaves of a tree in tree order (nested programs are not entered).
pub fn course_leaves<R>(tree: &[RequirementNode<R>]) -> Vec<Leaf<'_, R>> {
    let (mut courses, mut programs) = (Vec::new(), Vec::new());
    walk(tree, false, &mut courses, &mut programs);
    courses
}

/// The nested-program leaves of a tree in tree order.
pub fn program_leaves<R>(tree: &[RequirementNode<R>]) -> Vec<Leaf<'_, R>> {
    let (mut courses, mut programs) = (Vec::new(), Vec::new());
    walk(tree, false, &mut courses, &mut programs);
    programs
}

/// Checks the shape rules a stored tree must satisfy: a `min_number_of` operator cannot
/// ask for more children than it has.
pub fn validate<R>(tree: &[RequirementNode<R>]) -> Result<(), TreeError> {
    for node in tree {
        if let RequirementNode::Operator {
            operator,
            title,
            children,
            ..
        } = node
        {
            if let Operator::MinNumberOf { count } = operator
                && *count as usize > children.len()
            {
                return Err(TreeError::UnsatisfiableMinimum {
                    title: title.clone().unwrap_or_default(),
                    count: *count,
                    children: children.len(),
                });
            }
            validate(children)?;
        }
    }
    Ok(())
}

/// Finds a cycle in the "program requires program" graph, returned as the programs along
/// it (first = last). Nested programs make a cycle possible; a cycle would make every
/// completion check and certificate rule loop.
pub fn find_cycle<K: Ord + Copy>(edges: &BTreeMap<K, Vec<K>>) -> Option<Vec<K>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    fn visit<K: Ord + Copy>(
        node: K,
        edges: &BTreeMap<K, Vec<K>>,
        marks: &mut BTreeMap<K, Mark>,
        path: &mut Vec<K>,
    ) -> Option<Vec<K>> {
        match marks.get(&node) {
            Some(Mark::Done) => return None,
            Some(Mark::Active) => {
                let start = path.iter().position(|k| *k == node).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(node);
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node, Mark::Active);
        path.push(node);
        for next in edges.get(&node).into_iter().flatten() {
            if let Some(cycle) = visit(*next, edges, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    let roots: BTreeSet<K> = edges.keys().copied().collect();
    for root in roots {
        let mut path = Vec::new();
        if let Some(cycle) = visit(root, edges, &mut marks, &mut path) {
            return Some(cycle);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    type Node = RequirementNode<&'static str>;

    fn course(c: &'static str) -> Node {
        RequirementNode::Course { course: c }
    }

    fn tree() -> Vec<Node> {
        vec![
            RequirementNode::Operator {
                operator: Operator::AllOf,
                title: Some("Required Courses".into()),
                elective: false,
                children: vec![course("a"), course("b")],
            },
            RequirementNode::Operator {
                operator: Operator::MinNumberOf { count: 1 },
                title: Some("Elective Courses".into()),
                elective: true,
                children: vec![
                    course("c"),
                    RequirementNode::Operator {
                        operator: Operator::AllOf,
                        title: None,
                        elective: false,
                        children: vec![course("d"), RequirementNode::Program { program: "p2" }],
                    },
                ],
            },
        ]
    }

    #[test]
    fn leaves_carry_elective_from_any_ancestor() {
        let t = tree();
        let courses: Vec<(&str, bool)> = course_leaves(&t)
            .iter()
            .map(|l| (*l.reference, l.elective))
            .collect();
        assert_eq!(
            courses,
            vec![("a", false), ("b", false), ("c", true), ("d", true)]
        );
        let programs: Vec<(&str, bool)> = program_leaves(&t)
            .iter()
            .map(|l| (*l.reference, l.elective))
            .collect();
        assert_eq!(programs, vec![("p2", true)]);
    }

    #[test]
    fn operator_wire_round_trip() {
        assert_eq!(Operator::AllOf.wire(), ("all_of", None));
        assert_eq!(
            Operator::from_wire("min_number_of", Some("2")),
            Ok(Operator::MinNumberOf { count: 2 })
        );
        assert_eq!(
            Operator::MinNumberOf { count: 2 }.wire(),
            ("min_number_of", Some("2".to_string()))
        );
        assert!(matches!(
            Operator::from_wire("min_number_of", None),
            Err(TreeError::BadOperatorValue(_))
        ));
        assert!(matches!(
            Operator::from_wire("min_number_of", Some("-1")),
            Err(TreeError::BadOperatorValue(_))
        ));
        assert!(matches!(
            Operator::from_wire("any_of", None),
            Err(TreeError::UnknownOperator(_))
        ));
    }

    #[test]
    fn validate_rejects_unsatisfiable_minimum() {
        assert_eq!(validate(&tree()), Ok(()));
        let bad: Vec<Node> = vec![RequirementNode::Operator {
            operator: Operator::MinNumberOf { count: 3 },
            title: Some("Pick three".into()),
            elective: true,
            children: vec![course("a"), course("b")],
        }];
        assert_eq!(
            validate(&bad),
            Err(TreeError::UnsatisfiableMinimum {
                title: "Pick three".into(),
                count: 3,
                children: 2
            })
        );
    }

    #[test]
    fn cycles_are_found_and_acyclic_graphs_pass() {
        let mut edges = BTreeMap::new();
        edges.insert(1, vec![2]);
        edges.insert(2, vec![3]);
        edges.insert(3, vec![]);
        assert_eq!(find_cycle(&edges), None);
        edges.insert(3, vec![1]);
        assert_eq!(find_cycle(&edges), Some(vec![1, 2, 3, 1]));
        let mut selfloop = BTreeMap::new();
        selfloop.insert(7, vec![7]);
        assert_eq!(find_cycle(&selfloop), Some(vec![7, 7]));
    }

    #[test]
    fn try_map_converts_references() {
        let mapped: Result<RequirementNode<usize>, ()> = tree()
            .into_iter()
            .next()
            .unwrap()
            .try_map(&mut |r, _| Ok(r.len()));
        assert!(matches!(mapped, Ok(RequirementNode::Operator { .. })));
        let failed: Result<RequirementNode<usize>, &str> =
            tree().remove(0).try_map(&mut |_, _| Err("unknown"));
        assert_eq!(failed, Err("unknown"));
    }
}
