//! The typed werf.yaml model (werf v2 stapel syntax) and its reading from YAML
//! documents: every key checked, every error at its key or value.

use std::collections::BTreeMap;

use crate::diag::Span;

use super::error::ConfigError;
use super::fields::{Fields, Located, fields, string, strings, wrong_type};
use super::yaml::{Document, Kind, Node};

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
    pub docker: Option<DockerSettings>,
    pub image_spec: Option<ImageSpec>,
    pub mounts: Vec<Mount>,
    /// `platform` (one platform: several are not supported yet).
    pub platform: Option<String>,
    /// `network`: the build containers' network mode.
    pub network: Option<Located<String>>,
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

const META_KEYS: &[&str] = &[
    "project",
    "configVersion",
    "build",
    "deploy",
    "cleanup",
    "gitWorktree",
];
const STAPEL_KEYS: &[&str] = &[
    "image",
    "artifact",
    "final",
    "from",
    "fromImage",
    "fromArtifact",
    "fromLatest",
    "fromCacheVersion",
    "cacheVersion",
    "disableGitAfterPatch",
    "git",
    "shell",
    "ansible",
    "import",
    "dependencies",
    "docker",
    "imageSpec",
    "mount",
    "platform",
    "network",
    "secrets",
];

/// Reads the documents of a rendered werf.yaml into the config model.
pub(super) fn read(documents: &[Document]) -> Result<WerfConfig, ConfigError> {
    let mut meta: Option<(String, Option<String>, Option<String>)> = None;
    let mut images: Vec<Image> = Vec::new();
    let mut dockerfile_images: Vec<DockerfileImage> = Vec::new();
    for document in documents {
        let root = &document.root;
        let Kind::Map(entries) = &root.kind else {
            return Err(wrong_type(root, "a werf.yaml document", "a mapping"));
        };
        let has = |key: &str| {
            entries
                .iter()
                .any(|(k, _)| k.scalar_text().as_deref() == Some(key))
        };
        if has("configVersion") || has("project") {
            if meta.is_some() {
                return Err(ConfigError::new(
                    root.span,
                    "duplicate meta document (project, configVersion)",
                ));
            }
            meta = Some(read_meta(root)?);
        } else if has("dockerfile") {
            for image in read_dockerfile_image(root)? {
                if images.iter().any(|i| i.name == image.name)
                    || dockerfile_images
                        .iter()
                        .any(|i: &DockerfileImage| i.name == image.name)
                {
                    return Err(ConfigError::new(
                        image.span,
                        format!("image {:?} is defined twice", image.name),
                    ));
                }
                dockerfile_images.push(image);
            }
        } else if has("image") || has("artifact") {
            for image in read_stapel(root)? {
                if images.iter().any(|i| i.name == image.name)
                    || dockerfile_images.iter().any(|i| i.name == image.name)
                {
                    return Err(ConfigError::new(
                        image.span,
                        format!("image {:?} is defined twice", image.name),
                    ));
                }
                images.push(image);
            }
        } else {
            return Err(ConfigError::new(
                root.span,
                "cannot recognize the type of this document: expected a meta document (configVersion, project), an image or an artifact",
            ));
        }
    }
    let Some((project, cache_version, platform)) = meta else {
        return Err(ConfigError::new(
            Span::default(),
            "werf.yaml has no meta document; add one with `project: <name>` and `configVersion: 1`",
        ));
    };
    // `from:` naming an image of this file means that image, as in werf.
    let names: Vec<String> = images
        .iter()
        .map(|i| i.name.clone())
        .chain(dockerfile_images.iter().map(|i| i.name.clone()))
        .collect();
    for image in &mut images {
        if let FromBase::Image(reference) = &image.stapel.from
            && names.contains(&reference.value)
        {
            image.stapel.from = FromBase::Config(reference.clone());
        }
    }
    check_references(&images, &names)?;
    Ok(WerfConfig {
        project,
        cache_version,
        platform,
        images,
        dockerfile_images,
    })
}

