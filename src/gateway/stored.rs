//! The stages storage in frontend mode, read-only: given `--build-arg
//! CONVEYOR_REPO=<repo>`, the frontend signs the selected stages exactly as the CLI
//! does and asks BuildKit (ResolveImageConfig: the frontend's container has no
//! network) for `<repo>:<signature hex>`; a stage found there lowers to that image.
//!
//! A werf stage importing from another stage is signed by the imported content when
//! the storage keeps that content's digest (the CLI's `build --repo` puts it there);
//! else it is left unsigned and built.
//!
//! Signing needs the content of the context files each stage copies. The frontend sees
//! the context only through BuildKit: it solves the context (after `.dockerignore`),
//! walks it with ReadDir, and reads just the files the stages copy, in ranges.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest as _, Sha256};

use crate::context::{self, ContextError, Entry, EntryKind};
use crate::graph::{
    self, GitFiles, ImportedFiles, Selection, SignatureSources, StageGraph, WerfSources,
};
use crate::llb::{Definition, LocalSource, OpOptions, Platform};
use crate::lower::{self, ImageConfig, ResolvedBase, ReusedStage, ReusedStages};
use crate::proto::fsutil::types::Stat;
use crate::storage;

use super::bridge::Bridge;
use super::frontend::FrontendError;
use super::opts::FrontendOpts;

/// The build arg naming the stages storage.
pub const CONVEYOR_REPO: &str = "CONVEYOR_REPO";

/// Files are read through the bridge in pieces of this size (gRPC messages are bounded).
const READ_CHUNK: u64 = 1 << 20;

/// What signing needs besides the graph: the same values the CLI signs with.
pub(super) struct Signing<'a> {
    pub platform: &'a Platform,
    pub build_args: &'a BTreeMap<String, String>,
    /// Base images by reference as written → their config digests
    /// (`storage::config_digest`), what signatures take.
    pub config_digests: &'a BTreeMap<String, String>,
    pub exclude_patterns: &'a [String],
    /// The text the graph's spans point into (the Dockerfile, or the rendered werf.yaml).
    pub text: &'a str,
    /// A werf config: its git mappings' files are signed too.
    pub werf: bool,
}

