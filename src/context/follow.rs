//! fsutil's follow paths: symlinks named by BuildKit's `followpaths` (the Dockerfile
//! frontend sends the Dockerfile's path, which may be a symlink) are resolved inside
//! the context, and the links and their targets are added to the include patterns.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::ContextError;
use super::gopath;
use super::walk::{ReadDirError, is_not_found, read_link_text, read_sorted_names};

/// fsutil's `dedupePaths`: drops a path that is under the path kept just before it;
/// `None` (no filter at all) when one of them is the root.
pub(crate) fn dedupe_paths(paths: &[String]) -> Option<Vec<String>> {
    let mut kept: Vec<String> = Vec::with_capacity(paths.len());
    let mut last = "";
    for path in paths {
        if path == "." {
            return None;
        }
        if path.starts_with(&format!("{last}/")) {
            continue;
        }
        kept.push(path.clone());
        last = path;
    }
    Some(kept)
}

/// fsutil `FollowLinks`: each follow path, with every symlink along it resolved
/// inside the context (absolute targets count from the context root, `..` stops at
/// it), and the symlinks passed on the way. A component may be a wildcard; the
/// symlinks it matches are followed. Sorted, deduped; `None` when one is the root.
pub(crate) fn follow_links(
    root: &Path,
    paths: &[String],
) -> Result<Option<Vec<String>>, ContextError> {
    let mut resolver = SymlinkResolver {
        root,
        resolved: BTreeSet::new(),
    };
    for path in paths {
        // fsutil takes a leading `..` literally; we keep it inside the context.
        resolver.append(&relative(&gopath::clean(&format!("/{path}"))))?;
    }
    let sorted: Vec<String> = resolver.resolved.into_iter().collect();
    Ok(dedupe_paths(&sorted))
}

/// `/a/b` → `a/b`, `/` → `.`.
fn relative(rooted: &str) -> String {
    match rooted.trim_start_matches('/') {
        "" => ".".to_string(),
        rest => rest.to_string(),
    }
}

struct SymlinkResolver<'r> {
    root: &'r Path,
    resolved: BTreeSet<String>,
}

impl SymlinkResolver<'_> {
    fn append(&mut self, path: &str) -> Result<(), ContextError> {
        let mut rest = gopath::join(".", path);
        let mut current = ".".to_string();
        loop {
            let (first, after) = match rest.split_once('/') {
                Some((first, after)) => (first.to_string(), after.to_string()),
                None => (rest.clone(), String::new()),
            };
            current = gopath::join(&current, &first);
            let targets = self.read_symlink(&current, true)?;
            rest = after;
            if (rest.is_empty() || !targets.is_empty()) && self.resolved.contains(&current) {
                return Ok(());
            }
            if !targets.is_empty() {
                self.resolved.insert(current);
                for target in targets {
                    self.append(&gopath::join(&target, &rest))?;
                }
                return Ok(());
            }
            if rest.is_empty() {
                self.resolved.insert(current);
                return Ok(());
            }
        }
    }

    /// The rooted targets of the symlink at `path`, or of the symlinks its last
    /// component matches when that is a wildcard; empty when there are none.
    fn read_symlink(&self, path: &str, allow_wildcard: bool) -> Result<Vec<String>, ContextError> {
        let base = path.rsplit('/').next().unwrap_or(path);
        if allow_wildcard && gopath::contains_wildcards(base) {
            let parent = gopath::dir(path);
            let names = match read_sorted_names(&self.root.join(&parent)) {
                Ok(names) => names,
                Err(ReadDirError::Io(err)) if is_not_found(&err) => return Ok(Vec::new()),
                Err(err) => return Err(err.into_context_error(self.root.join(&parent))),
            };
            let mut targets = Vec::new();
            for name in names {
                if gopath::match_pattern(base, &name) == Ok(true) {
                    targets.extend(self.read_symlink(&gopath::join(&parent, &name), false)?);
                }
            }
            return Ok(targets);
        }
        if path == "." {
            return Ok(Vec::new());
        }
        let full = self.root.join(path);
        let metadata = match fs::symlink_metadata(&full) {
            Ok(metadata) => metadata,
            Err(err) if is_not_found(&err) => return Ok(Vec::new()),
            Err(err) => return Err(ContextError::io(full, err)),
        };
        if !metadata.file_type().is_symlink() {
            return Ok(Vec::new());
        }
        let link = gopath::clean(&read_link_text(&full)?);
        if link.starts_with('/') {
            return Ok(vec![link]);
        }
        Ok(vec![gopath::join(
            "/",
            &gopath::join(&gopath::dir(path), &link),
        )])
    }
}