fn read_meta(root: &Node) -> Result<(String, Option<String>, Option<String>), ConfigError> {
    let meta = fields(root, "the meta document", META_KEYS)?;
    let version = meta
        .get("configVersion")
        .ok_or_else(|| ConfigError::new(root.span, "the meta document needs `configVersion: 1`"))?;
    if version.kind != Kind::Int(1) {
        return Err(ConfigError::new(version.span, "configVersion must be 1"));
    }
    let project = meta
        .string("project")?
        .ok_or_else(|| ConfigError::new(root.span, "the meta document needs `project: <name>`"))?;
    if project.value.is_empty() {
        return Err(ConfigError::new(project.span, "project must not be empty"));
    }
    let (mut cache_version, mut platform) = (None, None);
    if let Some(build) = meta.get("build") {
        let build = fields(
            build,
            "build",
            &["cacheVersion", "platform", "staged", "imageSpec"],
        )?;
        cache_version = build.string("cacheVersion")?.map(|s| s.value);
        platform = one_platform(&build)?;
        not_supported_yet(&build, "imageSpec", "build.imageSpec")?;
    }
    Ok((project.value, cache_version, platform))
}

/// `platform`: one `os/arch[/variant]`, as a string or a one-item list.
fn one_platform(fields: &Fields<'_>) -> Result<Option<String>, ConfigError> {
    let platforms = fields.strings("platform")?;
    if let Some(second) = platforms.get(1) {
        return Err(ConfigError::new(
            second.span,
            "building for several platforms is not supported yet",
        ));
    }
    Ok(platforms.into_iter().next().map(|p| p.value))
}

fn not_supported_yet(fields: &Fields<'_>, key: &str, what: &str) -> Result<(), ConfigError> {
    match fields.key_span(key) {
        Some(span) if fields.get(key).is_some() => Err(ConfigError::new(
            span,
            format!("{what} is not supported yet"),
        )),
        _ => Ok(()),
    }
}

fn read_stapel(root: &Node) -> Result<Vec<Image>, ConfigError> {
    let doc = fields(root, "an image", STAPEL_KEYS)?;
    if let Some(span) = doc.key_span("ansible") {
        return Err(ConfigError::new(
            span,
            "ansible stages are not supported yet",
        ));
    }
    for (key, what) in [
        ("dependencies", "dependencies"),
        ("secrets", "secrets"),
        ("fromLatest", "fromLatest"),
    ] {
        not_supported_yet(&doc, key, what)?;
    }
    let (names, is_artifact) = match (doc.get("image"), doc.get("artifact")) {
        (Some(_), Some(_)) => {
            let span = doc.key_span("artifact").unwrap_or(root.span);
            return Err(ConfigError::new(
                span,
                "`image` and `artifact` cannot be used together",
            ));
        }
        (Some(node), None) => (strings(node, "image")?, false),
        (None, Some(node)) => (strings(node, "artifact")?, true),
        (None, None) => {
            let span = doc
                .key_span("image")
                .or(doc.key_span("artifact"))
                .unwrap_or(root.span);
            return Err(ConfigError::new(
                span,
                "nameless images (`image: ~`) are not supported yet",
            ));
        }
    };
    if is_artifact {
        for key in ["docker", "final", "disableGitAfterPatch"] {
            if let Some(span) = doc.key_span(key) {
                return Err(ConfigError::new(
                    span,
                    format!("an artifact cannot have `{key}`"),
                ));
            }
        }
    }
    let stapel = read_stapel_body(&doc, root)?;
    Ok(names
        .into_iter()
        .map(|name| Image {
            name: name.value,
            span: name.span,
            is_artifact,
            stapel: stapel.clone(),
        })
        .collect())
}

