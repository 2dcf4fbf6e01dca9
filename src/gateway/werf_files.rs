//! `.Files` and the `.werf` partials of a werf.yaml rendered in the frontend, read from
//! the build context through the bridge. Which files a template reads is known only
//! while it renders (a path may itself come from a template), and rendering is
//! synchronous, so the files are fetched in rounds: a render that asks for a path not
//! fetched yet records it and fails; the caller fetches what was asked (one local
//! source whose follow paths are every path asked so far) and renders again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use crate::context::{EntryKind, go_mode_bits};
use crate::llb::{Definition, LocalSource, OpOptions};
use crate::werf::template::FileSource;

use super::bridge::Bridge;
use super::frontend::FrontendError;
use super::opts::FrontendOpts;

/// Rounds before giving up: each round fetches at least one new path, and real
/// configs need one to three.
pub const MAX_ROUNDS: usize = 32;

/// What has been read from the context so far, and what a render asked for beyond it.
#[derive(Default)]
struct Known {
    /// File contents by project-relative path.
    files: BTreeMap<String, String>,
    /// Paths known to be absent.
    missing: BTreeSet<String>,
    /// Directories read whole (`""` is the context root): their files are all in `files`.
    listed: BTreeSet<String>,
    /// Paths a render asked for that are in none of the above.
    wanted: BTreeSet<String>,
}

/// The context's files as a template's [`FileSource`], fetched in rounds.
#[derive(Default)]
pub struct ContextFiles {
    known: Mutex<Known>,
}

/// The message of the error a render stops with while a file is being fetched; never
/// shown, as the caller renders again.
const FETCHING: &str = "the file is being read from the build context";

impl Known {
    fn known_dir(&self, dir: &str) -> bool {
        self.listed
            .iter()
            .any(|listed| dir == listed || under(dir, listed))
    }

    fn ask(&mut self, path: &str) -> String {
        self.wanted.insert(path.to_string());
        FETCHING.to_string()
    }
}

impl ContextFiles {
    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        // A render that panicked is reported as an internal error before this is used
        // again; its half-done state is still consistent (only whole inserts).
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Paths asked for and not fetched yet, emptied.
    fn take_wanted(&self) -> BTreeSet<String> {
        std::mem::take(&mut self.known().wanted)
    }

