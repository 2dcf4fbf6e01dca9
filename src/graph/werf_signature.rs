//! The signature inputs of a werf stage, after the `from` (the previous non-empty
//! stage's signature, or the base) and `platform` inputs every stage has:
//! - `werf-stage`: the stage's name, so equal bodies in different stages differ;
//! - from: `cache-version` (the image's, else `build.cacheVersion`),
//!   `from-cache-version`, `mount N` (kind and path; a host directory's path, not its
//!   content), `network`;
//! - beforeInstall/install/beforeSetup/setup: `command N` per shell command,
//!   `cache-version` (shell's and the stage's), and `git-dependencies N`: the content
//!   of the files of git mapping N matched by its `stageDependencies` for this stage
//!   (for a remote mapping: its url and resolved commit, which gitArchive before the
//!   stage signs already: any new commit re-signs the stage);
//! - dependencies*: per import `import N` (source, stage, add, to, owner, group,
//!   include and exclude paths) and, with a stages storage, `import N content`: the
//!   digest of the files the import takes from the stored source stage (so the stage
//!   is signed only once its source is stored); without one, `import N source`: the
//!   signature of the stage read;
//!   per dependency `dependency N` (the image, each import's type and targetEnv) and
//!   `dependency N image`: the signature of the dependency image's last stage, which
//!   names it in the storage (werf signs the dependency's image name);
//! - gitArchive: `git N`, the mapping's parameters (not its content, as werf); for a
//!   remote mapping also its url, branch, tag, commit and the commit the ref resolved
//!   to, so a moved branch re-signs gitArchive and every later stage (werf patches an
//!   older archive up to the new commit instead; conveyor copies whole commits);
//! - gitLatestPatch: `git-content N`, the content of every file the mapping copies
//!   (a remote mapping's: its url and resolved commit);
//! - dockerInstructions / imageSpec: `docker` / `image-spec`, the settings (for
//!   imageSpec also every clear/remove option and `keepEssentialWerfLabels`).
//!
//! So a changed command re-signs its stage and every later one; a file under
//! `stageDependencies.setup` re-signs setup and later; any mapped file re-signs
//! gitLatestPatch (and the docker/imageSpec stages after it).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::werf::{Command, GitMapping, ImageSpec, Import, MountKind, RemoteGit, UserStage};

use super::signature::{SignatureInput, StageSignature, sha256};
use super::{Base, StageId, WerfStage, WerfStageKind};

/// The files of a git mapping a signature reads, relative to the build context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitFiles {
    /// The mapping's `add` without its leading `/` (`""`: the whole context).
    pub root: String,
    /// Patterns relative to the context (`.dockerignore` syntax, `**` allowed); none
    /// means everything under `root`.
    pub include_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
}

/// What a werf import takes from its source stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedFiles {
    /// The signature of the source stage (whose stored image holds the files).
    pub source_signature: String,
    pub add: String,
    pub include_paths: Vec<String>,
    pub exclude_paths: Vec<String>,
}

/// The content digest of an import's files, once known.
pub type ImportDigest<'a> = &'a mut dyn FnMut(&ImportedFiles) -> Option<String>;

/// What werf stages need from the caller besides [`super::SignatureSources`].
pub struct WerfSources<'a> {
    /// The content digest of the files a [`GitFiles`] selects.
    pub git_digest: &'a mut dyn FnMut(&GitFiles) -> Result<String, String>,
    /// With a stages storage: the digest of the files an import takes from its stored
    /// source stage, `None` while the source is not stored — the dependencies stage
    /// then stays unsigned, and so does every stage after it. Without a storage
    /// (`None` here), imports are signed by their source stage's signature.
    pub import_digest: Option<ImportDigest<'a>>,
}

fn input(name: impl Into<String>, text: &str) -> SignatureInput {
    SignatureInput {
        name: name.into(),
        digest: sha256(text),
    }
}

