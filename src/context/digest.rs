//! Content digests over a selection of the build context, for build signatures.
//!
//! A digest covers, for each entry in walk order: its path, its kind, its permission
//! bits (with setuid, setgid and sticky), a symlink's target text, and the SHA-256 of
//! a file's bytes. It deliberately leaves out modification times, owners and hard
//! link structure: a fresh checkout of the same commit (new mtimes, another user's
//! uid, no hard links) must give the same digest, or every CI run would miss the
//! stages storage. Permissions stay in: they end up in the image. (A checkout under
//! another umask can therefore change the digest, as it changes the image.)

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::walk::go_mode_bits::{PERM, SETGID, SETUID, STICKY};
use super::walk::{Entry, EntryKind, Filter, check_clean, open_file, walk};
use super::{ContextError, gopath};

/// Names the record layout below, so that changing it changes every digest instead
/// of silently colliding with old ones.
const FORMAT: &[u8] = b"conveyor-context-digest-v1\0";

/// Files are hashed through a buffer of this size, never read whole.
const READ_BUFFER: usize = 32 * 1024;

/// Symlinks followed while resolving one COPY source, as Linux's `ELOOP` limit.
const MAX_SYMLINK_HOPS: usize = 40;

/// `sha256:<hex>` over `entries` (as [`walk`] returns them, or a subset) of the
/// context at `root`. Files are read again here, and must still be regular files.
pub fn digest_files(root: &Path, entries: &[Entry]) -> Result<String, ContextError> {
    let mut buffer = vec![0; READ_BUFFER];
    digest_entries(entries, &mut |path| file_sha256(root, path, &mut buffer))
}

/// The same digest over entries whose files are hashed by `file_sha256` (given a
/// file's path, the SHA-256 of its bytes): for a context that is not on this disk,
/// as the frontend sees it through BuildKit.
pub fn digest_entries(
    entries: &[Entry],
    file_sha256: &mut dyn FnMut(&str) -> Result<Vec<u8>, ContextError>,
) -> Result<String, ContextError> {
    let mut digest = Sha256::new();
    digest.update(FORMAT);
    for entry in entries {
        digest.update(record(entry, file_sha256)?.as_bytes());
    }
    Ok(crate::digest::sha256_string(&digest.finalize()))
}

/// Each entry's own digest (`sha256:` of its record alone), path by path: what
/// `conveyor explain` names when a stage's context input changed.
pub fn entry_digests(
    root: &Path,
    sources: &[&str],
    filter: &Filter,
) -> Result<Vec<(String, String)>, ContextError> {
    let entries = walk(root, filter)?;
    let selection = select_sources(&entries, sources)?;
    let mut buffer = vec![0; READ_BUFFER];
    selection
        .iter()
        .map(|entry| {
            let record = record(entry, &mut |path| file_sha256(root, path, &mut buffer))?;
            let digest = hex::encode(Sha256::digest(record.as_bytes()));
            Ok((entry.path.clone(), format!("sha256:{digest}")))
        })
        .collect()
}

/// One entry's record: what the digest covers of it.
fn record(
    entry: &Entry,
    file_sha256: &mut dyn FnMut(&str) -> Result<Vec<u8>, ContextError>,
) -> Result<String, ContextError> {
    check_clean(&entry.path)?;
    let (kind, link_target, content) = match entry.kind {
        EntryKind::File => {
            let content = hex::encode(file_sha256(&entry.path)?);
            ("file", "", content)
        }
        EntryKind::Dir => ("dir", "", String::new()),
        EntryKind::Symlink => {
            let target = entry.link_target.as_deref().unwrap_or_default();
            ("symlink", target, String::new())
        }
        EntryKind::Other => ("other", "", String::new()),
    };
    let permissions = entry.mode & (PERM | SETUID | SETGID | STICKY);
    // Five NUL-terminated fields: Unix paths and link targets cannot hold a NUL,
    // so records cannot run into each other.
    Ok(format!(
        "{kind}\0{path}\0{permissions:o}\0{link_target}\0{content}\0",
        path = entry.path
    ))
}

/// The digest of what `COPY <sources...> <dest>` would take from the context at
/// `root` once `filter` (the `.dockerignore`) has been applied. A source is relative
/// to the context root even when written absolute; `.` is the whole context; a
/// directory is its whole subtree; a source with `*`, `?` or `[` is a Go
/// `filepath.Match` pattern, matched as BuildKit matches it (the part after the
/// first wildcard component against paths under the part before it), and may match
/// nothing. Symlinks along a source, and a matched symlink itself, are resolved
/// inside the context, as BuildKit resolves COPY sources. A source that climbs out
/// of the context (`../x`) is refused, a plain source that does not exist too.
pub fn digest_paths(
    root: &Path,
    sources: &[&str],
    filter: &Filter,
) -> Result<String, ContextError> {
    let entries = walk(root, filter)?;
    let selection = select_sources(&entries, sources)?;
    digest_files(root, &selection)
}

