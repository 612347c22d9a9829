//! SeaORM entities, one module per table. Relations are resolved in queries by id, so no
//! relation enums are declared.

pub mod blocklist_entry;
pub mod catalog_link;
pub mod catalog_revision;
pub mod course;
pub mod course_run;
pub mod department;
pub mod email_token;
pub mod enrollment;
pub mod enrollment_mode;
pub mod instructor;
pub mod language;
pub mod legal_address;
pub mod openedx_user;
pub mod page;
pub mod platform;
pub mod product;
pub mod product_version;
pub mod program;
pub mod program_requirement;
pub mod program_run;
pub mod session;
pub mod staff_token;
pub mod topic;
pub mod user;