fn under(root: &str, patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .map(|p| {
            if root.is_empty() {
                p.clone()
            } else {
                format!("{root}/{p}")
            }
        })
        .collect()
}

fn root_of(mapping: &GitMapping) -> String {
    mapping.add.trim_matches('/').to_string()
}

/// The werf inputs of a stage; `None` when it cannot be signed yet (an import's
/// content is not known).
pub(super) fn werf_inputs(
    werf: &WerfStage,
    signed: &BTreeMap<StageId, StageSignature>,
    image_digests: &BTreeMap<String, String>,
    mut sources: Option<&mut WerfSources<'_>>,
) -> Result<Option<Vec<SignatureInput>>, String> {
    let stapel = &werf.image.stapel;
    let mut inputs = vec![input("werf-stage", werf.kind.name())];
    let mut git_digest = |files: GitFiles| -> Result<String, String> {
        match sources.as_deref_mut() {
            Some(sources) => (sources.git_digest)(&files),
            None => Err("werf git stages need the content of the git mappings".into()),
        }
    };
    match werf.kind {
        WerfStageKind::From => {
            if let Some(version) = &werf.cache_version {
                inputs.push(input("cache-version", version));
            }
            if let Some(version) = &stapel.from_cache_version {
                inputs.push(input("from-cache-version", version));
            }
            for (index, mount) in stapel.mounts.iter().enumerate() {
                // A host directory is signed by its path as written, not its content,
                // as werf's from stage signs it.
                let kind = match &mount.kind {
                    MountKind::TmpDir => "tmp_dir".to_string(),
                    MountKind::BuildDir => "build_dir".to_string(),
                    MountKind::FromPath(path) => format!("fromPath\t{}", path.value),
                };
                inputs.push(input(
                    format!("mount {index}"),
                    &format!("{kind}\t{}", mount.to),
                ));
            }
            if let Some(network) = &stapel.network {
                inputs.push(input("network", &network.value));
            }
        }
        WerfStageKind::User(stage) => {
            for (index, command) in stapel
                .shell
                .commands
                .get(&stage)
                .into_iter()
                .flatten()
                .enumerate()
            {
                inputs.push(input(format!("command {index}"), &command.value));
            }
            let versions = (
                stapel.shell.cache_version.as_deref(),
                stapel.shell.stage_cache_versions.get(&stage),
            );
            if versions != (None, None) {
                let text = format!(
                    "{}\t{}",
                    versions.0.unwrap_or(""),
                    versions.1.map_or("", |v| v)
                );
                inputs.push(input("cache-version", &text));
            }
            if stage != UserStage::BeforeInstall {
                for (index, mapping) in stapel.git.iter().enumerate() {
                    let Some(globs) = mapping.stage_dependencies.get(&stage) else {
                        continue;
                    };
                    let digest = match &mapping.remote {
                        Some(remote) => sha256(&remote_content(remote)?),
                        None => {
                            let root = root_of(mapping);
                            git_digest(GitFiles {
                                include_patterns: under(&root, globs),
                                exclude_patterns: under(&root, &mapping.exclude_paths),
                                root,
                            })?
                        }
                    };
                    inputs.push(SignatureInput {
                        name: format!("git-dependencies {index}"),
                        digest,
                    });
                }
            }
        }
        WerfStageKind::Dependencies(_) => {
            for (index, source) in &werf.imports {
                let import = &stapel.imports[*index];
                inputs.push(input(format!("import {index}"), &import_text(import)));
                let (name, digest) = match source {
                    Base::Stage(id) => {
                        let source_signature = signed[id].signature.clone();
                        let import_digest = sources
                            .as_deref_mut()
                            .and_then(|sources| sources.import_digest.as_deref_mut());
                        match import_digest {
                            // Without a stages storage: the source stage's signature.
                            None => (format!("import {index} source"), source_signature),
                            Some(import_digest) => {
                                let files = ImportedFiles {
                                    source_signature,
                                    add: import.add.clone(),
                                    include_paths: import.include_paths.clone(),
                                    exclude_paths: import.exclude_paths.clone(),
                                };
                                let Some(digest) = import_digest(&files) else {
                                    return Ok(None);
                                };
                                (format!("import {index} content"), digest)
                            }
                        }
                    }
                    // An external image is signed as a base image is: by the digest it
                    // resolved to (its reference when unresolved, as in `conveyor plan`).
                    Base::Image { reference, .. } => (
                        format!("import {index} source"),
                        image_digests
                            .get(reference)
                            .cloned()
                            .unwrap_or_else(|| sha256(reference)),
                    ),
                    Base::Scratch => (format!("import {index} source"), sha256("scratch")),
                };
                inputs.push(SignatureInput { name, digest });
            }
            for &(index, on) in &werf.dependencies {
                let dependency = &stapel.dependencies[index];
                let mut text = format!("image\t{}\n", dependency.image.value);
                for import in &dependency.imports {
                    let _ = writeln!(text, "{}\t{}", import.value.name(), import.target_env);
                }
                inputs.push(input(format!("dependency {index}"), &text));
                inputs.push(SignatureInput {
                    name: format!("dependency {index} image"),
                    digest: signed[&on].signature.clone(),
                });
            }
        }
        WerfStageKind::GitArchive => {
            for (index, mapping) in stapel.git.iter().enumerate() {
                let mut text = mapping_text(mapping);
                if let Some(remote) = &mapping.remote {
                    text.push_str(&remote_text(remote)?);
                }
                inputs.push(input(format!("git {index}"), &text));
            }
        }
        WerfStageKind::GitLatestPatch => {
            for (index, mapping) in stapel.git.iter().enumerate() {
                let digest = match &mapping.remote {
                    Some(remote) => sha256(&remote_content(remote)?),
                    None => {
                        let root = root_of(mapping);
                        git_digest(GitFiles {
                            include_patterns: under(&root, &mapping.include_paths),
                            exclude_patterns: under(&root, &mapping.exclude_paths),
                            root,
                        })?
                    }
                };
                inputs.push(SignatureInput {
                    name: format!("git-content {index}"),
                    digest,
                });
            }
        }
        // Never a graph stage with a werf body.
        WerfStageKind::GitCache | WerfStageKind::Dockerfile => {}
        WerfStageKind::DockerInstructions => {
            let docker = stapel
                .docker
                .as_ref()
                .expect("the stage exists with docker");
            let mut text = String::new();
            let _ = writeln!(text, "VOLUME\t{}", docker.volumes.join("\t"));
            let _ = writeln!(text, "EXPOSE\t{}", docker.expose.join("\t"));
            for (key, value) in &docker.env {
                let _ = writeln!(text, "ENV\t{key}\t{value}");
            }
            for (key, value) in &docker.labels {
                let _ = writeln!(text, "LABEL\t{key}\t{value}");
            }
            for (name, command) in [("CMD", &docker.cmd), ("ENTRYPOINT", &docker.entrypoint)] {
                match command {
                    Some(Command::Exec(args)) => {
                        let _ = writeln!(text, "{name}\texec\t{}", args.join("\t"));
                    }
                    Some(Command::Shell(line)) => {
                        let _ = writeln!(text, "{name}\tshell\t{line}");
                    }
                    None => {}
                }
            }
            for (name, value) in [
                ("WORKDIR", &docker.workdir),
                ("USER", &docker.user),
                ("HEALTHCHECK", &docker.healthcheck),
            ] {
                if let Some(value) = value {
                    let _ = writeln!(text, "{name}\t{value}");
                }
            }
            inputs.push(input("docker", &text));
        }
        WerfStageKind::ImageSpec => {
            let spec = stapel
                .image_spec
                .as_ref()
                .expect("the stage exists with imageSpec");
            let text = image_spec_text(spec);
            inputs.push(input("image-spec", &text));
        }
    }
    Ok(Some(inputs))
}

