//! A build file read, its stages selected and signed, as `plan` and `explain` need it;
//! with `--repo`, base images are resolved in their registry first, so the signatures
//! are the ones a build (or the frontend) computes, and stages are looked up.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::buildkit::SecretSource;
use crate::context::{self, Filter};
use crate::dockerfile;
use crate::graph::{self, ImportedFiles, SignatureSources, StageGraph, StageId, StageSignature};
use crate::registry::RegistryClient;
use crate::storage::layers::ImportSelection;
use crate::storage::{self, StageLabels, StagesStorage, StoredFile, StoredInput};
use crate::werf::SecretValue;

use super::Failure;

/// Which build is meant.
pub struct BuildSpec {
    pub file: Option<PathBuf>,
    pub context: PathBuf,
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub platform: String,
}

/// A build file read and its stages selected.
pub struct Loaded {
    pub file: PathBuf,
    pub text: String,
    pub context: PathBuf,
    pub platform: String,
    /// The build args with the platform ARGs, as signatures see them.
    pub build_args: BTreeMap<String, String>,
    pub stage_graph: StageGraph,
    pub selection: graph::Selection,
    pub filter: Filter,
    /// A werf config (`text` is then the rendered config): its git mappings are
    /// signed by their files.
    pub werf: bool,
    /// The commits the remote git refs of a werf config resolved to.
    pub git_commits: Vec<crate::gateway::GitCommit>,
    /// The platforms a werf config lists for the target image (its own `platform`,
    /// else `build.platform`); empty for a Dockerfile.
    pub listed_platforms: Vec<String>,
}

/// The signatures of the selected stages, and the context sources each `context N`
/// input covers (in signing order), for per-file digests. With a stages storage, a
/// werf stage whose import content is not known yet has no signature, nor has any
/// stage after it; `pending_imports` are the imports asked for.
pub struct Signed {
    pub signatures: BTreeMap<StageId, StageSignature>,
    context_sources: Vec<Vec<String>>,
    pub pending_imports: Vec<ImportedFiles>,
}

/// werf import digests known so far (`import N content` inputs), by what they cover.
pub type ImportDigests = Vec<(ImportedFiles, String)>;

/// `.dockerignore` patterns: `<build file>.dockerignore` beside the build file wins over
/// the context's, as with the stock frontend.
pub fn dockerignore(file: &Path, context_dir: &Path) -> Vec<String> {
    let specific = PathBuf::from(format!("{}.dockerignore", file.display()));
    [specific, context_dir.join(".dockerignore")]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|text| context::parse_dockerignore(&text))
        .unwrap_or_default()
}

/// The build file a command reads when `-f` names none: CONTEXT/Dockerfile, else
/// CONTEXT/werf.yaml when only that exists.
pub fn default_build_file(context: &Path) -> PathBuf {
    let dockerfile = context.join("Dockerfile");
    let werf_yaml = context.join("werf.yaml");
    if !dockerfile.exists() && werf_yaml.exists() {
        werf_yaml
    } else {
        dockerfile
    }
}

pub fn load(spec: &BuildSpec) -> Result<Loaded, Failure> {
    let file = spec
        .file
        .clone()
        .unwrap_or_else(|| default_build_file(&spec.context));
    let file_name = file.display().to_string();
    let text = std::fs::read_to_string(&file)
        .map_err(|error| Failure::input(format!("cannot read {file_name}: {error}")))?;
    if crate::werf::is_werf_config(&file_name, &text) {
        return load_werf(spec, file, &text);
    }
    let parsed =
        dockerfile::parse(&text).map_err(|e| Failure::input(e.located(&file_name, &text)))?;
    let mut build_args = graph::platform_args(&spec.platform, &spec.platform);
    build_args.extend(spec.build_args.clone());
    let stage_graph = graph::from_dockerfile(&parsed, &build_args)
        .map_err(|e| Failure::input(e.located(&file_name, &text)))?;
    let selection = stage_graph
        .select(spec.target.as_deref())
        .map_err(|e| Failure::input(e.located(&file_name, &text)))?;
    let filter = Filter {
        exclude_patterns: dockerignore(&file, &spec.context),
        ..Filter::default()
    };
    Ok(Loaded {
        file,
        text,
        context: spec.context.clone(),
        platform: spec.platform.clone(),
        build_args,
        stage_graph,
        selection,
        filter,
        werf: false,
        git_commits: Vec::new(),
        listed_platforms: Vec::new(),
    })
}

