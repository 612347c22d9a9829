//! The security suite: attacks on Registrar kept as tests, on the backend
//! `REGISTRAR_TEST_DATABASE_URL` picks (CI runs it on SQLite and on PostgreSQL). What each
//! file covers, and the threat model behind it, is in `docs/security.md`.

#[path = "../common/mod.rs"]
mod common;

mod app;
mod authz;
mod codes;
mod payments;
mod routes;
mod sessions;
