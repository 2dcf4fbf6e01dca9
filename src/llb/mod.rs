//! A typed LLB builder: ops (source, exec, file, merge, diff) form an immutable graph of
//! `State`s, and `Definition::marshal` turns the graph into BuildKit's `pb.Definition`
//! with each op marshalled deterministically and named by the sha256 of its bytes.
//!
//! Knows BuildKit's wire types (`crate::proto::pb`), nothing of Dockerfiles or werf.

mod definition;
mod dump;
mod dump_json;
mod exec;
mod file;
mod marshal;
mod source;
mod state;
mod wire;

pub use definition::{Definition, OpMetadata};
pub use exec::{CacheSharing, Exec, ExecResult, Mount, MountKind, NetMode, SecurityMode};
pub use file::{ChownOpt, Copy, FileAction, MkDir, MkFile, Rm, UserOpt};
pub use marshal::digest_of;
pub use source::{GitSource, HttpSource, ImageSource, LocalSource, OciLayoutSource};
pub use state::{OpOptions, Platform, SourceLocation, SourceMap, State};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod wire_tests;