/// Every imageSpec setting, each on its own line (an unset one empty), so that any
/// change re-signs the stage: werf's imageSpec digest covers the same list.
fn image_spec_text(spec: &ImageSpec) -> String {
    let mut text = String::new();
    let optional = |v: &Option<String>| v.clone().unwrap_or_default();
    let _ = writeln!(text, "author\t{}", optional(&spec.author));
    let _ = writeln!(text, "clearHistory\t{}", spec.clear_history);
    let _ = writeln!(text, "volumes\t{}", spec.volumes.join("\t"));
    match &spec.expose {
        Some(ports) => {
            let _ = writeln!(text, "expose\t{}", ports.join("\t"));
        }
        None => text.push_str("expose unset\n"),
    }
    for (key, value) in &spec.env {
        let _ = writeln!(text, "env\t{key}\t{value}");
    }
    for (key, value) in &spec.labels {
        let _ = writeln!(text, "label\t{key}\t{value}");
    }
    let _ = writeln!(text, "cmd\t{}", spec.cmd.join("\t"));
    let _ = writeln!(text, "entrypoint\t{}", spec.entrypoint.join("\t"));
    let _ = writeln!(text, "user\t{}", optional(&spec.user));
    let _ = writeln!(text, "workingDir\t{}", optional(&spec.working_dir));
    let _ = writeln!(text, "stopSignal\t{}", optional(&spec.stop_signal));
    if let Some(check) = &spec.healthcheck {
        let _ = writeln!(
            text,
            "healthcheck\t{}\t{}\t{}\t{}\t{}",
            check.test.join("\t"),
            check.interval,
            check.timeout,
            check.start_period,
            check.retries
        );
    }
    for (name, patterns) in [
        ("removeEnv", &spec.remove_env),
        ("removeLabels", &spec.remove_labels),
        ("removeVolumes", &spec.remove_volumes),
    ] {
        let mut sorted = patterns.clone();
        sorted.sort();
        let _ = writeln!(text, "{name}\t{}", sorted.join("\t"));
    }
    for (name, set) in [
        ("keepEssentialWerfLabels", spec.keep_essential_werf_labels),
        ("clearCmd", spec.clear_cmd),
        ("clearEntrypoint", spec.clear_entrypoint),
        ("clearUser", spec.clear_user),
        ("clearWorkingDir", spec.clear_working_dir),
    ] {
        let _ = writeln!(text, "{name}\t{set}");
    }
    text
}

