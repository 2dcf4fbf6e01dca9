//! conveyor: Dockerfiles and werf stapel configs → one stage graph → BuildKit LLB.
//!
//! See ARCHITECTURE.md for the module map and the import rules between modules.

pub mod diag;
pub mod werf;