/// The selected stages stored in `CONVEYOR_REPO`; none without it.
pub(super) async fn reused_stages(
    bridge: &Bridge,
    opts: &FrontendOpts,
    stage_graph: &StageGraph,
    selection: &Selection,
    signing: Signing<'_>,
) -> Result<ReusedStages, FrontendError> {
    if let Some(stored) = &opts.stored_stages {
        return given_stages(bridge, opts, stored, selection, signing.platform).await;
    }
    let Some(repo) = opts.build_args.get(CONVEYOR_REPO).filter(|r| !r.is_empty()) else {
        return Ok(ReusedStages::new());
    };
    let storage_error = |reason: String| FrontendError::Storage {
        repo: repo.clone(),
        reason,
    };
    let repository = if repo == storage::LOCAL {
        storage::LOCAL_REPOSITORY
    } else {
        repo.as_str()
    };

    let context_ref = solve_context(bridge, opts, signing.exclude_patterns).await?;
    let entries = walk(bridge, &context_ref).await?;
    let image_digests = signing.config_digests;
    let platform = signing.platform.id();

    // First pass: which files the stages read. Second: sign with their real digests.
    // werf imports are signed by their content, as the CLI signs them, when the
    // storage keeps their digest (`storage::imports`); the frontend only reads those:
    // a stage whose import digest is not kept stays unsigned, and is built. A digest
    // learned can sign more stages, which may read more files: the first pass runs
    // until no more are learned.
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut wanted_git: Vec<GitFiles> = Vec::new();
    let mut import_digests: Vec<(ImportedFiles, String)> = Vec::new();
    loop {
        let mut asked: Vec<ImportedFiles> = Vec::new();
        let mut record_import = |files: &ImportedFiles| -> Option<String> {
            let known = import_digests.iter().find(|(known, _)| known == files);
            if known.is_none() && !asked.contains(files) {
                asked.push(files.clone());
            }
            known.map(|(_, digest)| digest.clone())
        };
        let mut record_git = |files: &GitFiles| -> Result<String, String> {
            if !wanted_git.contains(files) {
                wanted_git.push(files.clone());
            }
            Ok(String::new())
        };
        let mut record_werf = WerfSources {
            git_digest: &mut record_git,
            import_digest: Some(&mut record_import),
        };
        let mut record = |sources: &[String]| -> Result<String, String> {
            let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
            let selected =
                context::select_sources(&entries, &sources).map_err(|e| e.to_string())?;
            wanted.extend(
                selected
                    .into_iter()
                    .filter(|e| e.kind == EntryKind::File)
                    .map(|e| e.path),
            );
            Ok(String::new())
        };
        let mut sources = SignatureSources {
            dockerfile_text: signing.text,
            platform: &platform,
            build_args: signing.build_args,
            image_digests,
            context_digest: &mut record,
        };
        graph::signatures_with_werf(
            stage_graph,
            selection,
            &mut sources,
            signing.werf.then_some(&mut record_werf),
        )
        .map_err(|e| storage_error(e.to_string()))?;
        let mut learned = false;
        for files in asked {
            if let Some(digest) =
                kept_import_digest(bridge, repo, repository, &files, signing.platform).await?
            {
                import_digests.push((files, digest));
                learned = true;
            }
        }
        if !learned {
            break;
        }
    }
    let mut git_digests: Vec<(GitFiles, String)> = Vec::new();
    for files in wanted_git {
        let digest = git_digest(bridge, opts, signing.exclude_patterns, &files)
            .await?
            .map_err(|e| storage_error(format!("git mapping /{}: {e}", files.root)))?;
        git_digests.push((files, digest));
    }
    let mut lookup_git = |files: &GitFiles| -> Result<String, String> {
        git_digests
            .iter()
            .find(|(wanted, _)| wanted == files)
            .map(|(_, digest)| digest.clone())
            .ok_or_else(|| "a git mapping was not read in the first pass".to_string())
    };
    let mut lookup_import = |files: &ImportedFiles| -> Option<String> {
        import_digests
            .iter()
            .find(|(known, _)| known == files)
            .map(|(_, digest)| digest.clone())
    };
    let mut git_sources = WerfSources {
        git_digest: &mut lookup_git,
        import_digest: Some(&mut lookup_import),
    };
    let mut file_digests: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for path in wanted {
        let digest = file_sha256(bridge, &context_ref, &path).await?;
        file_digests.insert(path, digest);
    }
    let mut digest = |sources: &[String]| -> Result<String, String> {
        let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
        let selected = context::select_sources(&entries, &sources).map_err(|e| e.to_string())?;
        context::digest_entries(&selected, &mut |path| {
            file_digests
                .get(path)
                .cloned()
                .ok_or_else(|| ContextError::SourceNotFound { src: path.into() })
        })
        .map_err(|e| e.to_string())
    };
    let mut sources = SignatureSources {
        dockerfile_text: signing.text,
        platform: &platform,
        build_args: signing.build_args,
        image_digests,
        context_digest: &mut digest,
    };
    let signed = graph::signatures_with_werf(
        stage_graph,
        selection,
        &mut sources,
        signing.werf.then_some(&mut git_sources),
    )
    .map_err(|e| storage_error(e.to_string()))?;

    let mut reused = ReusedStages::new();
    for &id in &selection.order {
        // `conveyor.stage` asks to build this stage for the storage: the CLI found it
        // missing, and a lookup that fails would show as a failed step.
        if opts.stage == Some(id.0) {
            continue;
        }
        // Unsigned: an import whose digest the storage does not keep.
        let Some(signed) = signed.get(&id) else {
            continue;
        };
        let tag =
            storage::signature_tag(&signed.signature).map_err(|e| storage_error(e.to_string()))?;
        let reference = format!("{repository}:{tag}");
        let normalized = lower::normalize_reference(&reference);
        let log_name = format!(
            "[conveyor] look up stage {} in the stages storage: {reference}",
            stage_graph.stage(id).display_name()
        );
        let resolved = match bridge
            .resolve_image_config_as(&normalized, &signing.platform.to_pb(), &log_name)
            .await
        {
            Ok(resolved) => resolved,
            Err(error) if is_not_found(&error.to_string()) => continue,
            // `local` names the daemon's image store; what it lacks, BuildKit then
            // looks for on Docker Hub, which fails some other way (often no network).
            Err(_) if repo == storage::LOCAL => continue,
            Err(error) => return Err(storage_error(format!("{reference}: {error}"))),
        };
        reused.insert(id, reused_stage(reference, resolved, repo)?);
    }
    Ok(reused)
}

