//! The course catalog: the interchange record (`snapshot`), the date predicates the two
//! references define (`predicates`), program requirement trees (`requirements`), and the
//! readers of the originals' public API payloads (`import`).

pub mod edx_sync;
pub mod import;
pub mod predicates;
pub mod requirements;
pub mod snapshot;
pub mod tree_text;
pub mod validate;
pub mod vendors;

pub use predicates::RunWindow;
pub use snapshot::*;
