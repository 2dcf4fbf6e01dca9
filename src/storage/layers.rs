//! An image's filesystem read from its layer tars, and the content digest of what a
//! werf import takes from it: the bytes that decide whether an importing image must
//! be built again (werf computes the same by running a checksum script in the source
//! image; we have the stored image's layers at hand instead).
//!
//! Layers are applied in order with the OCI whiteout rules: `.wh.<name>` deletes
//! `<name>` of the layers below, `.wh..wh..opq` empties its directory of them, an
//! entry that is not a directory replaces whatever was at its path (subtree and all).
//! A hard link is the file it links to (same content, mode and owner).

use std::collections::BTreeMap;
use std::io::Read;

use sha2::{Digest as _, Sha256};
use tar::EntryType;

use crate::context::{self, Entry, EntryKind, Filter, go_mode_bits};

/// Names the record layout of [`import_digest`], so that changing it changes every
/// digest instead of colliding with old ones.
const FORMAT: &[u8] = b"conveyor-import-digest-v1\0";

/// Symlinks followed resolving an import's `add`, as Linux's `ELOOP` limit.
const MAX_SYMLINK_HOPS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("layer {layer}: {reason}")]
    Read { layer: usize, reason: String },
    #[error("layer {layer}: hard link {path} to {target}, which no layer below holds")]
    DanglingHardLink {
        layer: usize,
        path: String,
        target: String,
    },
    #[error("import of {add}: {reason}")]
    Select { add: String, reason: String },
}

/// One path of the merged filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: EntryKind,
    /// Permission bits with setuid (0o4000), setgid (0o2000) and sticky (0o1000).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub link_target: Option<String>,
    /// SHA-256 of a regular file's bytes.
    pub content: Option<[u8; 32]>,
}

/// An image's filesystem: clean relative paths (no leading `/`) to what is there.
#[derive(Debug, Default)]
pub struct Filesystem {
    nodes: BTreeMap<String, Node>,
}

/// A layer's path made relative and clean (`./a/b/` → `a/b`); `None` for the root.
fn clean(path: &str) -> Option<String> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return None;
    }
    Some(parts.join("/"))
}