fn read_stapel_body(doc: &Fields<'_>, root: &Node) -> Result<Stapel, ConfigError> {
    let written: Vec<&str> = ["from", "fromImage", "fromArtifact"]
        .into_iter()
        .filter(|k| doc.has(k))
        .collect();
    if written.len() > 1 {
        let span = doc.key_span(written[1]).unwrap_or(root.span);
        return Err(ConfigError::new(
            span,
            format!(
                "`{}` and `{}` cannot be used together",
                written[0], written[1]
            ),
        ));
    }
    let from = match written.first() {
        Some(&"from") => FromBase::Image(doc.string("from")?.expect("present")),
        Some(key) => FromBase::Config(doc.string(key)?.expect("present")),
        None => {
            return Err(ConfigError::new(
                root.span,
                "an image needs a base: `from`, `fromImage` or `fromArtifact`",
            ));
        }
    };
    let shell = match doc.get("shell") {
        Some(node) => read_shell(node)?,
        None => Shell::default(),
    };
    if doc.has("docker") && doc.has("imageSpec") {
        let span = doc.key_span("imageSpec").unwrap_or(root.span);
        return Err(ConfigError::new(
            span,
            "`docker` and `imageSpec` cannot be used together",
        ));
    }
    let network = doc.string("network")?;
    if let Some(network) = &network
        && !["default", "host", "none"].contains(&network.value.as_str())
    {
        return Err(ConfigError::new(
            network.span,
            format!(
                "network must be default, host or none, not {:?}",
                network.value
            ),
        ));
    }
    let mut mounts = Vec::new();
    for node in doc.list("mount")? {
        mounts.push(read_mount(node, &mounts)?);
    }
    Ok(Stapel {
        from,
        from_cache_version: doc.string("fromCacheVersion")?.map(|s| s.value),
        cache_version: doc.string("cacheVersion")?.map(|s| s.value),
        disable_git_after_patch: doc.bool("disableGitAfterPatch")?.unwrap_or(false),
        is_final: doc.bool("final")?.unwrap_or(true),
        git: doc
            .list("git")?
            .iter()
            .map(read_git)
            .collect::<Result<_, _>>()?,
        shell,
        imports: doc
            .list("import")?
            .iter()
            .map(read_import)
            .collect::<Result<_, _>>()?,
        docker: doc.get("docker").map(read_docker).transpose()?,
        image_spec: doc.get("imageSpec").map(read_image_spec).transpose()?,
        mounts,
        platform: one_platform(doc)?,
        network,
    })
}

fn absolute(value: Located<String>, what: &str) -> Result<String, ConfigError> {
    if !value.value.starts_with('/') {
        return Err(ConfigError::new(
            value.span,
            format!("{what} must be an absolute path, not {:?}", value.value),
        ));
    }
    Ok(value.value)
}

fn relative_globs(fields: &Fields<'_>, key: &str) -> Result<Vec<String>, ConfigError> {
    fields
        .strings(key)?
        .into_iter()
        .map(|glob| {
            if glob.value.starts_with('/') {
                Err(ConfigError::new(
                    glob.span,
                    format!(
                        "{key} must be relative paths or globs, not {:?}",
                        glob.value
                    ),
                ))
            } else {
                Ok(glob.value)
            }
        })
        .collect()
}

fn read_git(node: &Node) -> Result<GitMapping, ConfigError> {
    let git = fields(
        node,
        "a git mapping",
        &[
            "add",
            "to",
            "owner",
            "group",
            "includePaths",
            "excludePaths",
            "stageDependencies",
            "url",
            "branch",
            "tag",
            "commit",
        ],
    )?;
    for key in ["url", "branch", "tag", "commit"] {
        not_supported_yet(&git, key, &format!("git `{key}` (remote repositories)"))?;
    }
    let add = match git.string("add")? {
        Some(add) => absolute(add, "git add")?,
        None => "/".to_string(),
    };
    let to = git
        .string("to")?
        .ok_or_else(|| ConfigError::new(node.span, "a git mapping needs `to`"))?;
    let mut stage_dependencies = BTreeMap::new();
    if let Some(deps) = git.get("stageDependencies") {
        let deps = fields(
            deps,
            "stageDependencies",
            &["install", "beforeSetup", "setup"],
        )?;
        for stage in [UserStage::Install, UserStage::BeforeSetup, UserStage::Setup] {
            let globs = relative_globs(&deps, stage.name())?;
            if !globs.is_empty() {
                stage_dependencies.insert(stage, globs);
            }
        }
    }
    Ok(GitMapping {
        add,
        to: absolute(to, "git to")?,
        owner: git.string("owner")?.map(|s| s.value),
        group: git.string("group")?.map(|s| s.value),
        include_paths: relative_globs(&git, "includePaths")?,
        exclude_paths: relative_globs(&git, "excludePaths")?,
        stage_dependencies,
        span: node.span,
    })
}