fn mapping_text(mapping: &GitMapping) -> String {
    format!(
        "add\t{}\nto\t{}\nowner\t{}\ngroup\t{}\ninclude\t{}\nexclude\t{}\n",
        mapping.add,
        mapping.to,
        mapping.owner.as_deref().unwrap_or(""),
        mapping.group.as_deref().unwrap_or(""),
        mapping.include_paths.join("\t"),
        mapping.exclude_paths.join("\t"),
    )
}

/// The commit a remote mapping's ref resolved to; the callers resolve every remote ref
/// before signing.
fn resolved(remote: &RemoteGit) -> Result<&str, String> {
    remote
        .resolved
        .as_deref()
        .ok_or_else(|| format!("the commit of git {} was not resolved", remote.url))
}

fn remote_text(remote: &RemoteGit) -> Result<String, String> {
    let optional = |value: &Option<String>| value.clone().unwrap_or_default();
    Ok(format!(
        "url\t{}\nbranch\t{}\ntag\t{}\ncommit\t{}\nresolved\t{}\n",
        remote.url,
        optional(&remote.branch),
        optional(&remote.tag),
        optional(&remote.commit),
        resolved(remote)?,
    ))
}

/// What a remote mapping's files are: those of one commit of one repository.
fn remote_content(remote: &RemoteGit) -> Result<String, String> {
    Ok(format!("{}\t{}", remote.url, resolved(remote)?))
}

