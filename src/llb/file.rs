//! File ops: a chain of copy / mkfile / mkdir / rm actions, each applied to the result
//! of the one before (the first to the base state).

use super::state::{Node, OpKind, OpOptions, State};

#[derive(Clone, Debug)]
pub enum FileAction {
    Copy(Copy),
    MkFile(MkFile),
    MkDir(MkDir),
    Rm(Rm),
}

/// Ownership for created files: a numeric id or a name looked up in the base's
/// /etc/passwd and /etc/group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserOpt {
    Id(u32),
    Name(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChownOpt {
    pub user: Option<UserOpt>,
    pub group: Option<UserOpt>,
}

#[derive(Clone, Debug)]
pub struct Copy {
    pub source: State,
    pub src: String,
    pub dest: String,
    pub owner: Option<ChownOpt>,
    /// Permission bits to set; `None` keeps the source's.
    pub mode: Option<u32>,
    pub follow_symlink: bool,
    pub dir_copy_contents: bool,
    pub attempt_unpack: bool,
    pub create_dest_path: bool,
    pub allow_wildcard: bool,
    pub allow_empty_wildcard: bool,
    /// Unix seconds; `None` keeps the source's times.
    pub timestamp: Option<i64>,
    pub include_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
}

impl Copy {
    /// A copy with the defaults Docker's COPY uses: follow the top symlink, copy a
    /// directory's contents, create the destination's parents, allow wildcards.
    pub fn new(source: State, src: impl Into<String>, dest: impl Into<String>) -> Copy {
        Copy {
            source,
            src: src.into(),
            dest: dest.into(),
            owner: None,
            mode: None,
            follow_symlink: true,
            dir_copy_contents: true,
            attempt_unpack: false,
            create_dest_path: true,
            allow_wildcard: true,
            allow_empty_wildcard: true,
            timestamp: None,
            include_patterns: Vec::new(),
            exclude_patterns: Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct MkFile {
    pub path: String,
    pub mode: u32,
    pub data: Vec<u8>,
    pub owner: Option<ChownOpt>,
    pub timestamp: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct MkDir {
    pub path: String,
    pub mode: u32,
    pub make_parents: bool,
    pub owner: Option<ChownOpt>,
    pub timestamp: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct Rm {
    pub path: String,
    pub allow_not_found: bool,
    pub allow_wildcard: bool,
}

#[derive(Debug)]
pub(super) struct FileOp {
    pub(super) base: State,
    pub(super) actions: Vec<FileAction>,
}

impl State {
    /// Applies `actions` in order on top of this state, as one file op.
    pub fn file(&self, actions: Vec<FileAction>, options: OpOptions) -> State {
        assert!(!actions.is_empty(), "a file op needs at least one action");
        let op = OpKind::File(FileOp {
            base: self.clone(),
            actions,
        });
        // File ops carry no platform: BuildKit runs them the same everywhere.
        State::from_node(
            Node {
                op,
                platform: None,
                options,
            },
            0,
        )
    }
}
