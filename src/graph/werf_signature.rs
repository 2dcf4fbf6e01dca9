//! The signature inputs of a werf stage, after the `from` (the previous non-empty
//! stage's signature, or the base) and `platform` inputs every stage has:
//! - `werf-stage`: the stage's name, so equal bodies in different stages differ;
//! - from: `cache-version` (the image's, else `build.cacheVersion`),
//!   `from-cache-version`, `mount N` (kind and path), `network`;
//! - beforeInstall/install/beforeSetup/setup: `command N` per shell command,
//!   `cache-version` (shell's and the stage's), and `git-dependencies N`: the content
//!   of the files of git mapping N matched by its `stageDependencies` for this stage;
//! - dependencies*: per import `import N` (source, stage, add, to, owner, group,
//!   include and exclude paths) and, with a stages storage, `import N content`: the
//!   digest of the files the import takes from the stored source stage (so the stage
//!   is signed only once its source is stored); without one, `import N source`: the
//!   signature of the stage read;
//!   per dependency `dependency N` (the image, each import's type and targetEnv) and
//!   `dependency N image`: the signature of the dependency image's last stage, which
//!   names it in the storage (werf signs the dependency's image name);
//! - gitArchive: `git N`, the mapping's parameters (not its content, as werf);
//! - gitLatestPatch: `git-content N`, the content of every file the mapping copies;
//! - dockerInstructions / imageSpec: `docker` / `image-spec`, the settings.
//!
//! So a changed command re-signs its stage and every later one; a file under
//! `stageDependencies.setup` re-signs setup and later; any mapped file re-signs
//! gitLatestPatch (and the docker/imageSpec stages after it).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::werf::{Command, GitMapping, Import, MountKind, UserStage};

use super::signature::{SignatureInput, StageSignature, sha256};
use super::{StageId, WerfStage, WerfStageKind};

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
                let kind = match mount.kind {
                    MountKind::TmpDir => "tmp_dir",
                    MountKind::BuildDir => "build_dir",
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
                    let root = root_of(mapping);
                    let digest = git_digest(GitFiles {
                        include_patterns: under(&root, globs),
                        exclude_patterns: under(&root, &mapping.exclude_paths),
                        root,
                    })?;
                    inputs.push(SignatureInput {
                        name: format!("git-dependencies {index}"),
                        digest,
                    });
                }
            }
        }
        WerfStageKind::Dependencies(_) => {
            for &(index, source) in &werf.imports {
                let import = &stapel.imports[index];
                inputs.push(input(format!("import {index}"), &import_text(import)));
                let source_signature = signed[&source].signature.clone();
                let import_digest = sources
                    .as_deref_mut()
                    .and_then(|sources| sources.import_digest.as_deref_mut());
                let Some(import_digest) = import_digest else {
                    inputs.push(SignatureInput {
                        name: format!("import {index} source"),
                        digest: source_signature,
                    });
                    continue;
                };
                let files = ImportedFiles {
                    source_signature,
                    add: import.add.clone(),
                    include_paths: import.include_paths.clone(),
                    exclude_paths: import.exclude_paths.clone(),
                };
                let Some(digest) = import_digest(&files) else {
                    return Ok(None);
                };
                inputs.push(SignatureInput {
                    name: format!("import {index} content"),
                    digest,
                });
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
                inputs.push(input(format!("git {index}"), &mapping_text(mapping)));
            }
        }
        WerfStageKind::GitLatestPatch => {
            for (index, mapping) in stapel.git.iter().enumerate() {
                let root = root_of(mapping);
                let digest = git_digest(GitFiles {
                    include_patterns: under(&root, &mapping.include_paths),
                    exclude_patterns: under(&root, &mapping.exclude_paths),
                    root,
                })?;
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
            let mut text = String::new();
            let optional = |v: &Option<String>| v.clone().unwrap_or_default();
            let _ = writeln!(text, "author\t{}", optional(&spec.author));
            let _ = writeln!(text, "volumes\t{}", spec.volumes.join("\t"));
            let _ = writeln!(text, "expose\t{}", spec.expose.join("\t"));
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
            inputs.push(input("image-spec", &text));
        }
    }
    Ok(Some(inputs))
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