fn parent_and_name(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

fn is_below(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl Filesystem {
    /// Applies the layers, bottom first; each may be gzip-compressed or plain tar.
    pub fn from_layers<R: Read>(layers: impl IntoIterator<Item = R>) -> Result<Self, LayerError> {
        let mut filesystem = Filesystem::default();
        for (index, layer) in layers.into_iter().enumerate() {
            filesystem.apply(index, layer)?;
        }
        Ok(filesystem)
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    fn remove_subtree(&mut self, path: &str) {
        self.nodes.remove(path);
        self.remove_below(path);
    }

    fn remove_below(&mut self, dir: &str) {
        let below: Vec<String> = self
            .nodes
            .range(format!("{dir}/")..)
            .map(|(path, _)| path)
            .take_while(|path| path.starts_with(&format!("{dir}/")))
            .cloned()
            .collect();
        for path in below {
            self.nodes.remove(&path);
        }
    }

    fn apply<R: Read>(&mut self, index: usize, layer: R) -> Result<(), LayerError> {
        let failed = |error: std::io::Error| LayerError::Read {
            layer: index,
            reason: error.to_string(),
        };
        let mut layer = std::io::BufReader::new(layer);
        let magic = std::io::BufRead::fill_buf(&mut layer).map_err(failed)?;
        let reader: Box<dyn Read + '_> = if magic.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::GzDecoder::new(layer))
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            return Err(LayerError::Read {
                layer: index,
                reason: "zstd-compressed layers are not read (BuildKit pushes gzip by default)"
                    .into(),
            });
        } else {
            Box::new(layer)
        };
        // What this layer itself put down: whiteouts apply to the layers below only.
        let mut opaque: Vec<String> = Vec::new();
        let mut whiteouts: Vec<String> = Vec::new();
        let mut added: Vec<(String, Node)> = Vec::new();
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(failed)? {
            let mut entry = entry.map_err(failed)?;
            let raw_path = entry.path().map_err(failed)?.to_string_lossy().into_owned();
            let Some(path) = clean(&raw_path) else {
                continue;
            };
            let (parent, name) = parent_and_name(&path);
            if name == ".wh..wh..opq" {
                opaque.push(parent.to_string());
                continue;
            }
            if let Some(hidden) = name.strip_prefix(".wh.") {
                whiteouts.push(if parent.is_empty() {
                    hidden.to_string()
                } else {
                    format!("{parent}/{hidden}")
                });
                continue;
            }
            let header = entry.header();
            let mode = header.mode().map_err(failed)? & 0o7777;
            let uid = header.uid().map_err(failed)?;
            let gid = header.gid().map_err(failed)?;
            let link_target = || -> Result<String, LayerError> {
                Ok(entry
                    .link_name()
                    .map_err(failed)?
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default())
            };
            let node = match header.entry_type() {
                EntryType::Regular | EntryType::Continuous => {
                    let mut digest = Sha256::new();
                    let mut buffer = [0u8; 32 * 1024];
                    loop {
                        let n = entry.read(&mut buffer).map_err(failed)?;
                        if n == 0 {
                            break;
                        }
                        digest.update(&buffer[..n]);
                    }
                    Node {
                        kind: EntryKind::File,
                        mode,
                        uid,
                        gid,
                        link_target: None,
                        content: Some(digest.finalize().into()),
                    }
                }
                EntryType::Directory => Node {
                    kind: EntryKind::Dir,
                    mode,
                    uid,
                    gid,
                    link_target: None,
                    content: None,
                },
                EntryType::Symlink => Node {
                    kind: EntryKind::Symlink,
                    mode,
                    uid,
                    gid,
                    link_target: Some(link_target()?),
                    content: None,
                },
                EntryType::Link => {
                    let target = link_target()?;
                    let found = clean(&target).and_then(|target| {
                        added
                            .iter()
                            .rev()
                            .find(|(path, _)| *path == target)
                            .map(|(_, node)| node.clone())
                            .or_else(|| self.nodes.get(&target).cloned())
                    });
                    found.ok_or(LayerError::DanglingHardLink {
                        layer: index,
                        path: path.clone(),
                        target,
                    })?
                }
                EntryType::Char | EntryType::Block | EntryType::Fifo => Node {
                    kind: EntryKind::Other,
                    mode,
                    uid,
                    gid,
                    link_target: None,
                    content: None,
                },
                // PAX and GNU extension headers the tar crate hands through.
                _ => continue,
            };
            added.push((path, node));
        }
        for dir in &opaque {
            self.remove_below(dir);
        }
        for path in &whiteouts {
            self.remove_subtree(path);
        }
        for (path, node) in added {
            let replaces_dir = node.kind != EntryKind::Dir
                || self
                    .nodes
                    .get(&path)
                    .is_some_and(|old| old.kind != EntryKind::Dir);
            if replaces_dir {
                self.remove_below(&path);
            }
            self.nodes.insert(path, node);
        }
        Ok(())
    }

    /// `path` with the symlinks along it resolved inside the filesystem (its root
    /// is the image's root, as BuildKit resolves a copy source); `None` when it
    /// does not exist.
    fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = path
            .split('/')
            .rev()
            .filter(|part| !part.is_empty() && *part != ".")
            .map(str::to_string)
            .collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                resolved.pop();
                continue;
            }
            resolved.push(part);
            let current = resolved.join("/");
            let Some(node) = self.nodes.get(&current) else {
                // A layer may hold `a/b` without an entry for `a`: a directory still.
                if self.walk_below(&current).is_empty() {
                    return None;
                }
                continue;
            };
            if let (EntryKind::Symlink, Some(target)) = (node.kind, &node.link_target) {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return None;
                }
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                pending.extend(
                    target
                        .split('/')
                        .rev()
                        .filter(|part| !part.is_empty() && *part != ".")
                        .map(str::to_string),
                );
            }
        }
        Some(resolved.join("/"))
    }

    /// Everything below directory `dir` (`""`: the root), relative to it, in walk
    /// order: depth first, each directory's entries sorted byte-wise.
    fn walk_below(&self, dir: &str) -> Vec<(String, &Node)> {
        let mut out: Vec<(String, &Node)> = self
            .nodes
            .iter()
            .filter(|(path, _)| is_below(path, dir))
            .map(|(path, node)| {
                let relative = if dir.is_empty() {
                    path.as_str()
                } else {
                    &path[dir.len() + 1..]
                };
                (relative.to_string(), node)
            })
            .collect();
        out.sort_by(|(a, _), (b, _)| a.split('/').cmp(b.split('/')));
        out
    }
}