/// The import digest the storage keeps for `files` (`storage::imports`), read
/// through BuildKit; `None` when there is none.
async fn kept_import_digest(
    bridge: &Bridge,
    repo: &str,
    repository: &str,
    files: &ImportedFiles,
    platform: &Platform,
) -> Result<Option<String>, FrontendError> {
    let selection = storage::layers::ImportSelection {
        add: &files.add,
        include_paths: &files.include_paths,
        exclude_paths: &files.exclude_paths,
    };
    let tag = storage::imports::import_tag(&files.source_signature, &selection);
    let reference = format!("{repository}:{tag}");
    let normalized = lower::normalize_reference(&reference);
    let log_name = format!(
        "[conveyor] look up the content digest of import {}",
        files.add
    );
    let resolved = match bridge
        .resolve_image_config_as(&normalized, &platform.to_pb(), &log_name)
        .await
    {
        Ok(resolved) => resolved,
        Err(error) if is_not_found(&error.to_string()) => return Ok(None),
        Err(_) if repo == storage::LOCAL => return Ok(None),
        Err(error) => {
            return Err(FrontendError::Storage {
                repo: repo.to_string(),
                reason: format!("{reference}: {error}"),
            });
        }
    };
    let labels =
        storage::labels::of_config(&resolved.config).map_err(|reason| FrontendError::Storage {
            repo: repo.to_string(),
            reason: format!("{reference}: {reason}"),
        })?;
    Ok(labels
        .get(storage::imports::IMPORT_DIGEST)
        .filter(|digest| storage::signature_tag(digest).is_ok())
        .cloned())
}

/// A stored stage as the lowering takes it: pinned to the resolved digest, its config
/// without the storage's labels.
fn reused_stage(
    reference: String,
    resolved: super::bridge::ResolvedImage,
    repo: &str,
) -> Result<ReusedStage, FrontendError> {
    let config = storage::labels::strip_from_config(&resolved.config)
        .and_then(|json| ImageConfig::from_json(&json).map_err(|e| e.to_string()))
        .map_err(|reason| FrontendError::Storage {
            repo: repo.to_string(),
            reason: format!("{reference}: {reason}"),
        })?;
    Ok(ReusedStage {
        reference,
        image_id: storage::config_digest(&resolved.config),
        stored_digest: resolved.digest.clone(),
        image: ResolvedBase {
            digest: resolved.digest,
            config,
        },
    })
}