/// The entries each source takes, source by source, each in walk order (see
/// `digest_paths` for what a source means).
pub fn select_sources(entries: &[Entry], sources: &[&str]) -> Result<Vec<Entry>, ContextError> {
    let index: HashMap<&str, &Entry> = entries
        .iter()
        .map(|entry| (entry.path.as_str(), entry))
        .collect();
    let mut selected = Vec::new();
    for &source in sources {
        let wanted = source_path(source)?;
        if !gopath::contains_wildcards(&wanted) {
            let resolved = resolve(&index, source, &wanted)?;
            selected.extend(subtree(entries, &index, source, &resolved)?);
            continue;
        }
        let (fixed, pattern) = split_wildcards(&wanted);
        let base = resolve(&index, source, &fixed)?;
        let mut taken_dir: Option<&str> = None;
        for entry in entries {
            let Some(relative) = strictly_under(&entry.path, &base) else {
                continue;
            };
            if taken_dir.is_some_and(|dir| strictly_under(&entry.path, dir).is_some()) {
                continue;
            }
            let matched = gopath::match_pattern(&pattern, relative).map_err(|_| {
                ContextError::BadPattern {
                    pattern: source.to_string(),
                    reason: "syntax error in pattern",
                }
            })?;
            if matched {
                let resolved = resolve(&index, source, &entry.path)?;
                selected.extend(subtree(entries, &index, source, &resolved)?);
                if entry.kind == EntryKind::Dir {
                    taken_dir = Some(&entry.path);
                }
            }
        }
    }
    Ok(selected)
}

/// A COPY source as a clean path relative to the root (`""` for the root itself).
fn source_path(source: &str) -> Result<String, ContextError> {
    let cleaned = gopath::clean(source.trim_start_matches('/'));
    if cleaned == ".." || cleaned.starts_with("../") {
        return Err(ContextError::SourceOutsideContext {
            src: source.to_string(),
        });
    }
    Ok(if cleaned == "." {
        String::new()
    } else {
        cleaned
    })
}

/// fsutil copy's `splitWildcards`: the components before the first one with a
/// wildcard, and the rest.
fn split_wildcards(path: &str) -> (String, String) {
    let components: Vec<&str> = path.split('/').collect();
    let first_wild = components
        .iter()
        .position(|component| gopath::contains_wildcards(component))
        .unwrap_or(components.len());
    (
        components[..first_wild].join("/"),
        components[first_wild..].join("/"),
    )
}

/// `path` relative to `dir` when it lies below it (`dir` `""` is the root).
fn strictly_under<'p>(path: &'p str, dir: &str) -> Option<&'p str> {
    if dir.is_empty() {
        return Some(path);
    }
    path.strip_prefix(dir)?.strip_prefix('/')
}

/// Resolves the symlinks along `path` (the last component's too) through the walked
/// entries, never leaving the context: an absolute target starts again at the root
/// and `..` stops there, as BuildKit's scoped path resolution does.
fn resolve(
    index: &HashMap<&str, &Entry>,
    source: &str,
    path: &str,
) -> Result<String, ContextError> {
    let mut pending: VecDeque<String> = components(path).collect();
    let mut resolved: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(component) = pending.pop_front() {
        if component == ".." {
            resolved.pop();
            continue;
        }
        resolved.push(component);
        let current = resolved.join("/");
        let Some(entry) = index.get(current.as_str()) else {
            continue;
        };
        if entry.kind != EntryKind::Symlink {
            continue;
        }
        hops += 1;
        if hops > MAX_SYMLINK_HOPS {
            return Err(ContextError::SymlinkLoop {
                src: source.to_string(),
            });
        }
        resolved.pop();
        let target = entry.link_target.as_deref().unwrap_or_default();
        if target.starts_with('/') {
            resolved.clear();
        }
        for component in components(target).collect::<Vec<_>>().into_iter().rev() {
            pending.push_front(component);
        }
    }
    Ok(resolved.join("/"))
}

fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|component| !component.is_empty() && *component != ".")
        .map(str::to_string)
}

/// `path` and everything below it, in walk order.
fn subtree(
    entries: &[Entry],
    index: &HashMap<&str, &Entry>,
    source: &str,
    path: &str,
) -> Result<Vec<Entry>, ContextError> {
    if !path.is_empty() && !index.contains_key(path) {
        return Err(ContextError::SourceNotFound {
            src: source.to_string(),
        });
    }
    Ok(entries
        .iter()
        .filter(|entry| entry.path == path || strictly_under(&entry.path, path).is_some())
        .cloned()
        .collect())
}

/// SHA-256 of a regular file's bytes, read in `buffer`-sized pieces.
fn file_sha256(root: &Path, path: &str, buffer: &mut [u8]) -> Result<Vec<u8>, ContextError> {
    let mut file = open_file(root, path)?;
    let mut digest = Sha256::new();
    loop {
        match file.read(buffer) {
            Ok(0) => break,
            Ok(n) => digest.update(&buffer[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(ContextError::io(root.join(path), err)),
        }
    }
    Ok(digest.finalize().to_vec())
}

#[cfg(test)]
#[path = "digest_tests.rs"]
mod tests;
