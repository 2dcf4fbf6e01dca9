//! The build context: which files of a context directory BuildKit gets to see, and
//! digests over them.
//!
//! - [`parse_dockerignore`] and [`PatternMatcher`]: `.dockerignore` patterns with
//!   moby/patternmatcher semantics.
//! - [`walk`]: a deterministic, never-escaping walk of a context directory filtered
//!   as fsutil filters it for BuildKit (include patterns, exclude patterns, follow
//!   paths), yielding entries in the order the filesync DiffCopy sender must send
//!   them.
//! - [`open_file`]: reads a walked file without following a symlink swapped in since.
//! - [`digest_files`] and [`digest_paths`]: content digests for build signatures.
//!
//! Pure library code: it reads the file system, nothing else. Paths handed out are
//! relative to the context root, `/`-separated and clean.

mod digest;
mod follow;
mod gopath;
mod ignore;
mod walk;
mod walked;

use std::io;
use std::path::PathBuf;

pub use digest::{digest_entries, digest_files, digest_paths, entry_digests, select_sources};
pub use ignore::{MatchInfo, Pattern, PatternMatcher, parse_dockerignore};
pub use walk::{Entry, EntryKind, Filter, open_file, walk};
pub(crate) use walk::{go_mode_bits, unix_permissions};
pub use walked::filter_walked;

/// Everything that can go wrong reading a build context. Each variant names the
/// path or pattern at fault.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("bad pattern `{pattern}`: {reason}")]
    BadPattern {
        pattern: String,
        reason: &'static str,
    },
    #[error("build context `{}` is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// BuildKit's file-sync messages carry paths as protobuf strings.
    #[error("{}: file name is not valid UTF-8", path.display())]
    NonUtf8Path { path: PathBuf },
    #[error("`{path}` is not a clean path inside the context")]
    UncleanPath { path: String },
    #[error("`{path}` changed while it was being read")]
    Changed { path: String },
    #[error("COPY source `{src}` points outside the build context")]
    SourceOutsideContext { src: String },
    #[error("COPY source `{src}` not found in the build context")]
    SourceNotFound { src: String },
    #[error("COPY source `{src}`: too many levels of symbolic links")]
    SymlinkLoop { src: String },
}

impl ContextError {
    fn io(path: impl Into<PathBuf>, source: io::Error) -> ContextError {
        ContextError::Io {
            path: path.into(),
            source,
        }
    }
}