/// The stages the CLI names in `conveyor.stored` (those selected, but the one being
/// built), resolved through the daemon: no signing, no lookups of other stages.
async fn given_stages(
    bridge: &Bridge,
    opts: &FrontendOpts,
    stored: &BTreeMap<usize, String>,
    selection: &Selection,
    platform: &Platform,
) -> Result<ReusedStages, FrontendError> {
    let repo = opts
        .build_args
        .get(CONVEYOR_REPO)
        .cloned()
        .unwrap_or_default();
    let mut reused = ReusedStages::new();
    for &id in &selection.order {
        let Some(given) = stored.get(&id.0).filter(|_| opts.stage != Some(id.0)) else {
            continue;
        };
        let (reference, stored_digest) = match given.split_once('@') {
            Some((reference, digest)) => (reference, Some(digest)),
            None => (given.as_str(), None),
        };
        let normalized = lower::normalize_reference(reference);
        let log_name = format!("[conveyor] stored stage {reference}");
        let resolved = bridge
            .resolve_image_config_as(&normalized, &platform.to_pb(), &log_name)
            .await
            .map_err(|error| FrontendError::Storage {
                repo: repo.clone(),
                reason: format!("{reference}: {error}"),
            })?;
        let mut stage = reused_stage(reference.to_string(), resolved, &repo)?;
        if let Some(digest) = stored_digest {
            stage.stored_digest = digest.to_string();
        }
        reused.insert(id, stage);
    }
    Ok(reused)
}

/// How BuildKit's resolvers say a tag is not there (registry: `…: not found`; the
/// Docker Engine image store: `… not found` / `no such image`).
fn is_not_found(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("not found") || message.contains("no such image")
}

/// The content digest of a werf git mapping's files, as the CLI computes it from the
/// context on disk: BuildKit sends the context through the mapping's include/exclude
/// patterns (and the `.dockerignore`), and the files under the mapping's root are
/// digested.
async fn git_digest(
    bridge: &Bridge,
    opts: &FrontendOpts,
    ignore: &[String],
    files: &GitFiles,
) -> Result<Result<String, ContextError>, FrontendError> {
    let mut exclude_patterns = ignore.to_vec();
    exclude_patterns.extend(files.exclude_patterns.iter().cloned());
    let local = LocalSource {
        name: opts.context_local.clone(),
        session_id: opts.session_id.clone(),
        shared_key_hint: opts.context_local.clone(),
        include_patterns: files.include_patterns.clone(),
        exclude_patterns,
        options: OpOptions {
            custom_name: Some(format!(
                "[internal] load git mapping /{} for stage signatures",
                files.root
            )),
            ..Default::default()
        },
        ..Default::default()
    };
    let reference = bridge.solve(&Definition::marshal(&local.state())).await?;
    let entries = walk(bridge, &reference).await?;
    let root = if files.root.is_empty() {
        "."
    } else {
        files.root.as_str()
    };
    let selected = match context::select_sources(&entries, &[root]) {
        Ok(selected) => selected,
        Err(error) => return Ok(Err(error)),
    };
    let mut file_digests: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in selected.iter().filter(|e| e.kind == EntryKind::File) {
        let digest = file_sha256(bridge, &reference, &entry.path).await?;
        file_digests.insert(entry.path.clone(), digest);
    }
    Ok(context::digest_entries(&selected, &mut |path| {
        file_digests
            .get(path)
            .cloned()
            .ok_or_else(|| ContextError::SourceNotFound { src: path.into() })
    }))
}