fn read_shell(node: &Node) -> Result<Shell, ConfigError> {
    let mut keys = vec!["cacheVersion"];
    let cache_keys: Vec<String> = UserStage::ALL
        .iter()
        .map(|s| format!("{}CacheVersion", s.name()))
        .collect();
    keys.extend(UserStage::ALL.iter().map(|s| s.name()));
    keys.extend(cache_keys.iter().map(String::as_str));
    let shell = fields(node, "shell", &keys)?;
    let mut out = Shell {
        cache_version: shell.string("cacheVersion")?.map(|s| s.value),
        ..Shell::default()
    };
    for (stage, cache_key) in UserStage::ALL.iter().zip(&cache_keys) {
        let commands = shell.strings(stage.name())?;
        if !commands.is_empty() {
            out.commands.insert(*stage, commands);
        }
        if let Some(version) = shell.string(cache_key)? {
            out.stage_cache_versions.insert(*stage, version.value);
        }
    }
    Ok(out)
}

fn read_import(node: &Node) -> Result<Import, ConfigError> {
    let import = fields(
        node,
        "an import",
        &[
            "image",
            "artifact",
            "from",
            "add",
            "to",
            "owner",
            "group",
            "includePaths",
            "excludePaths",
            "before",
            "after",
            "stage",
        ],
    )?;
    not_supported_yet(&import, "from", "import `from` (external images)")?;
    let source = match (import.string("image")?, import.string("artifact")?) {
        (Some(image), None) => image,
        (None, Some(artifact)) => artifact,
        (Some(_), Some(_)) => {
            let span = import.key_span("artifact").unwrap_or(node.span);
            return Err(ConfigError::new(
                span,
                "an import takes `image` or `artifact`, not both",
            ));
        }
        (None, None) => {
            return Err(ConfigError::new(
                node.span,
                "an import needs `image` or `artifact`",
            ));
        }
    };
    let point = match (import.string("before")?, import.string("after")?) {
        (Some(at), None) | (None, Some(at)) => {
            let before = import.has("before");
            match (before, at.value.as_str()) {
                (true, "install") => ImportPoint::BeforeInstall,
                (false, "install") => ImportPoint::AfterInstall,
                (true, "setup") => ImportPoint::BeforeSetup,
                (false, "setup") => ImportPoint::AfterSetup,
                _ => {
                    return Err(ConfigError::new(
                        at.span,
                        format!("expected `install` or `setup`, not {:?}", at.value),
                    ));
                }
            }
        }
        (Some(_), Some(_)) => {
            let span = import.key_span("after").unwrap_or(node.span);
            return Err(ConfigError::new(
                span,
                "an import takes `before` or `after`, not both",
            ));
        }
        (None, None) => {
            return Err(ConfigError::new(
                node.span,
                "an import needs `before` or `after` (install or setup)",
            ));
        }
    };
    let add_located = import
        .string("add")?
        .ok_or_else(|| ConfigError::new(node.span, "an import needs `add`"))?;
    let add = absolute(add_located.clone(), "import add")?;
    let include_paths = relative_globs(&import, "includePaths")?;
    if add == "/" && include_paths.is_empty() {
        return Err(ConfigError::new(
            add_located.span,
            "importing `/` needs includePaths",
        ));
    }
    let to = match import.string("to")? {
        Some(to) => absolute(to, "import to")?,
        None => add.clone(),
    };
    Ok(Import {
        source,
        stage: import.string("stage")?,
        add,
        to,
        owner: import.string("owner")?.map(|s| s.value),
        group: import.string("group")?.map(|s| s.value),
        include_paths,
        exclude_paths: relative_globs(&import, "excludePaths")?,
        point,
        span: node.span,
    })
}