/// A werf config read as the frontend reads it, so that signatures agree with the
/// build's: `.Env` is the build arg `CONVEYOR_WERF_ENV`, `env "X"` reads the build arg
/// `X`, `.Commit` has only its hash, and the build args take no part in signatures
/// beyond the platform ones.
fn load_werf(spec: &BuildSpec, file: PathBuf, text: &str) -> Result<Loaded, Failure> {
    let file_name = file.display().to_string();
    let mut loaded = render_werf(&file_name, text, &spec.context, &spec.build_args)?;
    let git_commits = super::plan_werf::resolve_remote_commits(&mut loaded.config)?;
    let rendered = loaded.rendered.to_string();
    let build_args = graph::platform_args(&spec.platform, &spec.platform);
    let located = |e: graph::GraphError| Failure::input(e.located(&file_name, &rendered));
    let stage_graph = graph::from_werf(&loaded.config, &build_args).map_err(located)?;
    let target = match &spec.target {
        Some(target) => target.clone(),
        None => loaded.config.last_image_name().unwrap_or_default(),
    };
    let selection = stage_graph.select(Some(&target)).map_err(located)?;
    let filter = Filter {
        exclude_patterns: dockerignore(&file, &spec.context),
        ..Filter::default()
    };
    Ok(Loaded {
        file,
        text: rendered,
        context: spec.context.clone(),
        platform: spec.platform.clone(),
        build_args,
        stage_graph,
        selection,
        filter,
        listed_platforms: loaded.config.image_platforms(&target).to_vec(),
        werf: true,
        git_commits,
    })
}

/// A werf config rendered and loaded as the frontend does it: `.Env` is the build arg
/// `CONVEYOR_WERF_ENV`, `env "X"` reads the build arg `X`, `.Commit` has only its hash.
fn render_werf(
    file_name: &str,
    text: &str,
    context: &Path,
    build_args: &BTreeMap<String, String>,
) -> Result<crate::werf::Loaded, Failure> {
    let env_name = build_args
        .get(crate::gateway::WERF_ENV_ARG)
        .cloned()
        .unwrap_or_default();
    let mut env = super::plan_werf::template_env(context, &env_name)?;
    // What the frontend sees: the `vcs:revision` the build sends (see `build::git_revision`).
    env.commit = crate::gateway::frontend_commit(super::build::git_revision(context).as_deref());
    env.env_vars = build_args.clone();
    crate::werf::load(file_name, text, &env).map_err(|e| Failure::input(e.located(file_name, text)))
}

/// What the session of a werf config's build serves besides the context.
#[derive(Default)]
pub struct WerfSession {
    /// `secrets:`, by id.
    pub secrets: Vec<(String, SecretSource)>,
    /// `mount.fromPath` directories: the path as written and the directory on disk.
    pub host_dirs: Vec<(String, PathBuf)>,
    /// Dockerfile images' `ssh` agents, as `--ssh` takes them.
    pub ssh_agents: Vec<(String, PathBuf)>,
}