/// What a werf import takes from the image: the path `add` (absolute) and, for a
/// directory, the entries below it that the include/exclude patterns (relative to
/// `add`, as the copy applies them) let through.
pub struct ImportSelection<'a> {
    pub add: &'a str,
    pub include_paths: &'a [String],
    pub exclude_paths: &'a [String],
}

/// `sha256:<hex>` over what `selection` takes from `filesystem`: for each entry in
/// walk order, its path relative to `add`, kind, permission bits, owner, and a
/// symlink's target or a file's SHA-256. The directory `add` itself only counts as a
/// directory: the copy puts its contents in place, not its metadata. An `add` that
/// is not there gets a digest of its own (the build then fails on the copy).
pub fn import_digest(
    filesystem: &Filesystem,
    selection: &ImportSelection<'_>,
) -> Result<String, LayerError> {
    let failed = |reason: String| LayerError::Select {
        add: selection.add.to_string(),
        reason,
    };
    let mut digest = Sha256::new();
    digest.update(FORMAT);
    let Some(root) = filesystem.resolve(selection.add) else {
        digest.update(b"missing\0");
        return Ok(crate::digest::sha256_string(&digest.finalize()));
    };
    let root_node = match filesystem.get(&root) {
        Some(node) => node,
        // The image root, or a directory only implied by the paths below it.
        None => &Node {
            kind: EntryKind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            link_target: None,
            content: None,
        },
    };
    if root_node.kind != EntryKind::Dir {
        record(&mut digest, ".", root_node);
        return Ok(crate::digest::sha256_string(&digest.finalize()));
    }
    digest.update(b"dir\0.\0");
    let below = filesystem.walk_below(&root);
    let entries: Vec<Entry> = below
        .iter()
        .map(|(path, node)| Entry {
            path: path.clone(),
            kind: node.kind,
            mode: match node.kind {
                EntryKind::Dir => go_mode_bits::DIR,
                EntryKind::Symlink => go_mode_bits::SYMLINK,
                _ => 0,
            } | (node.mode & 0o777),
            uid: 0,
            gid: 0,
            size: 0,
            mtime_ns: 0,
            link_target: node.link_target.clone(),
        })
        .collect();
    let filter = Filter {
        include_patterns: selection.include_paths.to_vec(),
        exclude_patterns: selection.exclude_paths.to_vec(),
        follow_paths: Vec::new(),
    };
    let nodes: BTreeMap<&str, &Node> = below.iter().map(|(p, n)| (p.as_str(), *n)).collect();
    for entry in context::filter_walked(&entries, &filter).map_err(|e| failed(e.to_string()))? {
        record(&mut digest, &entry.path, nodes[entry.path.as_str()]);
    }
    Ok(crate::digest::sha256_string(&digest.finalize()))
}

fn record(digest: &mut Sha256, path: &str, node: &Node) {
    let kind = match node.kind {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Symlink => "symlink",
        EntryKind::Other => "other",
    };
    let content = node.content.map(hex::encode).unwrap_or_default();
    let link_target = node.link_target.as_deref().unwrap_or_default();
    // NUL-terminated fields: paths and link targets cannot hold a NUL.
    digest.update(
        format!(
            "{kind}\0{path}\0{:o}\0{}\0{}\0{link_target}\0{content}\0",
            node.mode, node.uid, node.gid
        )
        .as_bytes(),
    );
}

#[cfg(test)]
#[path = "layers_tests.rs"]
mod tests;