fn read_command(node: &Node, what: &str) -> Result<Command, ConfigError> {
    match &node.kind {
        Kind::Seq(_) => Ok(Command::Exec(
            strings(node, what)?.into_iter().map(|s| s.value).collect(),
        )),
        _ => {
            let text = string(node, what)?.value;
            // werf, like a Dockerfile, takes a JSON array written as a string as exec form.
            match serde_json::from_str::<Vec<String>>(&text) {
                Ok(args) if text.trim_start().starts_with('[') => Ok(Command::Exec(args)),
                _ => Ok(Command::Shell(text)),
            }
        }
    }
}

fn read_docker(node: &Node) -> Result<DockerSettings, ConfigError> {
    let docker = fields(
        node,
        "docker",
        &[
            "VOLUME",
            "EXPOSE",
            "ENV",
            "LABEL",
            "ENTRYPOINT",
            "CMD",
            "WORKDIR",
            "USER",
            "HEALTHCHECK",
            "exactValues",
        ],
    )?;
    let text = |key| docker.string(key).map(|v| v.map(|s| s.value));
    Ok(DockerSettings {
        volumes: docker
            .strings("VOLUME")?
            .into_iter()
            .map(|s| s.value)
            .collect(),
        expose: docker
            .strings("EXPOSE")?
            .into_iter()
            .map(|s| s.value)
            .collect(),
        env: docker.string_map("ENV")?,
        labels: docker.string_map("LABEL")?,
        cmd: docker
            .get("CMD")
            .map(|n| read_command(n, "CMD"))
            .transpose()?,
        entrypoint: docker
            .get("ENTRYPOINT")
            .map(|n| read_command(n, "ENTRYPOINT"))
            .transpose()?,
        workdir: text("WORKDIR")?,
        user: text("USER")?,
        healthcheck: text("HEALTHCHECK")?,
    })
}

fn read_image_spec(node: &Node) -> Result<ImageSpec, ConfigError> {
    let spec = fields(node, "imageSpec", &["author", "clearHistory", "config"])?;
    not_supported_yet(&spec, "clearHistory", "imageSpec.clearHistory")?;
    let mut out = ImageSpec {
        author: spec.string("author")?.map(|s| s.value),
        ..ImageSpec::default()
    };
    let Some(config) = spec.get("config") else {
        return Ok(out);
    };
    let keys = [
        "volumes",
        "labels",
        "env",
        "expose",
        "user",
        "cmd",
        "entrypoint",
        "workingDir",
        "stopSignal",
        "healthcheck",
        "clearCmd",
        "clearEntrypoint",
        "clearUser",
        "clearWorkingDir",
        "removeEnv",
        "removeLabels",
        "removeVolumes",
        "keepEssentialWerfLabels",
    ];
    let config = fields(config, "imageSpec.config", &keys)?;
    for key in &keys[9..] {
        not_supported_yet(&config, key, &format!("imageSpec.config.{key}"))?;
    }
    let values = |key| -> Result<Vec<String>, ConfigError> {
        Ok(config.strings(key)?.into_iter().map(|s| s.value).collect())
    };
    out.volumes = values("volumes")?;
    out.labels = config.string_map("labels")?;
    out.env = config.string_map("env")?;
    out.expose = values("expose")?;
    out.user = config.string("user")?.map(|s| s.value);
    out.cmd = values("cmd")?;
    out.entrypoint = values("entrypoint")?;
    out.working_dir = config.string("workingDir")?.map(|s| s.value);
    out.stop_signal = config.string("stopSignal")?.map(|s| s.value);
    Ok(out)
}

