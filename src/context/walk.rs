//! A walk of a context directory that yields what BuildKit's file sync would send.
//!
//! Order and filtering follow fsutil (`filter.go`, `fs.go`, `stat.go`), whose walker
//! feeds the filesync DiffCopy sender: depth first, each directory's entries sorted
//! byte-wise by name, a directory right before its contents. An entry that the
//! include or exclude patterns filter out is not yielded, but a directory so filtered
//! is still descended into when a pattern could take something inside it back; if
//! something inside is yielded, the directory is yielded first, right before it.
//!
//! Symlinks are never followed: each is yielded with its target text. The walk only
//! opens paths under the root it was given, and every yielded path is relative,
//! `/`-separated and free of `.` and `..`.

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::ContextError;
use super::follow::{dedupe_paths, follow_links};
use super::ignore::{MatchInfo, PatternMatcher, parse_dockerignore};

/// Which paths of a context to take, as BuildKit's local source sends them to the
/// client's file sync (`include-patterns`, `exclude-patterns`, `followpaths`, from the
/// LLB attrs `local.includepattern`, `local.excludepatterns`, `local.followpaths`).
/// The default takes everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// When not empty, only paths matching one of these (or their parent
    /// directories) are taken.
    pub include_patterns: Vec<String>,
    /// Paths matching these are left out; `!pattern` takes a path back.
    pub exclude_patterns: Vec<String>,
    /// Paths whose symlinks (at any component) are resolved inside the context and
    /// added, with the symlinks themselves, to the include patterns.
    pub follow_paths: Vec<String>,
}

