//! A plain-text form of requirement trees for the staff editor: one node per line,
//! children indented two spaces under their group.
//!
//! ```text
//! all_of "Required Courses"
//!   course course-v1:MITxT+18.03.1x
//! min_number_of 1 elective "Elective Courses"
//!   course course-v1:MITxT+18.03.3x
//!   program program-v1:MITx+DEDP
//! ```

use super::requirements::{Operator, RequirementNode};
use super::snapshot::{Reference, RequirementRecord};

fn reference_text(reference: &Reference) -> String {
    match reference {
        Reference::ReadableId { readable_id } => readable_id.clone(),
        Reference::Id { id } => format!("#{id}"),
    }
}

fn write(nodes: &[RequirementRecord], depth: usize, out: &mut String) {
    for node in nodes {
        out.push_str(&"  ".repeat(depth));
        match node {
            RequirementNode::Operator {
                operator,
                title,
                elective,
                children,
            } => {
                match operator {
                    Operator::AllOf => out.push_str("all_of"),
                    Operator::MinNumberOf { count } => {
                        out.push_str(&format!("min_number_of {count}"))
                    }
                }
                if *elective {
                    out.push_str(" elective");
                }
                if let Some(title) = title {
                    out.push_str(&format!(" \"{}\"", title.replace('"', "'")));
                }
                out.push('\n');
                write(children, depth + 1, out);
            }
            RequirementNode::Course { course } => {
                out.push_str(&format!("course {}\n", reference_text(course)))
            }
            RequirementNode::Program { program } => {
                out.push_str(&format!("program {}\n", reference_text(program)))
            }
        }
    }
}

pub fn format(tree: &[RequirementRecord]) -> String {
    let mut out = String::new();
    write(tree, 0, &mut out);
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TreeTextError {
    pub line: usize,
    pub message: String,
}

fn reference(text: &str) -> Reference {
    match text.strip_prefix('#').and_then(|n| n.parse().ok()) {
        Some(id) => Reference::Id { id },
        None => Reference::ReadableId {
            readable_id: text.to_string(),
        },
    }
}

/// Parses the text form; every error names its line.
pub fn parse(text: &str) -> Result<Vec<RequirementRecord>, TreeTextError> {
    // (depth, node) pairs in order; assembled into a tree afterwards.
    let mut flat: Vec<(usize, usize, RequirementRecord)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let err = |message: &str| TreeTextError {
            line,
            message: message.to_string(),
        };
        if raw.trim().is_empty() {
            continue;
        }
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        if indent % 2 != 0 || raw.starts_with('\t') {
            return Err(err("indent with two spaces per level"));
        }
        let depth = indent / 2;
        let body = raw.trim();
        let (head, rest) = body.split_once(' ').unwrap_or((body, ""));
        let node = match head {
            "course" | "program" => {
                let id = rest.trim();
                if id.is_empty() || id.contains(' ') {
                    return Err(err(&format!("`{head}` takes one readable id")));
                }
                if head == "course" {
                    RequirementNode::Course {
                        course: reference(id),
                    }
                } else {
                    RequirementNode::Program {
                        program: reference(id),
                    }
                }
            }
            "all_of" | "min_number_of" => {
                let (words, title) = match rest.find('"') {
                    Some(start) => {
                        let end = rest
                            .rfind('"')
                            .filter(|e| *e > start)
                            .ok_or_else(|| err("a title needs closing quotes"))?;
                        (&rest[..start], Some(rest[start + 1..end].to_string()))
                    }
                    None => (rest, None),
                };
                let mut words = words.split_whitespace().peekable();
                let operator = if head == "all_of" {
                    Operator::AllOf
                } else {
                    let count = words.next().and_then(|w| w.parse().ok()).ok_or_else(|| {
                        err("min_number_of needs a whole number, as in `min_number_of 2`")
                    })?;
                    Operator::MinNumberOf { count }
                };
                let elective = words.peek() == Some(&"elective");
                if elective {
                    words.next();
                }
                if let Some(extra) = words.next() {
                    return Err(err(&format!("unexpected `{extra}`")));
                }
                RequirementNode::Operator {
                    operator,
                    title,
                    elective,
                    children: Vec::new(),
                }
            }
            other => {
                return Err(err(&format!(
                    "`{other}` is not a node: use all_of, min_number_of, course or program"
                )));
            }
        };
        match flat.last() {
            None if depth > 0 => return Err(err("the first line cannot be indented")),
            Some((last_depth, _, last)) if depth > *last_depth => {
                if depth != last_depth + 1 {
                    return Err(err("indented more than one level"));
                }
                if !matches!(last, RequirementNode::Operator { .. }) {
                    return Err(err(
                        "only a group (all_of, min_number_of) can hold indented lines",
                    ));
                }
            }
            _ => {}
        }
        flat.push((depth, line, node));
    }
    Ok(assemble(
        &mut flat.into_iter().map(|(d, _, n)| (d, n)).peekable(),
        0,
    ))
}

fn assemble(
    items: &mut std::iter::Peekable<impl Iterator<Item = (usize, RequirementRecord)>>,
    depth: usize,
) -> Vec<RequirementRecord> {
    let mut out = Vec::new();
    while let Some((d, _)) = items.peek() {
        if *d < depth {
            break;
        }
        let (_, mut node) = items.next().expect("peeked");
        if let RequirementNode::Operator { children, .. } = &mut node {
            *children = assemble(items, depth + 1);
        }
        out.push(node);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "all_of \"Required Courses\"\n  course course-v1:MITxT+18.03.1x\n  course #74\nmin_number_of 1 elective \"Elective Courses\"\n  course course-v1:MITxT+18.03.3x\n  all_of\n    program program-v1:MITx+DEDP\n";

    #[test]
    fn round_trips() {
        let tree = parse(TEXT).unwrap();
        assert_eq!(tree.len(), 2);
        let RequirementNode::Operator {
            operator,
            elective,
            children,
            title,
        } = &tree[1]
        else {
            panic!()
        };
        assert_eq!(
            (*operator, *elective, title.as_deref()),
            (
                Operator::MinNumberOf { count: 1 },
                true,
                Some("Elective Courses")
            )
        );
        assert_eq!(children.len(), 2);
        assert!(
            matches!(&children[1], RequirementNode::Operator { children, .. } if children.len() == 1)
        );
        assert!(
            matches!(&tree[0], RequirementNode::Operator { children, .. } if children[1] == RequirementNode::Course { course: Reference::Id { id: 74 } })
        );
        assert_eq!(format(&tree), TEXT);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("  course x", 1, "cannot be indented"),
            ("all_of\n   course x", 2, "two spaces"),
            ("all_of\n    course x", 2, "more than one level"),
            ("course a\n  course b", 2, "only a group"),
            ("min_number_of two", 1, "whole number"),
            ("any_of", 1, "is not a node"),
            ("all_of \"Open", 1, "closing quotes"),
            ("all_of\n  course", 2, "one readable id"),
            ("all_of sometimes", 1, "unexpected `sometimes`"),
        ];
        for (text, line, fragment) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text}");
            assert!(err.message.contains(fragment), "{text}: {err}");
        }
    }
}
