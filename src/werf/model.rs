//! The typed werf.yaml model (werf v2 stapel syntax), as `config` reads it.

use std::collections::BTreeMap;

use crate::diag::Span;

use super::fields::Located;

/// A whole werf.yaml after rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WerfConfig {
    pub project: String,
    /// `build.cacheVersion`: a global cache-buster, overridden per image.
    pub cache_version: Option<String>,
    /// `build.platform` (one platform: several are not supported yet).
    pub platform: Option<String>,
    /// Stapel images and artifacts in file order.
    pub images: Vec<Image>,
    /// `image:` + `dockerfile:` documents in file order.
    pub dockerfile_images: Vec<DockerfileImage>,
}

impl WerfConfig {
    /// The image built without `--target`: the last image or artifact of the file.
    pub fn last_image_name(&self) -> Option<String> {
        self.images
            .iter()
            .map(|image| (image.span, &image.name))
            .chain(
                self.dockerfile_images
                    .iter()
                    .map(|image| (image.span, &image.name)),
            )
            .max_by_key(|(span, _)| span.start)
            .map(|(_, name)| name.clone())
    }

    /// Every build secret the config declares, each id once (the first declaration
    /// of an id wins; images share the build's secrets by id).
    pub fn secrets(&self) -> Vec<&Secret> {
        let mut out: Vec<&Secret> = Vec::new();
        let declared = self
            .images
            .iter()
            .flat_map(|image| &image.stapel.secrets)
            .chain(
                self.dockerfile_images
                    .iter()
                    .flat_map(|image| &image.secrets),
            );
        for secret in declared {
            if !out.iter().any(|known| known.id == secret.id) {
                out.push(secret);
            }
        }
        out
    }
}

/// A build secret (`secrets:`): mounted at `/run/secrets/<id>` in every stapel stage
/// that runs commands, and served under its id to a Dockerfile image's
/// `RUN --mount=type=secret`. Its value never enters a signature or a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secret {
    pub id: String,
    pub value: SecretValue,
    pub span: Span,
}

/// Where a secret's value comes from when the build starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretValue {
    /// `env: VAR` (the id defaults to VAR).
    Env(String),
    /// `src: PATH`, relative to the project directory or `~/…` (the id defaults to the
    /// file name).
    File(String),
    /// `value: TEXT`, which needs an `id`.
    Literal(String),
}

/// An image built from a Dockerfile of the project (werf's `dockerfile:` document).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerfileImage {
    pub name: String,
    pub span: Span,
    /// The Dockerfile's path relative to the project directory, where written.
    pub dockerfile: Located<String>,
    /// The stage to build (default: the last).
    pub target: Option<Located<String>>,
    /// The Dockerfile's text: read by `werf::load` when its file source has it, else
    /// filled in by the caller (the frontend reads it from the build context).
    pub text: Option<String>,
    pub secrets: Vec<Secret>,
    /// `args`: build args of its stages, over the build's own.
    pub args: BTreeMap<String, String>,
    /// `cacheVersion`: signed into each of its stages.
    pub cache_version: Option<String>,
    /// `network`: the network of its RUN instructions without `--network`.
    pub network: Option<Located<String>>,
    /// `addHost`: `host:ip` entries added to /etc/hosts of every RUN.
    pub add_hosts: Vec<(String, String)>,
    /// `final: false` marks a helper image.
    pub is_final: bool,
    /// `ssh`: the ssh-agent its `RUN --mount=type=ssh` use, as `docker build --ssh`
    /// takes it (`default`, or `ID=SOCKET`).
    pub ssh: Option<Located<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub name: String,
    /// Where the name is written.
    pub span: Span,
    /// A legacy `artifact:` document: no late git patch, no docker stage.
    pub is_artifact: bool,
    pub stapel: Stapel,
}

/// What a stapel image starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FromBase {
    /// An external image reference as written (`from: alpine:3.20`).
    Image(Located<String>),
    /// Another image or artifact of this config (`fromImage`, `fromArtifact`, or `from`
    /// naming one).
    Config(Located<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stapel {
    pub from: FromBase,
    pub from_cache_version: Option<String>,
    pub cache_version: Option<String>,
    pub disable_git_after_patch: bool,
    /// `final: false` marks a helper image.
    pub is_final: bool,
    pub git: Vec<GitMapping>,
    pub shell: Shell,
    pub imports: Vec<Import>,
    pub dependencies: Vec<Dependency>,
    pub docker: Option<DockerSettings>,
    pub image_spec: Option<ImageSpec>,
    pub mounts: Vec<Mount>,
    /// `platform` (one platform: several are not supported yet).
    pub platform: Option<String>,
    /// `network`: the build containers' network mode.
    pub network: Option<Located<String>>,
    pub secrets: Vec<Secret>,
}

/// A local git mapping: files of the project directory copied into the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitMapping {
    /// Absolute path in the repository (`/` by default).
    pub add: String,
    pub to: String,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub include_paths: Vec<String>,
    pub exclude_paths: Vec<String>,
    /// Globs relative to `add` whose content re-signs a user stage, by stage.
    pub stage_dependencies: BTreeMap<UserStage, Vec<String>>,
    pub span: Span,
}