impl Filter {
    /// The filter a `.dockerignore` file asks for.
    pub fn from_dockerignore(text: &str) -> Filter {
        Filter {
            exclude_patterns: parse_dockerignore(text),
            ..Filter::default()
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// Named pipes, sockets, devices: yielded with their metadata only.
    Other,
}

/// One path of the context, with the metadata fsutil puts in its `Stat` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the context root, `/`-separated, clean.
    pub path: String,
    pub kind: EntryKind,
    /// Go `os.FileMode` bits, not `st_mode`: permissions in the low 9 bits, setuid
    /// 0x0080_0000, setgid 0x0040_0000, sticky 0x0010_0000, and the type: directory
    /// 0x8000_0000, symlink 0x0800_0000, device 0x0400_0000 (character device also
    /// 0x0020_0000), named pipe 0x0200_0000; none for a regular file.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Bytes for files, the target's length for symlinks, 0 for directories.
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (of the symlink itself
    /// for symlinks).
    pub mtime_ns: i64,
    /// For a symlink, its target as written. For a file that is a hard link to a
    /// file yielded earlier in this walk, that file's path (fsutil's `linkname`).
    pub link_target: Option<String>,
}

/// Go `os.FileMode` bits, which fsutil's `Stat.mode` carries on the wire.
pub(crate) mod go_mode_bits {
    pub const DIR: u32 = 0x8000_0000;
    pub const SYMLINK: u32 = 0x0800_0000;
    pub const DEVICE: u32 = 0x0400_0000;
    pub const NAMED_PIPE: u32 = 0x0200_0000;
    pub const SOCKET: u32 = 0x0100_0000;
    pub const SETUID: u32 = 0x0080_0000;
    pub const SETGID: u32 = 0x0040_0000;
    pub const CHAR_DEVICE: u32 = 0x0020_0000;
    pub const STICKY: u32 = 0x0010_0000;
    pub const PERM: u32 = 0o777;
    /// The file types that are neither a directory, a symlink nor a regular file.
    pub const OTHER_TYPES: u32 = DEVICE | NAMED_PIPE | SOCKET | CHAR_DEVICE;
}

/// A Unix `st_mode` as Go's `os.FileMode`, the way Go's `os.Lstat` converts it: the
/// low 9 permission bits stay, the file type and setuid/setgid/sticky move to Go's
/// high bits. The socket bit is then cleared, as fsutil does (Go's tar writer does
/// not handle sockets).
pub(crate) fn go_mode(st_mode: u32) -> u32 {
    use go_mode_bits::*;
    let mut mode = st_mode & PERM;
    mode |= match st_mode & 0o170_000 {
        0o060_000 => DEVICE,
        0o020_000 => DEVICE | CHAR_DEVICE,
        0o040_000 => DIR,
        0o010_000 => NAMED_PIPE,
        0o120_000 => SYMLINK,
        _ => 0,
    };
    if st_mode & 0o4000 != 0 {
        mode |= SETUID;
    }
    if st_mode & 0o2000 != 0 {
        mode |= SETGID;
    }
    if st_mode & 0o1000 != 0 {
        mode |= STICKY;
    }
    mode & !SOCKET
}

/// The Unix permission bits of a Go `os.FileMode`: the inverse of [`go_mode`] for
/// permissions, setuid, setgid and sticky (what `chmod` takes).
pub(crate) fn unix_permissions(go_mode: u32) -> u32 {
    use go_mode_bits::*;
    let mut mode = go_mode & PERM;
    if go_mode & SETUID != 0 {
        mode |= 0o4000;
    }
    if go_mode & SETGID != 0 {
        mode |= 0o2000;
    }
    if go_mode & STICKY != 0 {
        mode |= 0o1000;
    }
    mode
}

/// Walks the context directory `root` and returns what `filter` lets through, in
/// fsutil's order. `root` itself may be a symlink to a directory (fsutil resolves it
/// once); nothing under it is followed.
pub fn walk(root: &Path, filter: &Filter) -> Result<Vec<Entry>, ContextError> {
    let metadata = fs::metadata(root).map_err(|err| ContextError::io(root, err))?;
    if !metadata.is_dir() {
        return Err(ContextError::NotADirectory {
            path: root.to_path_buf(),
        });
    }
    let root = fs::canonicalize(root).map_err(|err| ContextError::io(root, err))?;
    let filter = CompiledFilter::new(&root, filter)?;
    let mut walker = Walker {
        root: &root,
        filter: &filter,
        entries: Vec::new(),
        parents: Vec::new(),
        hardlinks: HashMap::new(),
    };
    walker.visit_dir("")?;
    Ok(walker.entries)
}

/// Opens the regular file at `path` (relative, clean, as [`walk`] yields it) under
/// `root` for reading, making sure it is still what the walk saw: a regular file,
/// not a symlink, so nothing outside the context is read through it, and the same
/// file (device and inode) before and after opening. The file-sync sender and the
/// digests read file contents through this.
pub fn open_file(root: &Path, path: &str) -> Result<File, ContextError> {
    check_clean(path)?;
    let full = root.join(path);
    let changed = || ContextError::Changed {
        path: path.to_string(),
    };
    let before = fs::symlink_metadata(&full).map_err(|err| ContextError::io(&full, err))?;
    if !before.file_type().is_file() {
        return Err(changed());
    }
    let file = File::open(&full).map_err(|err| ContextError::io(&full, err))?;
    let opened = file
        .metadata()
        .map_err(|err| ContextError::io(&full, err))?;
    if (opened.dev(), opened.ino()) != (before.dev(), before.ino()) {
        return Err(changed());
    }
    Ok(file)
}

/// Refuses a path that is not relative, `/`-separated and free of `.`, `..` and
/// empty components: entry paths may come from a caller, and must not leave the
/// root.
pub(crate) fn check_clean(path: &str) -> Result<(), ContextError> {
    let clean = !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|component| !matches!(component, "" | "." | ".."));
    if clean {
        Ok(())
    } else {
        Err(ContextError::UncleanPath {
            path: path.to_string(),
        })
    }
}

/// Characters that make a pattern more than a path prefix, for fsutil's shortcut of
/// pruning directories no pattern can reach into.
const PATTERN_CHARS: &[char] = &['*', '[', ']', '?', '^', '\\'];

pub(super) struct CompiledFilter {
    include: Option<PatternMatcher>,
    exclude: Option<PatternMatcher>,
    /// Every include pattern is a plain path (after dropping a trailing `/*` or
    /// `/**`), so a directory that is no prefix of one holds nothing to include.
    only_prefix_includes: bool,
    /// The same for the exceptions among the exclude patterns.
    only_prefix_exclude_exceptions: bool,
}

impl CompiledFilter {
    pub(super) fn new(root: &Path, filter: &Filter) -> Result<CompiledFilter, ContextError> {
        let mut include_patterns = filter.include_patterns.clone();
        if !filter.follow_paths.is_empty()
            && let Some(targets) = follow_links(root, &filter.follow_paths)?
        {
            include_patterns.extend(targets);
            // fsutil dedupes the concatenation although it is not sorted; doing the
            // same keeps the same patterns.
            include_patterns = dedupe_paths(&include_patterns).unwrap_or_default();
        }
        let include = if include_patterns.is_empty() {
            None
        } else {
            Some(PatternMatcher::new(&include_patterns)?)
        };
        let exclude = if filter.exclude_patterns.is_empty() {
            None
        } else {
            Some(PatternMatcher::new(&filter.exclude_patterns)?)
        };
        let only_prefix = |matcher: &Option<PatternMatcher>, exclusions: bool| {
            matcher.as_ref().is_none_or(|matcher| {
                matcher
                    .patterns()
                    .iter()
                    .filter(|pattern| pattern.is_exclusion() == exclusions)
                    .all(|pattern| !without_trailing_glob(pattern.as_str()).contains(PATTERN_CHARS))
            })
        };
        Ok(CompiledFilter {
            only_prefix_includes: only_prefix(&include, false),
            only_prefix_exclude_exceptions: only_prefix(&exclude, true),
            include,
            exclude,
        })
    }
}

impl CompiledFilter {
    /// fsutil's filter decision for one path, given its parent directory's
    /// per-pattern results, with the results to hand down if it is a directory.
    pub(super) fn judge(
        &self,
        include_parent: &MatchInfo,
        exclude_parent: &MatchInfo,
        path: &str,
        is_dir: bool,
    ) -> Result<(Verdict, MatchInfo, MatchInfo), ContextError> {
        let mut hide = false;
        let mut include_info = MatchInfo::default();
        let mut exclude_info = MatchInfo::default();
        if let Some(include) = &self.include {
            let (matched, info) = include.matches_using_parent_results(path, include_parent)?;
            include_info = info;
            if !matched {
                if is_dir && self.only_prefix_includes && !could_match_inside(include, false, path)
                {
                    return Ok((Verdict::Prune, include_info, exclude_info));
                }
                hide = true;
            }
        }
        if let Some(exclude) = &self.exclude {
            let (matched, info) = exclude.matches_using_parent_results(path, exclude_parent)?;
            exclude_info = info;
            if matched {
                if is_dir
                    && self.only_prefix_exclude_exceptions
                    && (!exclude.exclusions() || !could_match_inside(exclude, true, path))
                {
                    return Ok((Verdict::Prune, include_info, exclude_info));
                }
                hide = true;
            }
        }
        let verdict = if hide { Verdict::Hide } else { Verdict::Take };
        Ok((verdict, include_info, exclude_info))
    }
}

pub(super) fn is_below(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

fn without_trailing_glob(pattern: &str) -> &str {
    let pattern = pattern.strip_suffix("/**").unwrap_or(pattern);
    pattern.strip_suffix("/*").unwrap_or(pattern)
}

/// Whether a pattern list could take something below `dir` (fsutil's check, valid
/// only when all the patterns considered are plain prefixes).
fn could_match_inside(matcher: &PatternMatcher, exclusions: bool, dir: &str) -> bool {
    let dir_slash = format!("{dir}/");
    matcher
        .patterns()
        .iter()
        .filter(|pattern| pattern.is_exclusion() == exclusions)
        .any(|pattern| {
            format!("{}/", without_trailing_glob(pattern.as_str())).starts_with(&dir_slash)
        })
}

/// A path that is not there, or that runs through a file (fsutil treats both alike).
pub(crate) fn is_not_found(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

pub(crate) fn read_link_text(full: &Path) -> Result<String, ContextError> {
    let target = fs::read_link(full).map_err(|err| ContextError::io(full, err))?;
    target
        .into_os_string()
        .into_string()
        .map_err(|_| ContextError::NonUtf8Path {
            path: full.to_path_buf(),
        })
}

pub(crate) enum ReadDirError {
    Io(io::Error),
    NonUtf8(PathBuf),
}

impl ReadDirError {
    pub(crate) fn into_context_error(self, dir: PathBuf) -> ContextError {
        match self {
            ReadDirError::Io(err) => ContextError::io(dir, err),
            ReadDirError::NonUtf8(path) => ContextError::NonUtf8Path { path },
        }
    }
}

/// A directory's entry names, sorted byte-wise (Go's `os.ReadDir` order).
pub(crate) fn read_sorted_names(dir: &Path) -> Result<Vec<String>, ReadDirError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(ReadDirError::Io)? {
        let name = entry.map_err(ReadDirError::Io)?.file_name();
        match name.into_string() {
            Ok(name) => names.push(name),
            Err(name) => return Err(ReadDirError::NonUtf8(dir.join(name))),
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// A directory on the path from the root to the entry being looked at.
pub(super) struct Parent {
    pub(super) entry: Entry,
    /// Already yielded; a filtered-out directory is yielded late, before the first
    /// thing inside it that is.
    pub(super) yielded: bool,
    pub(super) include_info: MatchInfo,
    pub(super) exclude_info: MatchInfo,
}

pub(super) enum Verdict {
    /// Neither yield it nor look inside.
    Prune,
    /// Do not yield it, but look inside if it is a directory.
    Hide,
    Take,
}

struct Walker<'w> {
    root: &'w Path,
    filter: &'w CompiledFilter,
    entries: Vec<Entry>,
    parents: Vec<Parent>,
    /// (device, inode) of each multiply linked file yielded, to its path.
    hardlinks: HashMap<(u64, u64), String>,
}

impl Walker<'_> {
    fn visit_dir(&mut self, dir: &str) -> Result<(), ContextError> {
        let full_dir = self.root.join(dir);
        let names = match read_sorted_names(&full_dir) {
            Ok(names) => names,
            // fsutil: an unreadable directory that is only walked for what the
            // patterns might take back inside it is passed over.
            Err(ReadDirError::Io(err))
                if err.kind() == io::ErrorKind::PermissionDenied
                    && self.parents.last().is_some_and(|parent| !parent.yielded) =>
            {
                return Ok(());
            }
            Err(err) => return Err(err.into_context_error(full_dir)),
        };
        for name in names {
            let path = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            let full = self.root.join(&path);
            let metadata = match fs::symlink_metadata(&full) {
                Ok(metadata) => metadata,
                // Removed since the directory was read: it is simply not there.
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(ContextError::io(full, err)),
            };
            let is_dir = metadata.is_dir();
            let (verdict, include_info, exclude_info) = self.judge(&path, is_dir)?;
            match verdict {
                Verdict::Prune => {}
                Verdict::Hide => {
                    if is_dir {
                        let entry = self.entry(path.clone(), &full, &metadata)?;
                        self.descend(entry, false, include_info, exclude_info)?;
                    }
                }
                Verdict::Take => {
                    for parent in &mut self.parents {
                        if !parent.yielded {
                            self.entries.push(parent.entry.clone());
                            parent.yielded = true;
                        }
                    }
                    let entry = self.entry(path, &full, &metadata)?;
                    self.entries.push(entry.clone());
                    if is_dir {
                        self.descend(entry, true, include_info, exclude_info)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn descend(
        &mut self,
        entry: Entry,
        yielded: bool,
        include_info: MatchInfo,
        exclude_info: MatchInfo,
    ) -> Result<(), ContextError> {
        let path = entry.path.clone();
        self.parents.push(Parent {
            entry,
            yielded,
            include_info,
            exclude_info,
        });
        let result = self.visit_dir(&path);
        self.parents.pop();
        result
    }

    fn judge(
        &self,
        path: &str,
        is_dir: bool,
    ) -> Result<(Verdict, MatchInfo, MatchInfo), ContextError> {
        let no_parent = MatchInfo::default();
        let parent = self.parents.last();
        self.filter.judge(
            parent.map_or(&no_parent, |parent| &parent.include_info),
            parent.map_or(&no_parent, |parent| &parent.exclude_info),
            path,
            is_dir,
        )
    }

    fn entry(
        &mut self,
        path: String,
        full: &Path,
        metadata: &Metadata,
    ) -> Result<Entry, ContextError> {
        let file_type = metadata.file_type();
        let kind = if file_type.is_dir() {
            EntryKind::Dir
        } else if file_type.is_symlink() {
            EntryKind::Symlink
        } else if file_type.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        };
        let mut link_target = None;
        match kind {
            EntryKind::Symlink => link_target = Some(read_link_text(full)?),
            EntryKind::Dir => {}
            EntryKind::File | EntryKind::Other => {
                // fsutil sends the second and later names of a multiply linked file
                // as links to the first one it sent (it keys on the inode alone; the
                // device too here, in case the context spans mounts).
                if metadata.nlink() > 1 {
                    let key = (metadata.dev(), metadata.ino());
                    match self.hardlinks.get(&key) {
                        Some(first) => link_target = Some(first.clone()),
                        None => {
                            self.hardlinks.insert(key, path.clone());
                        }
                    }
                }
            }
        }
        let mtime_ns = metadata
            .mtime()
            .saturating_mul(1_000_000_000)
            .saturating_add(metadata.mtime_nsec());
        Ok(Entry {
            path,
            kind,
            mode: go_mode(metadata.mode()),
            uid: metadata.uid(),
            gid: metadata.gid(),
            size: if kind == EntryKind::Dir {
                0
            } else {
                metadata.size()
            },
            mtime_ns,
            link_target,
        })
    }
}

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