/// The build secrets a werf config declares (`secrets:`), the host directories its
/// mounts read (`mount.fromPath`) and its Dockerfile images' ssh agents, for the
/// session to serve; none for a Dockerfile. Rendered as the frontend renders it. `src`
/// and `fromPath` paths are relative to the project directory, or to the home
/// directory with `~/`; a missing `fromPath` directory is created, as werf creates it.
pub fn werf_session(
    file: &Path,
    context: &Path,
    build_args: &BTreeMap<String, String>,
) -> Result<WerfSession, Failure> {
    let file_name = file.display().to_string();
    let Ok(text) = std::fs::read_to_string(file) else {
        return Ok(WerfSession::default());
    };
    if !crate::werf::is_werf_config(&file_name, &text) {
        return Ok(WerfSession::default());
    }
    let loaded = render_werf(&file_name, &text, context, build_args)?;
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut ssh_agents: Vec<(String, PathBuf)> = Vec::new();
    for image in &loaded.config.dockerfile_images {
        let Some(ssh) = &image.ssh else { continue };
        let agent = crate::buildkit::parse_ssh(&ssh.value).map_err(|error| {
            Failure::input(format!(
                "{file_name}: ssh of image {:?}: {error}",
                image.name
            ))
        })?;
        if !ssh_agents.iter().any(|(id, _)| *id == agent.0) {
            ssh_agents.push(agent);
        }
    }
    let on_host = |path: &str| match (path.strip_prefix("~/"), &home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => context.join(path),
    };
    let secrets = loaded
        .config
        .secrets()
        .into_iter()
        .map(|secret| {
            let source = match &secret.value {
                SecretValue::Env(var) => SecretSource::Env(var.clone()),
                SecretValue::Literal(value) => SecretSource::Value(value.clone()),
                SecretValue::File(path) => SecretSource::File(on_host(path)),
            };
            (secret.id.clone(), source)
        })
        .collect();
    let mut host_dirs = Vec::new();
    for path in loaded.config.host_paths() {
        let wrong = |reason: String| {
            Failure::input(crate::diag::Located::new(
                &file_name,
                &loaded.rendered,
                path.span,
                format!("mount fromPath {:?}: {reason}", path.value),
            ))
        };
        let dir = on_host(&path.value);
        if !dir.exists() {
            std::fs::create_dir_all(&dir)
                .map_err(|e| wrong(format!("cannot create {}: {e}", dir.display())))?;
        }
        // The directory itself may be a symlink (werf's bind mount follows it too);
        // what is under it is sent as it is, never followed out of it.
        let dir = std::fs::canonicalize(&dir)
            .ok()
            .filter(|dir| dir.is_dir())
            .ok_or_else(|| wrong(format!("{} is not a directory", dir.display())))?;
        host_dirs.push((path.value.clone(), dir));
    }
    Ok(WerfSession {
        secrets,
        host_dirs,
        ssh_agents,
    })
}

/// Digests of context files by what read them: the phases of a `--repo` build sign
/// the same stages again, over files that have not changed in between.
#[derive(Default)]
struct FileDigests {
    context: BTreeMap<Vec<String>, String>,
    git: Vec<(graph::GitFiles, String)>,
}

impl Loaded {
    /// The `conveyor.config` label: the build file relative to the context when it is
    /// inside it, else its path as given.
    pub fn config_label(&self) -> String {
        let file = self
            .file
            .canonicalize()
            .unwrap_or_else(|_| self.file.clone());
        let context = self
            .context
            .canonicalize()
            .unwrap_or_else(|_| self.context.clone());
        file.strip_prefix(&context)
            .map(|relative| relative.display().to_string())
            .unwrap_or_else(|_| self.file.display().to_string())
    }

    /// Signs the selected stages; images in `image_digests` by their digest, others by
    /// their reference text; werf imports by their source stage's signature.
    pub fn sign(&self, image_digests: &BTreeMap<String, String>) -> Result<Signed, Failure> {
        self.sign_imports(image_digests, None)
    }

    /// Signs as a build with the stages storage does: werf imports by their content,
    /// from the digests computed from stored source stages (and kept in the storage),
    /// `imports` growing as more are known; stages that cannot be signed until a
    /// source stage is stored are left unsigned. `note` hears of each digest computed.
    pub async fn sign_stored(
        &self,
        image_digests: &BTreeMap<String, String>,
        storage: &StagesStorage,
        imports: &mut ImportDigests,
        note: &mut dyn FnMut(String),
    ) -> Result<Signed, Failure> {
        let mut file_digests = FileDigests::default();
        loop {
            let signed = self.sign_with(image_digests, Some(imports), &mut file_digests)?;
            let mut learned = false;
            for files in &signed.pending_imports {
                let selection = ImportSelection {
                    add: &files.add,
                    include_paths: &files.include_paths,
                    exclude_paths: &files.exclude_paths,
                };
                let source = &files.source_signature;
                let cached = storage
                    .cached_import_digest(source, &selection)
                    .await
                    .map_err(Failure::build)?;
                let digest = match cached {
                    Some(digest) => digest,
                    None if storage
                        .lookup(source)
                        .await
                        .map_err(Failure::build)?
                        .is_some() =>
                    {
                        let digest = storage
                            .compute_import_digest(&self.platform, source, &selection)
                            .await
                            .map_err(Failure::build)?;
                        let reference = storage.reference(source).map_err(Failure::build)?;
                        note(format!(
                            "import of {} from {reference}: content digest {digest}",
                            files.add
                        ));
                        digest
                    }
                    None => continue,
                };
                imports.push((files.clone(), digest));
                learned = true;
            }
            if !learned {
                return Ok(signed);
            }
        }
    }

