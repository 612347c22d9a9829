//! The parts of the binary that tests and benchmarks share: configuration and the
//! synthetic catalog behind `registrar demo`.

pub mod config;
pub mod seed;