/// The four stages that run user commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UserStage {
    BeforeInstall,
    Install,
    BeforeSetup,
    Setup,
}

impl UserStage {
    pub const ALL: [UserStage; 4] = [
        UserStage::BeforeInstall,
        UserStage::Install,
        UserStage::BeforeSetup,
        UserStage::Setup,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UserStage::BeforeInstall => "beforeInstall",
            UserStage::Install => "install",
            UserStage::BeforeSetup => "beforeSetup",
            UserStage::Setup => "setup",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shell {
    /// Commands per user stage (absent stages have none).
    pub commands: BTreeMap<UserStage, Vec<Located<String>>>,
    /// `shell.cacheVersion`.
    pub cache_version: Option<String>,
    /// `shell.<stage>CacheVersion`.
    pub stage_cache_versions: BTreeMap<UserStage, String>,
}

impl Shell {
    /// werf creates a user stage when it has commands or its own cache version.
    pub fn has_stage(&self, stage: UserStage) -> bool {
        self.commands.get(&stage).is_some_and(|c| !c.is_empty())
            || self.stage_cache_versions.contains_key(&stage)
    }
}

/// Where an import lands in the conveyor: `before`/`after` install or setup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ImportPoint {
    BeforeInstall,
    AfterInstall,
    BeforeSetup,
    AfterSetup,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The image or artifact files are taken from.
    pub source: Located<String>,
    /// `stage:` of the source to read (default: its last).
    pub stage: Option<Located<String>>,
    pub add: String,
    pub to: String,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub include_paths: Vec<String>,
    pub exclude_paths: Vec<String>,
    pub point: ImportPoint,
    pub span: Span,
}

/// A `dependencies` item: names of another image's stored image, handed to this image
/// as environment variables from the dependencies stage at `point` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub image: Located<String>,
    pub point: ImportPoint,
    pub imports: Vec<DependencyImport>,
    pub span: Span,
}

/// One `imports` item of a dependency: which value, into which variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DependencyImport {
    pub value: DependencyValue,
    pub target_env: String,
}

/// werf's dependency import types, for the dependency's last stage as stored:
/// `<repo>:<tag>`, its repository, its tag, the image ID (config digest) and the
/// manifest digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DependencyValue {
    ImageName,
    ImageRepo,
    ImageTag,
    ImageId,
    ImageDigest,
}

impl DependencyValue {
    pub const ALL: [DependencyValue; 5] = [
        DependencyValue::ImageName,
        DependencyValue::ImageTag,
        DependencyValue::ImageRepo,
        DependencyValue::ImageId,
        DependencyValue::ImageDigest,
    ];

    /// werf's spelling in `type:`.
    pub fn name(self) -> &'static str {
        match self {
            DependencyValue::ImageName => "ImageName",
            DependencyValue::ImageRepo => "ImageRepo",
            DependencyValue::ImageTag => "ImageTag",
            DependencyValue::ImageId => "ImageID",
            DependencyValue::ImageDigest => "ImageDigest",
        }
    }
}

/// The `docker:` section: image config settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DockerSettings {
    pub volumes: Vec<String>,
    pub expose: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// Exec form (a list, or a string holding a JSON array) or shell form.
    pub cmd: Option<Command>,
    pub entrypoint: Option<Command>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// The text after `HEALTHCHECK` in a Dockerfile.
    pub healthcheck: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Exec(Vec<String>),
    Shell(String),
}

/// The supported part of `imageSpec`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageSpec {
    pub author: Option<String>,
    pub volumes: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    pub expose: Vec<String>,
    pub user: Option<String>,
    pub cmd: Vec<String>,
    pub entrypoint: Vec<String>,
    pub working_dir: Option<String>,
    pub stop_signal: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// A tmpfs, empty in every stage.
    TmpDir,
    /// A cache shared by the image's builds.
    BuildDir,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountKind,
    pub to: String,
}