fn read_mount(node: &Node, earlier: &[Mount]) -> Result<Mount, ConfigError> {
    let mount = fields(node, "a mount", &["from", "fromPath", "to"])?;
    not_supported_yet(&mount, "fromPath", "mount `fromPath` (host directories)")?;
    let from = mount.string("from")?.ok_or_else(|| {
        ConfigError::new(node.span, "a mount needs `from` (tmp_dir or build_dir)")
    })?;
    let kind = match from.value.as_str() {
        "tmp_dir" => MountKind::TmpDir,
        "build_dir" => MountKind::BuildDir,
        other => {
            return Err(ConfigError::new(
                from.span,
                format!("mount from must be tmp_dir or build_dir, not {other:?}"),
            ));
        }
    };
    let to_located = mount
        .string("to")?
        .ok_or_else(|| ConfigError::new(node.span, "a mount needs `to`"))?;
    let to = absolute(to_located.clone(), "mount to")?;
    if earlier.iter().any(|m| m.to == to) {
        return Err(ConfigError::new(
            to_located.span,
            format!("two mounts at {to:?}"),
        ));
    }
    Ok(Mount { kind, to })
}

/// Every image named by `fromImage`/`fromArtifact`/`from` or an import exists, and no
/// image is its own base.
fn check_references(images: &[Image], names: &[String]) -> Result<(), ConfigError> {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let missing = |name: &Located<String>, what: &str| {
        ConfigError::new(
            name.span,
            format!(
                "{what} {:?} is not an image or artifact of this werf.yaml (it has: {})",
                name.value,
                names.join(", ")
            ),
        )
    };
    for image in images {
        if let FromBase::Config(base) = &image.stapel.from {
            if !names.contains(&base.value.as_str()) {
                return Err(missing(base, "the base image"));
            }
            if base.value == image.name {
                return Err(ConfigError::new(
                    base.span,
                    "an image cannot be its own base",
                ));
            }
        }
        for import in &image.stapel.imports {
            if !names.contains(&import.source.value.as_str()) {
                return Err(missing(&import.source, "the imported image"));
            }
            if import.source.value == image.name {
                return Err(ConfigError::new(
                    import.source.span,
                    "an image cannot import from itself",
                ));
            }
        }
    }
    Ok(())
}

fn read_dockerfile_image(root: &Node) -> Result<Vec<DockerfileImage>, ConfigError> {
    let keys = [
        "image",
        "dockerfile",
        "context",
        "target",
        "args",
        "addHost",
        "network",
        "ssh",
        "staged",
        "dependencies",
        "final",
        "cacheVersion",
        "platform",
        "secrets",
        "imageSpec",
        "contextAddFiles",
        "contextAddFile",
    ];
    let doc = fields(root, "a Dockerfile image", &keys)?;
    for key in &keys[4..] {
        not_supported_yet(&doc, key, &format!("`{key}` of a Dockerfile image"))?;
    }
    if let Some(context) = doc.string("context")?
        && !matches!(context.value.as_str(), "" | "." | "./")
    {
        return Err(ConfigError::new(
            context.span,
            "a Dockerfile image `context` other than the project directory is not supported yet",
        ));
    }
    let names = match doc.get("image") {
        Some(node) => strings(node, "image")?,
        None => {
            let span = doc.key_span("image").unwrap_or(root.span);
            return Err(ConfigError::new(
                span,
                "nameless images (`image: ~`) are not supported yet",
            ));
        }
    };
    let dockerfile = doc.string("dockerfile")?.ok_or_else(|| {
        ConfigError::new(root.span, "a Dockerfile image needs `dockerfile: <path>`")
    })?;
    let target = doc.string("target")?;
    Ok(names
        .into_iter()
        .map(|name| DockerfileImage {
            name: name.value,
            span: name.span,
            dockerfile: dockerfile.clone(),
            target: target.clone(),
            text: None,
        })
        .collect())
}
