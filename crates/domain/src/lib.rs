//! Pure rules of Registrar. Nothing in this crate performs IO: every function takes the
//! instant it judges against (`now`) so that boundaries can be tested exactly.

pub mod accounts;
pub mod catalog;
pub mod certificates;
pub mod commerce;
pub mod compliance;
pub mod geoip;
pub mod ids;
pub mod money;

pub use ids::{CoursewareId, IdError, ReadableId};
pub use money::{Money, MoneyError};
