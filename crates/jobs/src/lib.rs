//! Registrar's durable job queue and scheduler, on the application's own database. Generic:
//! it knows job kinds only as names and JSON payloads.

pub mod admin;
pub mod migration;
pub mod queue;
pub mod schedule;

pub use queue::{
    Backoff, Claimed, Enqueue, Failure, Outcome, claim, claim_batch, enqueue, fail, succeed,
    succeed_many,
};
pub use schedule::{Cadence, Schedule};
pub mod worker;

pub use worker::{Job, JobError, Registry, Worker, WorkerSettings, push};
