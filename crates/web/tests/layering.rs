//! The web crate parses, calls a service and renders: its handlers never open a write
//! transaction or queue a job themselves (issue 16 §1). A use case written in a handler
//! again fails here, naming the file and line.

use std::path::Path;

/// What only a use case (in `services`) may do.
const FORBIDDEN: [&str; 5] = [
    ".write().await",
    "jobs::push(",
    "::enqueue(",
    "::soon(",
    ".commit().await",
];

fn visit(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("the web sources are readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            visit(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            for (n, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for pattern in FORBIDDEN {
                    if line.contains(pattern) {
                        found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
}

#[test]
fn no_handler_opens_a_write_transaction_or_queues_a_job() {
    let mut found = Vec::new();
    visit(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(
        found.is_empty(),
        "use cases belong in services (one function owning its transaction):\n{}",
        found.join("\n")
    );
}
