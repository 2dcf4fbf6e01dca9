//! conveyor: Dockerfiles and werf stapel configs → one stage graph → BuildKit LLB.
//!
//! See ARCHITECTURE.md for the module map and the import rules between modules.

pub mod buildkit;
pub mod cli;
pub mod context;
pub mod diag;
pub mod digest;
pub mod dockerfile;
pub mod gateway;
#[cfg(test)]
mod golden;
pub mod graph;
pub mod llb;
pub mod lower;
pub mod proto;
pub mod registry;
pub mod storage;
pub mod werf;