    /// Reads `wanted` (and, for the follow paths, everything read before) from the
    /// context: a file's text, a directory's files recursively, or its absence.
    async fn fetch(
        &self,
        bridge: &Bridge,
        opts: &FrontendOpts,
        wanted: BTreeSet<String>,
    ) -> Result<(), FrontendError> {
        let follow: BTreeSet<String> = {
            let known = self.known();
            known
                .files
                .keys()
                .chain(&known.listed)
                .chain(&wanted)
                .cloned()
                .collect()
        };
        let whole_context = follow.contains("");
        let local = LocalSource {
            name: opts.context_local.clone(),
            session_id: opts.session_id.clone(),
            shared_key_hint: format!("{}-werf-files", opts.context_local),
            follow_paths: if whole_context {
                Vec::new()
            } else {
                follow.into_iter().collect()
            },
            options: OpOptions {
                custom_name: Some("[internal] load the files werf.yaml reads".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let reference = bridge.solve(&Definition::marshal(&local.state())).await?;
        for path in wanted {
            let stat = if path.is_empty() {
                None
            } else {
                bridge.stat_file(&reference, &path).await?
            };
            match stat {
                None if !path.is_empty() => {
                    self.known().missing.insert(path);
                }
                Some(stat) if stat.mode & go_mode_bits::DIR == 0 => {
                    let text = read_text(bridge, &reference, &path).await?;
                    self.known().files.insert(path, text);
                }
                _ => {
                    let tree = read_tree(bridge, &reference, &path).await?;
                    let mut known = self.known();
                    known.files.extend(tree);
                    known.listed.insert(path);
                }
            }
        }
        Ok(())
    }
}

/// Every file under `dir` (`""` is the root) with its text.
async fn read_tree(
    bridge: &Bridge,
    reference: &str,
    dir: &str,
) -> Result<BTreeMap<String, String>, FrontendError> {
    let mut tree = BTreeMap::new();
    for entry in super::stored::walk_under(bridge, reference, dir).await? {
        if entry.kind != EntryKind::Dir {
            let text = read_text(bridge, reference, &entry.path).await?;
            tree.insert(entry.path, text);
        }
    }
    Ok(tree)
}

/// Whether `path` is strictly under the directory `dir` (`""` is the root).
fn under(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

async fn read_text(bridge: &Bridge, reference: &str, path: &str) -> Result<String, FrontendError> {
    let bytes = bridge.read_file(reference, path).await?;
    String::from_utf8(bytes).map_err(|_| FrontendError::ReadBuildFile {
        filename: path.to_string(),
        reason: "it is not UTF-8 text".into(),
    })
}

impl FileSource for ContextFiles {
    fn read(&self, path: &str) -> Result<Option<String>, String> {
        let mut known = self.known();
        if let Some(text) = known.files.get(path) {
            return Ok(Some(text.clone()));
        }
        let parent = path.rsplit_once('/').map_or("", |(parent, _)| parent);
        if known.missing.contains(path) || known.known_dir(path) || known.known_dir(parent) {
            return Ok(None);
        }
        Err(known.ask(path))
    }

    fn is_dir(&self, path: &str) -> Result<bool, String> {
        let mut known = self.known();
        if known.known_dir(path) {
            return Ok(known.listed.contains(path) || known.files.keys().any(|f| under(f, path)));
        }
        if known.files.contains_key(path) || known.missing.contains(path) {
            return Ok(false);
        }
        Err(known.ask(path))
    }

    fn files_under(&self, dir: &str) -> Result<Vec<String>, String> {
        let mut known = self.known();
        if known.missing.contains(dir) {
            return Ok(Vec::new());
        }
        if !known.known_dir(dir) {
            return Err(known.ask(dir));
        }
        Ok(known
            .files
            .keys()
            .filter(|file| under(file, dir))
            .cloned()
            .collect())
    }
}

/// Renders with the context's files until a render asks for nothing new.
pub async fn with_context_files<T>(
    bridge: &Bridge,
    opts: &FrontendOpts,
    mut render: impl FnMut(Arc<ContextFiles>) -> Result<T, FrontendError>,
) -> Result<T, FrontendError> {
    let files = Arc::new(ContextFiles::default());
    for _ in 0..MAX_ROUNDS {
        let rendered = render(files.clone());
        let wanted = files.take_wanted();
        if wanted.is_empty() {
            return rendered;
        }
        files.fetch(bridge, opts, wanted).await?;
    }
    Err(FrontendError::ReadBuildFile {
        filename: "werf.yaml".into(),
        reason: format!("its templates asked for new files {MAX_ROUNDS} times over"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(listed: &[&str], files: &[(&str, &str)], missing: &[&str]) -> ContextFiles {
        ContextFiles {
            known: Mutex::new(Known {
                files: files
                    .iter()
                    .map(|(p, t)| (p.to_string(), t.to_string()))
                    .collect(),
                missing: missing.iter().map(|p| p.to_string()).collect(),
                listed: listed.iter().map(|p| p.to_string()).collect(),
                wanted: BTreeSet::new(),
            }),
        }
    }

    #[test]
    fn unknown_paths_are_asked_for_and_known_ones_answered() {
        let context = files(
            &[".werf"],
            &[(".werf/a.tmpl", "A"), ("x.txt", "X")],
            &["gone"],
        );
        assert_eq!(context.read("x.txt").unwrap().as_deref(), Some("X"));
        assert_eq!(context.read("gone").unwrap(), None);
        // Under a directory read whole, an unknown file is known to be absent.
        assert_eq!(context.read(".werf/b.tmpl").unwrap(), None);
        assert_eq!(context.files_under(".werf").unwrap(), [".werf/a.tmpl"]);
        assert!(context.is_dir(".werf").unwrap());
        assert!(!context.is_dir("x.txt").unwrap());
        assert_eq!(context.read("y.txt").unwrap_err(), FETCHING);
        assert_eq!(context.files_under("conf").unwrap_err(), FETCHING);
        assert_eq!(
            context.take_wanted(),
            BTreeSet::from(["conf".to_string(), "y.txt".to_string()])
        );
        assert!(context.take_wanted().is_empty());
    }

    #[test]
    fn the_listed_root_knows_every_path() {
        let context = files(&[""], &[("a/b.txt", "B")], &[]);
        assert_eq!(context.read("nope").unwrap(), None);
        assert_eq!(context.files_under("a").unwrap(), ["a/b.txt"]);
        assert_eq!(context.files_under("").unwrap(), ["a/b.txt"]);
        assert!(context.is_dir("a").unwrap());
    }
}