    fn sign_imports(
        &self,
        image_digests: &BTreeMap<String, String>,
        imports: Option<&ImportDigests>,
    ) -> Result<Signed, Failure> {
        self.sign_with(image_digests, imports, &mut FileDigests::default())
    }

    /// [`Loaded::sign_imports`], reading each context selection and git mapping's
    /// files once into `file_digests`.
    fn sign_with(
        &self,
        image_digests: &BTreeMap<String, String>,
        imports: Option<&ImportDigests>,
        file_digests: &mut FileDigests,
    ) -> Result<Signed, Failure> {
        let FileDigests {
            context: known_context,
            git: known_git,
        } = file_digests;
        let context_sources: RefCell<Vec<Vec<String>>> = RefCell::new(Vec::new());
        let mut context_digest = |paths: &[String]| -> Result<String, String> {
            context_sources.borrow_mut().push(paths.to_vec());
            if let Some(digest) = known_context.get(paths) {
                return Ok(digest.clone());
            }
            let sources: Vec<&str> = paths.iter().map(String::as_str).collect();
            let digest = context::digest_paths(&self.context, &sources, &self.filter)
                .map_err(|error| error.to_string())?;
            known_context.insert(paths.to_vec(), digest.clone());
            Ok(digest)
        };
        let mut sources = SignatureSources {
            dockerfile_text: &self.text,
            platform: &self.platform,
            build_args: &self.build_args,
            image_digests,
            context_digest: &mut context_digest,
        };
        let mut git_digest = |files: &graph::GitFiles| -> Result<String, String> {
            if let Some((_, digest)) = known_git.iter().find(|(known, _)| known == files) {
                return Ok(digest.clone());
            }
            let digest =
                super::plan_werf::git_digest(&self.context, &self.filter.exclude_patterns, files)?;
            known_git.push((files.clone(), digest.clone()));
            Ok(digest)
        };
        let pending_imports: RefCell<Vec<ImportedFiles>> = RefCell::new(Vec::new());
        let mut import_digest = |files: &ImportedFiles| -> Option<String> {
            let known = imports?.iter().find(|(known, _)| known == files);
            if known.is_none() && !pending_imports.borrow().contains(files) {
                pending_imports.borrow_mut().push(files.clone());
            }
            known.map(|(_, digest)| digest.clone())
        };
        let mut werf_sources = graph::WerfSources {
            git_digest: &mut git_digest,
            import_digest: match imports {
                Some(_) => Some(&mut import_digest),
                None => None,
            },
        };
        let signatures = graph::signatures_with_werf(
            &self.stage_graph,
            &self.selection,
            &mut sources,
            self.werf.then_some(&mut werf_sources),
        )
        .map_err(Failure::input)?;
        Ok(Signed {
            signatures,
            context_sources: context_sources.into_inner(),
            pending_imports: pending_imports.into_inner(),
        })
    }