async fn solve_context(
    bridge: &Bridge,
    opts: &FrontendOpts,
    exclude_patterns: &[String],
) -> Result<String, FrontendError> {
    let local = LocalSource {
        name: opts.context_local.clone(),
        session_id: opts.session_id.clone(),
        shared_key_hint: opts.context_local.clone(),
        exclude_patterns: exclude_patterns.to_vec(),
        options: OpOptions {
            custom_name: Some("[internal] load build context for stage signatures".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Ok(bridge.solve(&Definition::marshal(&local.state())).await?)
}

/// The context as BuildKit holds it, in the CLI walk's order: depth first, each
/// directory's entries sorted byte-wise, a directory right before its contents.
async fn walk(bridge: &Bridge, reference: &str) -> Result<Vec<Entry>, FrontendError> {
    walk_under(bridge, reference, "").await
}

/// Everything under `dir` of a solved ref (`""` is its root), depth first in fsutil's
/// order, paths relative to the root.
pub(super) async fn walk_under(
    bridge: &Bridge,
    reference: &str,
    dir: &str,
) -> Result<Vec<Entry>, FrontendError> {
    let mut out = Vec::new();
    let mut stack = vec![children(bridge, reference, dir).await?.into_iter()];
    while let Some(top) = stack.last_mut() {
        let Some(entry) = top.next() else {
            stack.pop();
            continue;
        };
        let is_dir = entry.kind == EntryKind::Dir;
        let path = entry.path.clone();
        out.push(entry);
        if is_dir {
            stack.push(children(bridge, reference, &path).await?.into_iter());
        }
    }
    Ok(out)
}

async fn children(
    bridge: &Bridge,
    reference: &str,
    dir: &str,
) -> Result<Vec<Entry>, FrontendError> {
    let listed = bridge
        .read_dir(reference, if dir.is_empty() { "/" } else { dir })
        .await?;
    let mut entries: Vec<Entry> = listed.into_iter().map(|stat| entry(dir, stat)).collect();
    entries.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    Ok(entries)
}

fn entry(dir: &str, stat: Stat) -> Entry {
    use context::go_mode_bits::{DIR, OTHER_TYPES, SYMLINK};
    let name = stat.path.rsplit('/').next().unwrap_or_default();
    let path = if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    };
    let kind = if stat.mode & DIR != 0 {
        EntryKind::Dir
    } else if stat.mode & SYMLINK != 0 {
        EntryKind::Symlink
    } else if stat.mode & OTHER_TYPES != 0 {
        EntryKind::Other
    } else {
        EntryKind::File
    };
    Entry {
        path,
        kind,
        mode: stat.mode,
        uid: stat.uid,
        gid: stat.gid,
        size: stat.size.max(0) as u64,
        mtime_ns: stat.mod_time,
        link_target: (kind == EntryKind::Symlink).then_some(stat.linkname),
    }
}

/// SHA-256 of a context file, read in pieces.
async fn file_sha256(
    bridge: &Bridge,
    reference: &str,
    path: &str,
) -> Result<Vec<u8>, FrontendError> {
    let mut digest = Sha256::new();
    let mut offset = 0;
    loop {
        let piece = bridge
            .read_file_range(reference, path, offset, READ_CHUNK)
            .await?;
        digest.update(&piece);
        offset += piece.len() as u64;
        if (piece.len() as u64) < READ_CHUNK {
            return Ok(digest.finalize().to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(path: &str, mode: u32, linkname: &str) -> Stat {
        Stat {
            path: path.into(),
            mode,
            size: 3,
            linkname: linkname.into(),
            ..Default::default()
        }
    }

    #[test]
    fn read_dir_stats_become_walk_entries() {
        let file = entry("src", stat("main.rs", 0o644, ""));
        assert_eq!(
            (file.path.as_str(), file.kind, file.link_target),
            ("src/main.rs", EntryKind::File, None)
        );
        let dir = entry("", stat("src", 0x8000_0000 | 0o755, ""));
        assert_eq!((dir.path.as_str(), dir.kind), ("src", EntryKind::Dir));
        let link = entry("a", stat("l", 0x0800_0000 | 0o777, "../b"));
        assert_eq!(
            (link.kind, link.link_target.as_deref()),
            (EntryKind::Symlink, Some("../b"))
        );
        let pipe = entry("", stat("p", 0x0200_0000 | 0o600, ""));
        assert_eq!(pipe.kind, EntryKind::Other);
    }

    #[test]
    fn misses_are_told_from_failures() {
        assert!(is_not_found(
            "127.0.0.1:5000/s:ab: ResolveImageConfig failed: 127.0.0.1:5000/s:ab: not found"
        ));
        assert!(!is_not_found("failed to do request: connection refused"));
    }
}