fn import_text(import: &Import) -> String {
    format!(
        "image\t{}\nstage\t{}\nadd\t{}\nto\t{}\nowner\t{}\ngroup\t{}\ninclude\t{}\nexclude\t{}\n",
        import.source.value,
        import.stage.as_ref().map_or("", |s| s.value.as_str()),
        import.add,
        import.to,
        import.owner.as_deref().unwrap_or(""),
        import.group.as_deref().unwrap_or(""),
        import.include_paths.join("\t"),
        import.exclude_paths.join("\t"),
    )
}

#[cfg(test)]
#[path = "werf_signature_tests.rs"]
mod tests;

#[cfg(test)]
mod remote_git_tests {
    use std::collections::BTreeMap;

    use crate::graph::{SignatureSources, StageGraph, platform_args, signatures_with_werf};
    use crate::werf::{GitRef, TemplateEnv, WerfConfig, load};

    const URL: &str = "https://example.com/lib.git";

    fn config(mapping: &str) -> WerfConfig {
        let text = format!(
            "project: p\nconfigVersion: 1\n---\nimage: app\nfrom: busybox\ngit:\n- url: {URL}\n  branch: main\n  to: /lib\n{mapping}shell:\n  install: [make]\n"
        );
        load("werf.yaml", &text, &TemplateEnv::without_project())
            .unwrap()
            .config
    }

    /// Stage name → signature (or the signing error), the branch resolved to `commit`.
    fn signatures(
        config: &mut WerfConfig,
        commit: Option<&str>,
    ) -> Result<BTreeMap<String, String>, String> {
        if let Some(commit) = commit {
            let commits = BTreeMap::from([(
                (URL.to_string(), GitRef::Branch("main".into())),
                commit.to_string(),
            )]);
            config.set_resolved_commits(&commits);
        }
        let graph: StageGraph =
            crate::graph::from_werf(config, &platform_args("linux/amd64", "linux/amd64")).unwrap();
        let selection = graph.select(Some("app")).unwrap();
        let mut context_digest =
            |_: &[String]| -> Result<String, String> { Err("no context".into()) };
        let mut sources = SignatureSources {
            dockerfile_text: "",
            platform: "linux/amd64",
            build_args: &BTreeMap::new(),
            image_digests: &BTreeMap::new(),
            context_digest: &mut context_digest,
        };
        // A remote mapping never reads the build context.
        let mut git_digest =
            |_: &super::GitFiles| -> Result<String, String> { Err("read the context".into()) };
        let mut werf = super::WerfSources {
            git_digest: &mut git_digest,
            import_digest: None,
        };
        let signed = signatures_with_werf(&graph, &selection, &mut sources, Some(&mut werf))
            .map_err(|e| e.to_string())?;
        Ok(signed
            .iter()
            .map(|(id, s)| (graph.stage(*id).display_name(), s.signature.clone()))
            .collect())
    }

    #[test]
    fn a_new_commit_of_the_branch_resigns_git_archive_and_later() {
        let mut remote = config("  stageDependencies:\n    install: ['*.c']\n");
        let first = signatures(&mut remote, Some(&"1".repeat(40))).unwrap();
        let again = signatures(&mut remote, Some(&"1".repeat(40))).unwrap();
        assert_eq!(first, again);
        let moved = signatures(&mut remote, Some(&"2".repeat(40))).unwrap();
        let changed: Vec<&str> = first
            .iter()
            .filter(|(name, signature)| moved[*name] != **signature)
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            changed,
            ["app/gitArchive", "app/gitLatestPatch", "app/install"]
        );
    }

    #[test]
    fn an_unresolved_remote_ref_cannot_be_signed() {
        let error = signatures(&mut config(""), None).unwrap_err();
        assert!(
            error.contains("the commit of git https://example.com/lib.git was not resolved"),
            "{error}"
        );
    }
}