    /// For a stage left unsigned (see [`Loaded::sign_stored`]): the stages whose
    /// stored image it waits for, the import sources of the unsigned stages it is
    /// built on (itself included), by name.
    pub fn waits_for(&self, signed: &Signed, id: StageId) -> Vec<String> {
        let graph = &self.stage_graph;
        let mut out: Vec<String> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut pending = vec![id];
        while let Some(id) = pending.pop() {
            if signed.signatures.contains_key(&id) || !seen.insert(id) {
                continue;
            }
            pending.extend(graph.stage_dependencies(id));
            let Some(werf) = &graph.stage(id).werf else {
                continue;
            };
            for (_, source) in &werf.imports {
                // An external image is signed by its digest: nothing to wait for.
                let &crate::graph::Base::Stage(source) = source else {
                    continue;
                };
                let name = graph.stage(source).display_name();
                if signed.signatures.contains_key(&source) && !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    }

    /// The storage labels of each signed stage: its signature inputs, context
    /// inputs with the digest of each file (up to `labels::MAX_FILES`).
    pub fn stage_labels(&self, signed: &Signed) -> Result<BTreeMap<StageId, StageLabels>, Failure> {
        let mut calls = signed.context_sources.iter();
        let mut out = BTreeMap::new();
        for &id in &self.selection.order {
            let Some(signature) = signed.signatures.get(&id) else {
                continue;
            };
            let mut inputs = Vec::new();
            for input in &signature.inputs {
                let mut files = Vec::new();
                if input.name.starts_with("context ") {
                    let paths = calls.next().expect("one context call per context input");
                    let sources: Vec<&str> = paths.iter().map(String::as_str).collect();
                    let digests = context::entry_digests(&self.context, &sources, &self.filter)
                        .map_err(Failure::input)?;
                    if digests.len() <= storage::labels::MAX_FILES {
                        files = digests
                            .into_iter()
                            .map(|(path, digest)| StoredFile { path, digest })
                            .collect();
                    }
                }
                inputs.push(StoredInput {
                    name: input.name.clone(),
                    digest: input.digest.clone(),
                    files,
                });
            }
            out.insert(
                id,
                StageLabels {
                    config: self.config_label(),
                    stage: self.stage_graph.stage(id).display_name(),
                    signature: signature.signature.clone(),
                    inputs,
                },
            );
        }
        Ok(out)
    }
}

/// The config digest (`storage::config_digest`) of every image the selected stages
/// read: what a build signs them by.
pub async fn resolve_images(loaded: &Loaded) -> Result<BTreeMap<String, String>, Failure> {
    let references = loaded.stage_graph.external_images(&loaded.selection);
    let images = resolve_bases(&loaded.platform, references).await?;
    Ok(images
        .into_iter()
        .map(|(reference, image)| (reference, image.config_digest))
        .collect())
}

/// A base image as a build resolves it.
pub struct BaseImage {
    /// What the image op is pinned to: the registry's digest; empty (the tag as
    /// written) for an image in Docker Engine's store.
    pub digest: String,
    /// What signatures sign the image by.
    pub config_digest: String,
    pub config: Vec<u8>,
}

/// As Docker Engine's BuildKit resolves images: from the daemon's image store when it
/// holds the image, else from its registry.
pub async fn resolve_bases(
    platform: &str,
    references: impl IntoIterator<Item = String>,
) -> Result<BTreeMap<String, BaseImage>, Failure> {
    let client = RegistryClient::new(platform);
    let engine = storage::DockerEngine::new(&docker_host()).ok();
    let mut images = BTreeMap::new();
    for reference in references {
        let local = match &engine {
            // A daemon that cannot be reached holds nothing: ask the registry.
            Some(engine) => engine.inspect(&reference).await.ok().flatten(),
            None => None,
        };
        let image = match local {
            // Not pinned: an image op pinned to an image id does not build on Docker
            // Engine ("unable to fetch descriptor"); unpinned, the daemon takes the tag
            // from its store, the image whose config this is.
            Some(image) => BaseImage {
                digest: String::new(),
                config_digest: image.id.clone(),
                config: image.config_json(),
            },
            None => {
                let resolved = client.resolve(&reference).await.map_err(|error| {
                    Failure::build(format!("cannot resolve base image {reference}: {error}"))
                })?;
                BaseImage {
                    digest: resolved.digest,
                    config_digest: storage::config_digest(&resolved.config),
                    config: resolved.config,
                }
            }
        };
        images.insert(reference, image);
    }
    Ok(images)
}

fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| storage::DEFAULT_DOCKER_HOST.to_string())
}

/// The storage `--repo` names, with the daemon at `DOCKER_HOST` for `local`.
pub fn open_storage(repo: &str, platform: &str) -> Result<StagesStorage, Failure> {
    StagesStorage::open(repo, platform, &docker_host()).map_err(Failure::input)
}

/// A runtime for the storage's network calls (`plan` and `explain` run without one).
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::build(format!("cannot start the async runtime: {error}")))
}

#[cfg(test)]
#[path = "stages_tests.rs"]
mod tests;
